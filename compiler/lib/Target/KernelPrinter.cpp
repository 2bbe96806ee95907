//===- KernelPrinter.cpp - Kernel descriptions printed as C++ or CUDA C++ -===//
//
// A printer: every `simclr_kernel.kernel` is printed from its description
// (KernelOps.td, stated by simclr-describe-kernels) as a function body over
// the operand table: the inputs `a<i>`, the outputs `o<j>` and the scratch
// buffers `s<k>`, in the launch's order. One function per kernel kind; an
// expression printer writes each elementwise op as an expression of the
// element index `i`; anchors call the header-only templates of
// lib/include/simclr/Kernels/<Target> with the shapes as literals, the
// prologue as a `float(int64_t)` lambda and the epilogue as a
// `float(int64_t, float)` lambda, so the compiler inlines one loop nest per
// kernel. The target's KernelLanguage supplies the few words that differ
// (KernelPrinter.h). Nothing here decides what a kernel is: a description
// the printer cannot express is an error at the kernel.
//
//===----------------------------------------------------------------------===//
#include "simclr/Target/KernelPrinter.h"

#include "simclr/Dialect/Kernel/IR/KernelOps.h"
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Kernels/Scratch.h"
#include "simclr/Support/ArtifactPlan.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::simclr;
using namespace mlir::simclr_kernel;

KernelLanguage::~KernelLanguage() = default;

std::string KernelLanguage::elementType(Type type) const {
  FailureOr<::simclr::DType> dtype = getDType(type);
  if (failed(dtype))
    return "";
  switch (*dtype) {
  case ::simclr::DType::kF32:
    return "float";
  case ::simclr::DType::kF64:
    return "double";
  case ::simclr::DType::kI64:
    return "int64_t";
  case ::simclr::DType::kI32:
    return "int32_t";
  case ::simclr::DType::kU8:
  case ::simclr::DType::kBool:
    return "uint8_t";
  case ::simclr::DType::kF16:
  case ::simclr::DType::kBF16:
    return "";
  }
  return "";
}

std::string mlir::simclr_kernel::doubleLiteral(double value) {
  return llvm::formatv("{0:e17}", value).str();
}

namespace {

std::string floatLiteral(double value) {
  return "static_cast<float>(" + doubleLiteral(value) + ")";
}
std::string doubleLiteral(const APFloat &value) {
  return mlir::simclr_kernel::doubleLiteral(value.convertToDouble());
}
using mlir::simclr_kernel::doubleLiteral;

int64_t numElements(Value value) {
  return cast<ShapedType>(value.getType()).getNumElements();
}

int64_t numBytes(Value value) {
  return numElements(value) *
         static_cast<int64_t>(::simclr::dtypeByteSize(*getDType(value.getType())));
}

/// An N x C x (spatial) tensor as the channel templates see it: n rows, c
/// channels, hw elements per channel and row, channels in blocks of
/// `block` (Channel.h's X).
struct ChannelView {
  int64_t n = 1, c = 1, hw = 1, block = 1;

  std::string arguments() const {
    return llvm::formatv("{0}, {1}, {2}", n, c, hw).str();
  }
};

/// The channel view of `value` stored in `layout`. A matrix (hw = 1) is
/// the same memory for any block dividing C: the widest vector-friendly
/// one is used.
ChannelView channelView(Value value, ::simclr::Layout layout) {
  ArrayRef<int64_t> shape = cast<ShapedType>(value.getType()).getShape();
  ChannelView view;
  if (!shape.empty())
    view.n = shape[0];
  if (shape.size() >= 2)
    view.c = shape[1];
  for (size_t i = 2; i < shape.size(); ++i)
    view.hw *= shape[i];
  if (layout == ::simclr::Layout::kNhwc)
    view.block = view.c;
  else if (layout != ::simclr::Layout::kPlain)
    view.block = ::simclr::layoutChannelBlock(layout);
  else if (view.hw == 1)
    for (int64_t block : {16, 8, 4, 2, 1})
      if (view.c % block == 0) {
        view.block = block;
        break;
      }
  return view;
}

/// The element counts before and after dimension `dim` of `shape`: a slice
/// or concat along `dim` copies `outer` runs of (extent x `inner`).
std::pair<int64_t, int64_t> aroundDimension(ArrayRef<int64_t> shape,
                                            int64_t dim) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d)
    outer *= shape[d];
  for (size_t d = dim + 1; d < shape.size(); ++d)
    inner *= shape[d];
  return {outer, inner};
}

/// n, c, h, w, kh, kw, sh, sw, ph, pw: the shape and window arguments
/// the max-pool templates take, forward and backward alike.
template <typename PoolOp>
std::vector<int64_t> poolWindow(PoolOp op) {
  auto shape = cast<ShapedType>(op.getInput().getType()).getShape();
  return {shape[0],          shape[1],          shape[2],
          shape[3],          op.getKernel()[0], op.getKernel()[1],
          op.getStride()[0], op.getStride()[1], op.getPadding()[0],
          op.getPadding()[1]};
}

class KernelPrinter {
public:
  KernelPrinter(KernelOp kernel, const KernelLanguage &language,
                llvm::raw_ostream &os)
      : kernel(kernel), language(language), os(os),
        ops(kernel.getBodyOps()) {}

  /// Prints the body; `calls` and `copyBytes` are then filled.
  LogicalResult print();

  std::vector<TemplateCall> calls;
  int64_t elements = 0;
  int64_t copyBytes = 0;

private:
  Block &body() { return kernel.getBodyBlock(); }
  unsigned numInputs() { return kernel.getNumInputs(); }
  unsigned numOutputs() { return kernel.getNumOutputs(); }

  /// The pointer expression of launch operand `index` (inputs, outputs,
  /// scratch), as `T *` for a scratch operand.
  std::string operandPointer(int64_t index, StringRef type = "float");
  /// The pointer of block argument or yielded value `value`; empty when it
  /// is neither.
  std::string pointerOf(Value value);
  /// The scratch operand no anchor result occupies: the workspace.
  FailureOr<std::string> workspace();
  /// `name` in the target's template namespace.
  std::string templateName(StringRef name) const {
    return (language.templateNamespace() + "::" + name).str();
  }
  /// Records a call of template `name` on `dims` and returns its text up
  /// to the last of those: "ns::name(<phase>d0, d1, ...".
  std::string call(StringRef name, ArrayRef<int64_t> dims);
  /// The same for a channel template: "ns::name<X>(<phase>n, c, hw".
  std::string channelCall(StringRef name, const ChannelView &view);

  //===--- Expression printer ---------------------------------------------===//
  /// Appends `const float vK = ...;` for each op of `indices` to `lines`;
  /// `bound` maps values already named (the anchor result `r`).
  LogicalResult printExpression(ArrayRef<int64_t> indices,
                                llvm::DenseMap<Value, std::string> &bound,
                                std::string &lines);
  /// How the element index `i` reads `value`.
  FailureOr<std::string> read(Value value,
                              llvm::DenseMap<Value, std::string> &bound);
  /// The channel of element `i` of a tensor of `shape`, in the kernel's
  /// iteration layout.
  std::string channelOfElement(ArrayRef<int64_t> shape);

  //===--- One function per kind -------------------------------------------===//
  LogicalResult printElementwise();
  LogicalResult printAnchored();
  LogicalResult printNtXent();
  LogicalResult printOptimizer();

  /// The prologue functor computing the anchor's operand 0, and the
  /// epilogue functor on its result 0.
  FailureOr<std::string> prologue(Operation *anchor);
  FailureOr<std::string> epilogue(Operation *anchor);

  KernelOp kernel;
  const KernelLanguage &language;
  llvm::raw_ostream &os;
  SmallVector<Operation *> ops;
  /// The layout the kernel iterates in: that of its 4-D operands.
  ::simclr::Layout iterationLayout = ::simclr::Layout::kPlain;
  int valueCounter = 0;
  /// Where read() declares the loads of the expression being printed.
  llvm::raw_ostream *loads = nullptr;
};

std::string KernelPrinter::call(StringRef name, ArrayRef<int64_t> dims) {
  calls.push_back({name.str(), std::vector<int64_t>(dims.begin(), dims.end())});
  std::string text = templateName(name) + "(" + language.phaseArgument().str();
  for (auto [k, dim] : llvm::enumerate(dims))
    text += (k ? ", " : "") + std::to_string(dim);
  return text;
}

std::string KernelPrinter::channelCall(StringRef name,
                                       const ChannelView &view) {
  calls.push_back({name.str(), {view.block, view.n, view.c, view.hw}});
  return templateName(name) + "<" + std::to_string(view.block) + ">(" +
         language.phaseArgument().str() + view.arguments();
}

std::string KernelPrinter::operandPointer(int64_t index, StringRef type) {
  if (index < numInputs())
    return "a" + std::to_string(index);
  if (index < numInputs() + numOutputs())
    return "o" + std::to_string(index - numInputs());
  return ("static_cast<" + type + " *>(s" +
          Twine(index - numInputs() - numOutputs()) + ")")
      .str();
}

std::string KernelPrinter::pointerOf(Value value) {
  if (auto argument = dyn_cast<BlockArgument>(value))
    return operandPointer(argument.getArgNumber());
  for (auto [position, yielded] : llvm::enumerate(kernel.getYield()->getOperands()))
    if (yielded == value)
      return operandPointer(numInputs() + position);
  return "";
}

FailureOr<std::string> KernelPrinter::workspace() {
  ArrayRef<int64_t> results;
  if (std::optional<ArrayRef<int64_t>> stated = kernel.getResults())
    results = *stated;
  for (unsigned k = 0; k < kernel.getNumScratch(); ++k) {
    int64_t index = numInputs() + numOutputs() + k;
    if (!llvm::is_contained(results, index))
      return "s" + std::to_string(k);
  }
  return kernel.emitOpError() << "the description gives no workspace, which "
                                 "this kernel's algorithm needs";
}

std::string KernelPrinter::channelOfElement(ArrayRef<int64_t> shape) {
  int64_t c = shape[1];
  int64_t inner = 1;
  for (size_t d = 2; d < shape.size(); ++d)
    inner *= shape[d];
  switch (iterationLayout) {
  case ::simclr::Layout::kPlain:
    return llvm::formatv("(i / {0}) % {1}", inner, c).str();
  case ::simclr::Layout::kNhwc:
    return llvm::formatv("i % {0}", c).str();
  case ::simclr::Layout::kNChw8c:
  case ::simclr::Layout::kNChw16c: {
    int64_t block = ::simclr::layoutChannelBlock(iterationLayout);
    return llvm::formatv("((i / {0}) % {1}) * {2} + i % {2}", inner * block,
                         c / block, block)
        .str();
  }
  }
  return "";
}

FailureOr<std::string>
KernelPrinter::read(Value value, llvm::DenseMap<Value, std::string> &bound) {
  auto it = bound.find(value);
  if (it != bound.end())
    return it->second;
  auto argument = dyn_cast<BlockArgument>(value);
  if (!argument)
    return kernel.emitOpError()
           << "an elementwise part reads a value that is neither an input "
              "nor computed before it";
  StringRef access =
      cast<StringAttr>((*kernel.getAccess())[argument.getArgNumber()])
          .getValue();
  std::string pointer = operandPointer(argument.getArgNumber());
  std::string element;
  if (access == "flat")
    element = pointer + "[i]";
  else if (access == "scalar")
    element = pointer + "[0]";
  else
    return kernel.emitOpError() << "input #" << argument.getArgNumber()
                                << " has access '" << access
                                << "', which an element expression cannot read";
  // Every input is loaded once, unconditionally, before the expressions
  // that use it: a load inside a select (a ReLU mask) is one GCC may not
  // speculate, and it would keep the branch and leave the loop scalar.
  if (!loads)
    return element;
  std::string name = "x" + std::to_string(valueCounter++);
  *loads << "    const " << language.elementType(value.getType()) << " " << name << " = "
        << element << ";\n";
  bound[value] = name;
  return name;
}

LogicalResult
KernelPrinter::printExpression(ArrayRef<int64_t> indices,
                               llvm::DenseMap<Value, std::string> &bound,
                               std::string &lines) {
  std::string loadLines, exprLines;
  llvm::raw_string_ostream loads(loadLines), line(exprLines);
  this->loads = &loads;
  for (int64_t index : indices) {
    Operation *op = ops[index];
    std::string name = "v" + std::to_string(valueCounter++);
    if (auto broadcast = dyn_cast<BroadcastOp>(op);
        broadcast && broadcast.getInput().getType().getRank() == 1) {
      // A per-channel vector along dimension 1 of the result.
      auto argument = dyn_cast<BlockArgument>(broadcast.getInput());
      if (!argument)
        return op->emitOpError() << "per-channel input must be a kernel input";
      line << "    const float " << name << " = "
           << operandPointer(argument.getArgNumber()) << "["
           << channelOfElement(broadcast.getType().getShape()) << "];\n";
      bound[op->getResult(0)] = name;
      continue;
    }
    SmallVector<std::string> operands;
    for (Value operand : op->getOperands()) {
      FailureOr<std::string> text = read(operand, bound);
      if (failed(text))
        return failure();
      operands.push_back(*text);
    }
    std::string expression =
        llvm::TypeSwitch<Operation *, std::string>(op)
            .Case([&](ReluOp) {
              // NaN passes through, as in the reference and torch.relu.
              return "(" + operands[0] + " < 0.0f ? 0.0f : " + operands[0] + ")";
            })
            .Case([&](ReluBackwardOp) {
              return "(" + operands[1] + " > 0.0f ? " + operands[0] + " : 0.0f)";
            })
            .Case([&](AddOp) { return "(" + operands[0] + " + " + operands[1] + ")"; })
            .Case([&](ScaleOp scale) {
              return "(" + operands[0] + " * " +
                     floatLiteral(scale.getFactor().convertToDouble()) + ")";
            })
            .Case([&](FillOp fill) {
              return floatLiteral(fill.getValue().convertToDouble());
            })
            .Case([&](BroadcastOp) { return operands[0]; })
            .Case([&](ImageToFloatOp) {
              return "(static_cast<float>(" + operands[0] + ") / 255.0f)";
            })
            .Default([](Operation *) { return std::string(); });
    if (expression.empty())
      return op->emitOpError() << "has no C++ expression";
    line << "    const float " << name << " = " << expression << ";\n";
    bound[op->getResult(0)] = name;
  }
  lines += loadLines + exprLines;
  this->loads = nullptr;
  return success();
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

LogicalResult KernelPrinter::printElementwise() {
  Operation *yield = kernel.getYield();
  int64_t count = numElements(yield->getOperand(0));
  SmallVector<int64_t> all;
  for (int64_t index = 0; index < static_cast<int64_t>(ops.size()); ++index)
    all.push_back(index);
  llvm::DenseMap<Value, std::string> bound;
  std::string lines;
  if (failed(printExpression(all, bound, lines)))
    return failure();
  elements = count;
  calls.push_back({"elementwise", {count}});
  os << language.elementLoop(count) << lines;
  for (auto [position, value] : llvm::enumerate(yield->getOperands())) {
    if (isa<BlockArgument>(value))
      continue; // Copied through before the loop.
    FailureOr<std::string> text = read(value, bound);
    if (failed(text))
      return failure();
    os << "    o" << position << "[i] = " << *text << ";\n";
  }
  os << "  }\n";
  return success();
}

//===----------------------------------------------------------------------===//
// Anchored
//===----------------------------------------------------------------------===//

FailureOr<std::string> KernelPrinter::prologue(Operation *anchor) {
  ArrayRef<int64_t> indices = *kernel.getPrologue();
  if (indices.empty()) {
    std::string pointer = pointerOf(anchor->getOperand(0));
    if (pointer.empty())
      return anchor->emitOpError() << "operand 0 is neither a kernel input "
                                      "nor computed by a prologue";
    return templateName("Load") + "{" + pointer + "}";
  }
  llvm::DenseMap<Value, std::string> bound;
  std::string lines;
  if (failed(printExpression(indices, bound, lines)))
    return failure();
  return "[&](int64_t i) -> float {\n" + lines + "    return " +
         bound[anchor->getOperand(0)] + ";\n  }";
}

FailureOr<std::string> KernelPrinter::epilogue(Operation *anchor) {
  ArrayRef<int64_t> indices = *kernel.getEpilogue();
  if (indices.empty())
    return templateName("Identity") + "{}";
  llvm::DenseMap<Value, std::string> bound;
  bound[anchor->getResult(0)] = "r";
  std::string lines;
  if (failed(printExpression(indices, bound, lines)))
    return failure();
  return "[&](int64_t i, float r) -> float {\n" + lines + "    return " +
         bound[ops[indices.back()]->getResult(0)] + ";\n  }";
}

LogicalResult KernelPrinter::printAnchored() {
  Operation *anchor = ops[*kernel.getAnchor()];
  ArrayRef<int64_t> results = *kernel.getResults();
  // Where anchor result k goes (after the epilogue for result 0).
  auto out = [&](unsigned k) {
    return operandPointer(results[k],
                          language.elementType(anchor->getResult(k).getType()));
  };
  auto a = [&](unsigned k) { return pointerOf(anchor->getOperand(k)); };
  for (unsigned k = 1; k < anchor->getNumOperands(); ++k)
    if (a(k).empty())
      return anchor->emitOpError() << "operand " << k
                                   << " must be a kernel input";
  FailureOr<std::string> pro = prologue(anchor);
  FailureOr<std::string> epi = epilogue(anchor);
  if (failed(pro) || failed(epi))
    return failure();
  bool plain = kernel.getPrologue()->empty() && kernel.getEpilogue()->empty();
  // Templates that read operand 0 whole and store result 0 directly.
  auto requirePlain = [&]() -> LogicalResult {
    if (plain)
      return success();
    return anchor->emitOpError()
           << "has a prologue or epilogue, which its CPU template cannot "
              "take (kernel @"
           << kernel.getSymName() << ")";
  };
  // The template parameter X of an anchor on 4-D `value` (launch operand
  // `operand`).
  auto view = [&](Value value, int64_t operand) {
    return channelView(value, kernel.getOperandLayout(operand));
  };
  auto viewOfOutput0 = [&](Value value) { return view(value, results[0]); };

  return llvm::TypeSwitch<Operation *, LogicalResult>(anchor)
      .Case([&](BatchNormTrainOp op) -> LogicalResult {
        ChannelView s = viewOfOutput0(op.getInput());
        FailureOr<std::string> ws = workspace();
        if (failed(ws))
          return failure();
        os << "  " << channelCall("batchNormTrainForward", s) << ", " << *pro << ", " << a(1) << ", " << a(2)
           << ", " << doubleLiteral(op.getEpsilon()) << ", " << out(0) << ", "
           << out(1) << ", " << out(2) << ", " << *ws << ", " << *epi << ");\n";
        return success();
      })
      .Case([&](BatchNormInferenceOp op) -> LogicalResult {
        ChannelView s = viewOfOutput0(op.getInput());
        FailureOr<std::string> ws = workspace();
        if (failed(ws))
          return failure();
        os << "  " << channelCall("batchNormInference", s) << ", " << *pro << ", " << a(1) << ", " << a(2)
           << ", " << a(3) << ", " << a(4) << ", "
           << doubleLiteral(op.getEpsilon()) << ", " << out(0) << ", " << *ws
           << ", " << *epi << ");\n";
        return success();
      })
      .Case([&](BatchNormTrainBackwardOp op) -> LogicalResult {
        ChannelView s = viewOfOutput0(op.getInput());
        FailureOr<std::string> ws = workspace();
        if (failed(ws))
          return failure();
        os << "  " << channelCall("batchNormTrainBackward", s) << ", " << *pro << ", " << a(1) << ", " << a(2)
           << ", " << a(3) << ", " << a(4) << ", "
           << doubleLiteral(op.getEpsilon()) << ", " << out(0) << ", "
           << out(1) << ", " << out(2) << ", " << *ws << ", " << *epi << ");\n";
        return success();
      })
      // Synchronized batch norm (SimclrDataParallelOps.td): the statistics
      // write a 3 x C double buffer (no elementwise op, so no epilogue,
      // reads it).
      .Case([&](BatchNormStatisticsOp op) -> LogicalResult {
        ChannelView s = channelView(op.getInput(), iterationLayout);
        FailureOr<std::string> ws = workspace();
        if (failed(ws))
          return failure();
        os << "  " << channelCall("batchNormStatistics", s) << ", " << *pro
           << ", " << out(0) << ", " << *ws << ");\n";
        return success();
      })
      .Case([&](BatchNormApplyOp op) -> LogicalResult {
        ChannelView s = viewOfOutput0(op.getInput());
        FailureOr<std::string> ws = workspace();
        if (failed(ws))
          return failure();
        os << "  " << channelCall("batchNormApply", s) << ", " << *pro << ", "
           << a(1) << ", " << a(2) << ", " << a(3) << ", "
           << doubleLiteral(op.getEpsilon()) << ", " << out(0) << ", "
           << out(1) << ", " << out(2) << ", " << *ws << ", " << *epi
           << ");\n";
        return success();
      })
      .Case([&](BatchNormBackwardStatisticsOp op) -> LogicalResult {
        ChannelView s = channelView(op.getInput(), iterationLayout);
        FailureOr<std::string> ws = workspace();
        if (failed(ws))
          return failure();
        os << "  " << channelCall("batchNormBackwardStatistics", s) << ", "
           << *pro << ", " << a(1) << ", " << a(2) << ", " << a(3) << ", "
           << doubleLiteral(op.getEpsilon()) << ", " << out(0) << ", " << *ws
           << ");\n";
        return success();
      })
      .Case([&](BatchNormBackwardApplyOp op) -> LogicalResult {
        ChannelView s = viewOfOutput0(op.getInput());
        FailureOr<std::string> ws = workspace();
        if (failed(ws))
          return failure();
        os << "  " << channelCall("batchNormBackwardApply", s) << ", " << *pro
           << ", " << a(1) << ", " << a(2) << ", " << a(3) << ", " << a(4)
           << ", " << a(5) << ", " << doubleLiteral(op.getEpsilon()) << ", "
           << out(0) << ", " << out(1) << ", " << out(2) << ", " << *ws
           << ", " << *epi << ");\n";
        return success();
      })
      .Case([&](RunningStatsFromSumsOp op) -> LogicalResult {
        if (failed(requirePlain()))
          return failure();
        os << "  "
           << call("runningStatsFromSums", {numElements(op.getRunningMean())})
           << ", " << a(0) << ", " << a(1) << ", " << a(2) << ", "
           << doubleLiteral(op.getMomentum()) << ", " << out(0) << ", "
           << out(1) << ");\n";
        return success();
      })
      .Case([&](GlobalAvgPoolOp op) {
        // Operand 0 is 4-D; its layout is that of the kernel input or of
        // the prologue's flat inputs, the kernel's iteration layout.
        ChannelView s = channelView(op.getInput(), iterationLayout);
        os << "  " << channelCall("globalAvgPoolForward", s) << ", " << *pro << ", " << out(0) << ", " << *epi
           << ");\n";
        return success();
      })
      .Case([&](GlobalAvgPoolBackwardOp op) {
        ChannelView s = viewOfOutput0(op.getGradInput());
        os << "  " << channelCall("globalAvgPoolBackward", s) << ", " << *pro << ", " << out(0) << ", " << *epi
           << ");\n";
        return success();
      })
      .Case([&](SumToChannelsOp op) -> LogicalResult {
        ChannelView s = channelView(op.getInput(), iterationLayout);
        FailureOr<std::string> ws = workspace();
        if (failed(ws))
          return failure();
        os << "  " << channelCall("sumToChannels", s) << ", " << *pro << ", " << out(0) << ", " << *ws
           << ", " << *epi << ");\n";
        return success();
      })
      .Case([&](NormalizeOp op) {
        ChannelView s = viewOfOutput0(op.getInput());
        os << "  " << language.constantArray() << " mean_[] = {";
        for (double v : op.getMean())
          os << floatLiteral(v) << ", ";
        os << "};\n  " << language.constantArray() << " std_[] = {";
        for (double v : op.getStd())
          os << floatLiteral(v) << ", ";
        os << "};\n";
        os << "  " << channelCall("normalizeChannels", s) << ", " << *pro << ", mean_, std_, " << out(0)
           << ", " << *epi << ");\n";
        return success();
      })
      .Case([&](RunningStatsUpdateOp op) -> LogicalResult {
        if (failed(requirePlain()))
          return failure();
        os << "  " << call("runningStatsUpdate", {numElements(op.getRunningMean())})
           << ", " << a(0) << ", " << a(1)
           << ", " << a(2) << ", " << a(3) << ", "
           << doubleLiteral(op.getMomentum()) << ", "
           << op.getCountAttr().getInt() << ", " << out(0) << ", " << out(1)
           << ");\n";
        return success();
      })
      .Case([&](MaxPool2DOp op) -> LogicalResult {
        if (failed(requirePlain()))
          return failure();
        os << "  " << call("maxPool2dForward", poolWindow(op)) << ", " << a(0) << ", " << out(0) << ");\n";
        return success();
      })
      .Case([&](MaxPool2DBackwardOp op) -> LogicalResult {
        if (failed(requirePlain()))
          return failure();
        os << "  " << call("maxPool2dBackward", poolWindow(op)) << ", " << a(0) << ", " << a(1) << ", " << out(0) << ");\n";
        return success();
      })
      .Case([&](L2NormalizeOp op) {
        auto shape = op.getInput().getType().getShape();
        os << "  " << call("l2NormalizeForward", {shape[0], shape[1]}) << ", " << doubleLiteral(op.getEpsilon()) << ", "
           << *pro << ", " << out(0) << ", " << *epi << ");\n";
        return success();
      })
      .Case([&](L2NormalizeBackwardOp op) {
        auto shape = op.getInput().getType().getShape();
        os << "  " << call("l2NormalizeBackward", {shape[0], shape[1]}) << ", " << doubleLiteral(op.getEpsilon()) << ", "
           << *pro << ", " << a(1) << ", " << out(0) << ", " << *epi << ");\n";
        return success();
      })
      .Case([&](NtXentOp op) -> LogicalResult {
        FailureOr<std::string> ws = workspace();
        if (failed(requirePlain()) || failed(ws))
          return failure();
        auto shape = op.getEmbeddings().getType().getShape();
        os << "  " << call("ntXentForward", {shape[0], shape[1]}) << ", " << a(0) << ", " << doubleLiteral(op.getTemperature())
           << ", " << out(0) << ", " << *ws << ");\n";
        return success();
      })
      .Case([&](NtXentBackwardOp op) -> LogicalResult {
        FailureOr<std::string> ws = workspace();
        if (failed(requirePlain()) || failed(ws))
          return failure();
        auto shape = op.getEmbeddings().getType().getShape();
        os << "  " << call("ntXentBackward", {shape[0], shape[1]}) << ", " << a(0) << ", " << a(1) << ", "
           << doubleLiteral(op.getTemperature()) << ", " << out(0) << ", "
           << *ws << ");\n";
        return success();
      })
      .Case([&](MaskedScaledLogSoftmaxOp op) {
        auto shape = op.getInput().getType().getShape();
        os << "  " << call("maskedScaledLogSoftmaxForward", {shape[0]}) << ", " << *pro << ", " << doubleLiteral(op.getScale()) << ", "
           << out(0) << ", " << *epi << ");\n";
        return success();
      })
      .Case([&](MaskedScaledLogSoftmaxBackwardOp op) {
        auto shape = op.getResult().getType().getShape();
        os << "  " << call("maskedScaledLogSoftmaxBackward", {shape[0]}) << ", " << *pro << ", " << a(1) << ", "
           << doubleLiteral(op.getScale()) << ", " << out(0) << ", " << *epi
           << ");\n";
        return success();
      })
      .Case([&](GatherPositivesOp op) {
        os << "  "
           << call("gatherPositivesForward", {op.getInput().getType().getShape()[0]})
           << ", " << *pro << ", "
           << out(0) << ", " << *epi << ");\n";
        return success();
      })
      .Case([&](GatherPositivesBackwardOp op) {
        os << "  "
           << call("gatherPositivesBackward",
                   {op.getGradOutput().getType().getShape()[0]})
           << ", " << *pro
           << ", " << out(0) << ", " << *epi << ");\n";
        return success();
      })
      .Case([&](ReduceMeanOp op) -> LogicalResult {
        FailureOr<std::string> ws = workspace();
        if (failed(ws))
          return failure();
        os << "  " << call("reduceMeanForward", {numElements(op.getInput())})
           << ", " << *pro << ", " << out(0) << ", " << *ws << ", " << *epi
           << ");\n";
        return success();
      })
      .Case([&](SliceOp op) {
        auto shape = op.getInput().getType().getShape();
        int64_t dim = op.getDimAttr().getInt();
        auto [outer, inner] = aroundDimension(shape, dim);
        int64_t size = op.getType().getShape()[dim];
        os << "  "
           << call("sliceCopy", {outer, shape[dim], inner,
                                 op.getOffsetAttr().getInt(), size})
           << ", " << *pro << ", " << out(0) << ", " << *epi << ");\n";
        return success();
      })
      .Case([&](ConcatOp op) -> LogicalResult {
        if (failed(requirePlain()))
          return failure();
        auto shape = op.getType().getShape();
        int64_t dim = op.getDimAttr().getInt();
        auto [outer, inner] = aroundDimension(shape, dim);
        int64_t offset = 0;
        for (Value input : op.getInputs()) {
          int64_t size = cast<ShapedType>(input.getType()).getShape()[dim];
          os << "  "
             << call("concatCopy", {outer, shape[dim], inner, offset, size})
             << ", " << templateName("Load") << "{" << pointerOf(input)
             << "}, " << out(0) << ", " << templateName("Identity") << "{});\n";
          offset += size;
        }
        return success();
      })
      .Case([&](LrScheduleOp op) -> LogicalResult {
        if (failed(requirePlain()))
          return failure();
        // A scalar: no template call with launches of its own.
        calls.push_back({"lrWarmupCosine", {}});
        std::string warmup = std::to_string(op.getWarmupStepsAttr().getInt());
        std::string total = std::to_string(op.getTotalStepsAttr().getInt());
        auto replicas = kernel->getAttrOfType<IntegerAttr>(kReplicasOperandAttrName);
        if (replicas && op.getStepsPerEpoch()) {
          // Whole epochs of the global batch of R replicas
          // (simclr-data-parallel): floor(steps_per_epoch / R) steps each.
          // R is read where the statement runs (a GPU's `once` thread reads
          // the replicas input from device memory).
          int64_t perEpoch = static_cast<int64_t>(*op.getStepsPerEpoch());
          std::string global = "(" + std::to_string(perEpoch) + " / " +
                               operandPointer(replicas.getInt()) +
                               "[0])";
          warmup = global + " * " +
                   std::to_string(op.getWarmupStepsAttr().getInt() / perEpoch);
          total = global + " * " +
                  std::to_string(op.getTotalStepsAttr().getInt() / perEpoch);
        }
        os << "  "
           << language.once(
                  out(0) + "[0] = " + templateName("lrWarmupCosine") + "(" +
                  a(0) + "[0], " + doubleLiteral(op.getBaseLr()) + ", " +
                  doubleLiteral(op.getFinalLr()) + ", " + warmup + ", " +
                  total + ");")
           << "\n";
        return success();
      })
      .Default([&](Operation *op) {
        return op->emitOpError()
               << "has no " << language.name() << " kernel template (kernel @" << kernel.getSymName()
               << ")";
      });
}

//===----------------------------------------------------------------------===//
// NT-Xent, optimizer
//===----------------------------------------------------------------------===//

LogicalResult KernelPrinter::printNtXent() {
  NtXentOp forward;
  NtXentBackwardOp backward;
  for (Operation *op : ops) {
    if (auto f = dyn_cast<NtXentOp>(op))
      forward = f;
    if (auto b = dyn_cast<NtXentBackwardOp>(op))
      backward = b;
  }
  std::string z = pointerOf(forward.getEmbeddings());
  if (z.empty())
    return kernel.emitOpError() << "embeddings must be a kernel input";
  std::string dloss = pointerOf(backward.getGradLoss());
  if (dloss.empty()) {
    auto fill = backward.getGradLoss().getDefiningOp<FillOp>();
    if (!fill)
      return kernel.emitOpError() << "the loss gradient must be an input or a fill";
    os << "  const float dloss_[1] = {"
       << floatLiteral(fill.getValue().convertToDouble()) << "};\n";
    dloss = "dloss_";
  }
  FailureOr<std::string> ws = workspace();
  if (failed(ws))
    return failure();
  ArrayRef<int64_t> results = *kernel.getResults();
  auto shape = forward.getEmbeddings().getType().getShape();
  if (auto replicas = kernel->getAttrOfType<IntegerAttr>(kReplicasOperandAttrName)) {
    // Every replica's rows (simclr-data-parallel): their count is read
    // where the kernel runs (on a GPU, from device memory), so the call
    // reports one replica's dims, from which the template's launch rule
    // gives launches valid for any replica count.
    os << "  const int64_t rows_ = " << shape[0] << " * "
       << operandPointer(replicas.getInt()) << "[0];\n";
    calls.push_back({"ntXentGatheredForwardBackward", {shape[0], shape[1]}});
    os << "  " << templateName("ntXentGatheredForwardBackward") << "("
       << language.phaseArgument() << "rows_, " << shape[1] << ", " << z << ", "
       << doubleLiteral(forward.getTemperature()) << ", " << dloss << ", "
       << operandPointer(results[0]) << ", " << operandPointer(results[1])
       << ", " << *ws << ");\n";
    return success();
  }
  os << "  " << call("ntXentForwardBackward", {shape[0], shape[1]}) << ", " << z << ", " << doubleLiteral(forward.getTemperature()) << ", "
     << dloss << ", " << operandPointer(results[0]) << ", "
     << operandPointer(results[1]) << ", " << *ws << ");\n";
  return success();
}

LogicalResult KernelPrinter::printOptimizer() {
  // Each update is in place: when a new value's buffer differs from the
  // old one, the old value is copied over first.
  auto inPlace = [&](Value old, Value updated) -> FailureOr<std::string> {
    std::string from = pointerOf(old);
    std::string to = pointerOf(updated);
    if (from.empty() || to.empty())
      return failure();
    os << "  " << language.copyOldValue(to, from, numBytes(old)) << "\n";
    copyBytes = std::max(copyBytes, numBytes(old));
    return to;
  };
  std::string segments, call;
  // The template all updates share (the hyper-parameters must agree too).
  std::string optimizerTemplate;
  llvm::raw_string_ostream table(segments);
  FailureOr<std::string> ws = workspace();
  if (failed(ws))
    return failure();
  for (Operation *op : ops) {
    FailureOr<std::string> param, state0, state1 = std::string("nullptr");
    // thisCall: the template's arguments after the segment table.
    std::string grad, lr, thisCall;
    double weightDecay = 0;
    int flags = 0;
    if (auto adamw = dyn_cast<AdamWUpdateOp>(op)) {
      optimizerTemplate = "adamWUpdateAll";
      param = inPlace(adamw.getParam(), adamw.getNewParam());
      state0 = inPlace(adamw.getExpAvg(), adamw.getNewExpAvg());
      state1 = inPlace(adamw.getExpAvgSq(), adamw.getNewExpAvgSq());
      grad = pointerOf(adamw.getGrad());
      lr = pointerOf(adamw.getLr());
      weightDecay = adamw.getWeightDecay().convertToDouble();
      thisCall = lr + "[0], " + pointerOf(adamw.getStep()) + "[0], " +
                 doubleLiteral(adamw.getBeta1()) + ", " +
                 doubleLiteral(adamw.getBeta2()) + ", " +
                 doubleLiteral(adamw.getEpsilon());
    } else if (auto sgd = dyn_cast<SgdUpdateOp>(op)) {
      optimizerTemplate = "sgdUpdateAll";
      param = inPlace(sgd.getParam(), sgd.getNewParam());
      state0 = inPlace(sgd.getMomentumBuffer(), sgd.getNewMomentumBuffer());
      grad = pointerOf(sgd.getGrad());
      lr = pointerOf(sgd.getLr());
      weightDecay = sgd.getWeightDecay().convertToDouble();
      thisCall = lr + "[0], " + doubleLiteral(sgd.getMomentum());
    } else {
      auto lars = cast<LarsUpdateOp>(op);
      optimizerTemplate = "larsUpdateAll";
      param = inPlace(lars.getParam(), lars.getNewParam());
      state0 = inPlace(lars.getMomentumBuffer(), lars.getNewMomentumBuffer());
      grad = pointerOf(lars.getGrad());
      lr = pointerOf(lars.getLr());
      weightDecay = lars.getWeightDecay().convertToDouble();
      flags = lars.getLayerAdaptation() ? 1 : 0;
      thisCall = lr + "[0], " + doubleLiteral(lars.getMomentum()) + ", " +
                 doubleLiteral(lars.getTrustCoefficient());
    }
    if (failed(param) || failed(state0) || failed(state1) || grad.empty() ||
        lr.empty())
      return op->emitOpError()
             << "parameters, gradients, state and the learning rate must be "
                "kernel inputs and outputs";
    if (!call.empty() && call != optimizerTemplate + thisCall)
      return op->emitOpError()
             << "differs from the kernel's other updates in a shared "
                "hyper-parameter; they cannot share one launch";
    call = optimizerTemplate + thisCall;
    table << "    {" << *param << ", " << grad << ", " << *state0 << ", "
          << *state1 << ", " << numElements(op->getOperand(0)) << ", "
          << doubleLiteral(weightDecay) << ", " << flags << "},\n";
  }
  os << "  const " << templateName("OptimizerSegment") << " segments[] = {\n"
     << segments << "  };\n";
  int64_t chunks = 0;
  for (Operation *op : ops)
    chunks += ::simclr::kernels::optimizerChunks(numElements(op->getOperand(0)));
  calls.push_back({optimizerTemplate, {static_cast<int64_t>(ops.size()), chunks}});
  os << "  "
     << language.optimizerUpdate(
            templateName(optimizerTemplate) + "(" +
            language.optimizerPhaseArgument().str() + "segments, " +
            std::to_string(ops.size()) + ", " +
            call.substr(optimizerTemplate.size()) + ", " +
            *ws + ");")
     << "\n";
  return success();
}

LogicalResult KernelPrinter::print() {
  if (!kernel.isDescribed())
    return kernel.emitOpError()
           << "has no description; run simclr-describe-kernels first";
  unsigned index = 0;
  for (BlockArgument argument : body().getArguments()) {
    std::string type = language.elementType(argument.getType());
    if (type.empty())
      return kernel.emitOpError() << "argument type " << argument.getType()
                                  << " has no C type";
    os << "  const " << type << " *" << operandPointer(index)
       << " = static_cast<const " << type << " *>(operands[" << index
       << "]);\n";
    ++index;
  }
  for (auto [position, value] : llvm::enumerate(kernel.getYield()->getOperands())) {
    std::string type = language.elementType(value.getType());
    std::string name = operandPointer(index);
    os << "  " << type << " *" << name << " = static_cast<" << type
       << " *>(operands[" << index << "]);\n";
    if (auto argument = dyn_cast<BlockArgument>(value)) {
      // A block argument yielded unchanged: copy it through.
      os << "  "
         << language.copyThrough(name, operandPointer(argument.getArgNumber()),
                                 numBytes(value))
         << "\n";
      copyBytes = std::max(copyBytes, numBytes(value));
    }
    ++index;
  }
  // All 4-D operands of a kernel share one layout (KernelOps.td): the
  // layout its loops iterate in.
  for (unsigned operand = 0; operand < numInputs() + numOutputs(); ++operand) {
    Value value = operand < numInputs()
                      ? Value(body().getArgument(operand))
                      : kernel.getYield()->getOperand(operand - numInputs());
    if (cast<ShapedType>(value.getType()).getRank() == 4) {
      iterationLayout = kernel.getOperandLayout(operand);
      break;
    }
  }
  for (unsigned k = 0; k < kernel.getNumScratch(); ++k)
    os << "  void *s" << k << " = operands[" << index++ << "];\n";

  LogicalResult result = success();
  switch (kernel.getKernelKind()) {
  case ::simclr::KernelKind::kElementwise:
    result = printElementwise();
    break;
  case ::simclr::KernelKind::kAnchored:
    result = printAnchored();
    break;
  case ::simclr::KernelKind::kNtXent:
    result = printNtXent();
    break;
  case ::simclr::KernelKind::kOptimizer:
    result = printOptimizer();
    break;
  }
  return result;
}

} // namespace

FailureOr<PrintedKernel>
mlir::simclr_kernel::printKernelBody(KernelOp kernel,
                                     const KernelLanguage &language) {
  PrintedKernel printed;
  llvm::raw_string_ostream os(printed.body);
  KernelPrinter printer(kernel, language, os);
  if (failed(printer.print()))
    return failure();
  printed.calls = std::move(printer.calls);
  printed.elements = printer.elements;
  printed.copyBytes = printer.copyBytes;
  return printed;
}
