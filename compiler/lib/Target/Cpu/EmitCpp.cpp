//===- EmitCpp.cpp - Kernel definitions to C++ ----------------------------===//
//
// One function per kernel. A kernel body is one of:
//   * elementwise ops only: one `omp parallel for simd` loop over the output;
//   * one anchor op (batch norm, pooling, reductions, losses, data movement)
//     with an elementwise prologue computing its operand 0 and an
//     elementwise epilogue on its result 0: a call of the anchor's template
//     with the prologue as a `float(int64_t)` lambda and the epilogue as a
//     `float(int64_t, float)` lambda;
//   * nt_xent + fill + nt_xent_backward: one fused loss-and-gradient call;
//   * update ops of one optimizer: one multi-tensor call over a static
//     table of segments.
// Operand i of the kernel is `a<i>` (inputs) or `o<j>` (outputs).
//
//===----------------------------------------------------------------------===//
#include "simclr/Target/Cpu/EmitCpp.h"

#include "simclr/Dialect/Kernel/IR/KernelOps.h"
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Support/ArtifactPlan.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

#include <sstream>

using namespace mlir;
using namespace mlir::simclr;
using namespace mlir::simclr_kernel;

namespace {

/// Ops the emitter writes as a scalar expression of their operands at the
/// same flat index (0-D operands are read at index 0).
bool isScalarExpressible(Operation *op) {
  return isa<ReluOp, ReluBackwardOp, AddOp, ScaleOp, FillOp, BroadcastOp,
             ImageToFloatOp>(op);
}

std::string cType(Type type) {
  Type element = cast<ShapedType>(type).getElementType();
  if (element.isF32())
    return "float";
  if (element.isF64())
    return "double";
  if (element.isInteger(64))
    return "int64_t";
  if (element.isInteger(8))
    return "uint8_t";
  if (element.isInteger(32))
    return "int32_t";
  return "";
}

/// A double as a C++ literal that round-trips exactly.
std::string doubleLiteral(double value) {
  return llvm::formatv("{0:e17}", value).str();
}
std::string floatLiteral(double value) {
  return "static_cast<float>(" + doubleLiteral(value) + ")";
}

int64_t numElements(Value value) {
  return cast<ShapedType>(value.getType()).getNumElements();
}

/// (n, c, hw) of an NCHW or N x C tensor.
struct ChannelShape {
  int64_t n = 1, c = 1, hw = 1;
};
ChannelShape channelShape(Value value) {
  ArrayRef<int64_t> shape = cast<ShapedType>(value.getType()).getShape();
  ChannelShape result;
  if (shape.size() >= 1)
    result.n = shape[0];
  if (shape.size() >= 2)
    result.c = shape[1];
  for (size_t i = 2; i < shape.size(); ++i)
    result.hw *= shape[i];
  return result;
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

/// "n, c, h, w, kh, kw, sh, sw, ph, pw": the shape and window arguments
/// the max-pool templates take, forward and backward alike.
template <typename PoolOp>
std::string poolWindowArguments(PoolOp op) {
  auto shape = cast<ShapedType>(op.getInput().getType()).getShape();
  return llvm::formatv("{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}",
                       shape[0], shape[1], shape[2], shape[3],
                       op.getKernel()[0], op.getKernel()[1], op.getStride()[0],
                       op.getStride()[1], op.getPadding()[0],
                       op.getPadding()[1])
      .str();
}

class KernelEmitter {
public:
  KernelEmitter(KernelOp kernel, llvm::raw_ostream &os) : kernel(kernel), os(os) {}

  LogicalResult emit();

private:
  Block &body() { return kernel.getBodyBlock(); }
  Operation *yield() { return kernel.getYield(); }

  /// The pointer expression of a value that is a block argument or
  /// yielded; empty otherwise.
  std::string pointerOf(Value value);
  /// A pointer for `value`: the kernel operand when there is one, else a
  /// scratch vector declared now (a result the kernel needs but does not
  /// return, such as the batch statistics of a fused batch norm).
  std::string pointerOrScratch(Value value);

  /// Emits `const float vK = ...;` lines for `ops` (in order) into `out`,
  /// with `i` the flat index, `bound` holding names already known.
  LogicalResult emitScalarOps(ArrayRef<Operation *> ops,
                              llvm::DenseMap<Value, std::string> &bound,
                              std::string &out);
  std::string scalarRead(Value value, llvm::DenseMap<Value, std::string> &bound);

  LogicalResult emitElementwise();
  LogicalResult emitAnchored(Operation *anchor);
  LogicalResult emitNtXent();
  LogicalResult emitOptimizer();

  /// The prologue lambda computing `anchor`'s operand 0 (a Load of a
  /// kernel operand when there is no prologue).
  FailureOr<std::string> prologueFor(Operation *anchor);
  /// The epilogue lambda for `anchor`'s result 0 and the value it stores.
  FailureOr<std::pair<std::string, Value>> epilogueFor(Operation *anchor);

  KernelOp kernel;
  llvm::raw_ostream &os;
  llvm::DenseMap<Value, std::string> pointers;
  int scratchCounter = 0;
  int valueCounter = 0;
};

std::string KernelEmitter::pointerOf(Value value) {
  auto it = pointers.find(value);
  return it == pointers.end() ? std::string() : it->second;
}

std::string KernelEmitter::pointerOrScratch(Value value) {
  std::string pointer = pointerOf(value);
  if (!pointer.empty())
    return pointer;
  std::string name = "scratch" + std::to_string(scratchCounter++);
  os << "  std::vector<" << cType(value.getType()) << "> " << name << "_("
     << numElements(value) << ");\n";
  os << "  " << cType(value.getType()) << " *" << name << " = " << name
     << "_.data();\n";
  pointers[value] = name;
  return name;
}

std::string KernelEmitter::scalarRead(Value value,
                                      llvm::DenseMap<Value, std::string> &bound) {
  auto it = bound.find(value);
  if (it != bound.end())
    return it->second;
  std::string pointer = pointerOf(value);
  if (pointer.empty())
    return "";
  if (cast<ShapedType>(value.getType()).getRank() == 0)
    return pointer + "[0]";
  return pointer + "[i]";
}

LogicalResult KernelEmitter::emitScalarOps(ArrayRef<Operation *> ops,
                                           llvm::DenseMap<Value, std::string> &bound,
                                           std::string &out) {
  llvm::raw_string_ostream line(out);
  for (Operation *op : ops) {
    SmallVector<std::string> operands;
    if (auto broadcast = dyn_cast<BroadcastOp>(op);
        broadcast && broadcast.getInput().getType().getRank() == 1) {
      // A per-channel vector along dimension 1 of the result.
      auto shape = broadcast.getType().getShape();
      int64_t inner = 1;
      for (size_t d = 2; d < shape.size(); ++d)
        inner *= shape[d];
      std::string pointer = pointerOf(broadcast.getInput());
      if (pointer.empty())
        return op->emitOpError() << "per-channel input must be a kernel input";
      std::string name = "v" + std::to_string(valueCounter++);
      line << "    const float " << name << " = " << pointer << "[(i / " << inner
           << ") % " << shape[1] << "];\n";
      bound[op->getResult(0)] = name;
      continue;
    }
    for (Value operand : op->getOperands()) {
      std::string read = scalarRead(operand, bound);
      if (read.empty())
        return op->emitOpError() << "operand is not available to the "
                                    "elementwise part of kernel @"
                                 << kernel.getSymName();
      operands.push_back(read);
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
      return op->emitOpError() << "is not elementwise";
    std::string name = "v" + std::to_string(valueCounter++);
    line << "    const float " << name << " = " << expression << ";\n";
    bound[op->getResult(0)] = name;
  }
  return success();
}

LogicalResult KernelEmitter::emitElementwise() {
  Operation *terminator = yield();
  Value first = terminator->getOperand(0);
  int64_t count = numElements(first);
  for (Value output : terminator->getOperands())
    if (numElements(output) != count)
      return kernel.emitOpError()
             << "elementwise kernel yields values of different sizes";
  SmallVector<Operation *> ops;
  for (Operation &op : body().without_terminator())
    ops.push_back(&op);
  llvm::DenseMap<Value, std::string> bound;
  std::string lines;
  if (failed(emitScalarOps(ops, bound, lines)))
    return failure();
  // Small loops stay on one thread: forking costs more than they do.
  os << "  #pragma omp parallel for simd schedule(static) if(" << count
     << " > 32768)\n";
  os << "  for (int64_t i = 0; i < " << count << "; ++i) {\n" << lines;
  for (auto [index, value] : llvm::enumerate(terminator->getOperands())) {
    std::string read = scalarRead(value, bound);
    os << "    o" << index << "[i] = " << read << ";\n";
  }
  os << "  }\n";
  return success();
}

FailureOr<std::string> KernelEmitter::prologueFor(Operation *anchor) {
  Value input = anchor->getOperand(0);
  if (!pointerOf(input).empty())
    return "simclr::cpu::Load{" + pointerOf(input) + "}";
  // The elementwise ops before the anchor compute its operand 0.
  SmallVector<Operation *> ops;
  for (Operation &op : body()) {
    if (&op == anchor)
      break;
    if (isScalarExpressible(&op))
      ops.push_back(&op);
  }
  llvm::DenseMap<Value, std::string> bound;
  std::string lines;
  if (failed(emitScalarOps(ops, bound, lines)))
    return failure();
  std::string read = scalarRead(input, bound);
  if (read.empty())
    return anchor->emitOpError() << "operand 0 is not computed by the prologue";
  return "[&](int64_t i) -> float {\n" + lines + "    return " + read +
         ";\n  }";
}

FailureOr<std::pair<std::string, Value>>
KernelEmitter::epilogueFor(Operation *anchor) {
  Value result = anchor->getResult(0);
  SmallVector<Operation *> ops;
  bool after = false;
  for (Operation &op : body().without_terminator()) {
    if (&op == anchor) {
      after = true;
      continue;
    }
    if (after && isScalarExpressible(&op))
      ops.push_back(&op);
  }
  if (ops.empty())
    return std::make_pair(std::string("simclr::cpu::Identity{}"), result);
  // The epilogue's last op produces the stored value.
  Value stored = ops.back()->getResult(0);
  llvm::DenseMap<Value, std::string> bound;
  bound[result] = "r";
  std::string lines;
  if (failed(emitScalarOps(ops, bound, lines)))
    return failure();
  return std::make_pair("[&](int64_t i, float r) -> float {\n" + lines +
                            "    return " + bound[stored] + ";\n  }",
                        stored);
}

LogicalResult KernelEmitter::emitAnchored(Operation *anchor) {
  FailureOr<std::string> pro = prologueFor(anchor);
  if (failed(pro))
    return failure();
  FailureOr<std::pair<std::string, Value>> epiAndStored = epilogueFor(anchor);
  if (failed(epiAndStored))
    return failure();
  std::string epi = epiAndStored->first;
  Value stored = epiAndStored->second;
  // Where the anchor's result 0 (after the epilogue) goes.
  auto out0 = [&]() { return pointerOrScratch(stored); };
  auto ptr = [&](Value value) {
    std::string pointer = pointerOf(value);
    return pointer;
  };
  // A template that reads operand 0 through a pointer: materialize the
  // prologue when there is one.
  auto operand0Pointer = [&]() -> std::string {
    std::string pointer = ptr(anchor->getOperand(0));
    if (!pointer.empty())
      return pointer;
    std::string name = pointerOrScratch(anchor->getOperand(0));
    int64_t count = numElements(anchor->getOperand(0));
    os << "  {\n    auto pro = " << *pro << ";\n";
    os << "    #pragma omp parallel for simd schedule(static)\n";
    os << "    for (int64_t i = 0; i < " << count << "; ++i) " << name
       << "[i] = pro(i);\n  }\n";
    return name;
  };
  // A template without an epilogue parameter: apply it afterwards.
  auto epilogueAfter = [&](const std::string &target, int64_t count) {
    if (epi == "simclr::cpu::Identity{}")
      return;
    os << "  {\n    auto epi = " << epi << ";\n";
    os << "    #pragma omp parallel for simd schedule(static)\n";
    os << "    for (int64_t i = 0; i < " << count << "; ++i) " << target
       << "[i] = epi(i, " << target << "[i]);\n  }\n";
  };
  auto requireOperandPointers = [&](unsigned from) -> LogicalResult {
    for (unsigned i = from; i < anchor->getNumOperands(); ++i)
      if (ptr(anchor->getOperand(i)).empty())
        return anchor->emitOpError()
               << "operand " << i << " must be a kernel input";
    return success();
  };
  if (failed(requireOperandPointers(1)))
    return failure();
  auto a = [&](unsigned i) { return ptr(anchor->getOperand(i)); };

  return llvm::TypeSwitch<Operation *, LogicalResult>(anchor)
      .Case([&](BatchNormTrainOp op) {
        ChannelShape s = channelShape(op.getInput());
        std::string y = out0();
        std::string mean = pointerOrScratch(op.getBatchMean());
        std::string var = pointerOrScratch(op.getBatchVar());
        os << "  simclr::cpu::batchNormTrainForward(" << s.n << ", " << s.c
           << ", " << s.hw << ", " << *pro << ", " << a(1) << ", " << a(2)
           << ", " << doubleLiteral(op.getEpsilon().convertToDouble()) << ", "
           << y << ", " << mean << ", " << var << ", " << epi << ");\n";
        return success();
      })
      .Case([&](BatchNormInferenceOp op) {
        ChannelShape s = channelShape(op.getInput());
        std::string y = out0();
        os << "  simclr::cpu::batchNormInference(" << s.n << ", " << s.c << ", "
           << s.hw << ", " << *pro << ", " << a(1) << ", " << a(2) << ", "
           << a(3) << ", " << a(4) << ", "
           << doubleLiteral(op.getEpsilon().convertToDouble()) << ", " << y
           << ", " << epi << ");\n";
        return success();
      })
      .Case([&](BatchNormTrainBackwardOp op) {
        ChannelShape s = channelShape(op.getInput());
        std::string dx = out0();
        std::string dgamma = pointerOrScratch(op.getGradScale());
        std::string dbeta = pointerOrScratch(op.getGradShift());
        os << "  simclr::cpu::batchNormTrainBackward(" << s.n << ", " << s.c
           << ", " << s.hw << ", " << *pro << ", " << a(1) << ", " << a(2)
           << ", " << a(3) << ", " << a(4) << ", "
           << doubleLiteral(op.getEpsilon().convertToDouble()) << ", " << dx
           << ", " << dgamma << ", " << dbeta << ", " << epi << ");\n";
        return success();
      })
      .Case([&](RunningStatsUpdateOp op) {
        std::string x0 = operand0Pointer();
        std::string mean = out0();
        std::string var = pointerOrScratch(op.getNewVar());
        os << "  simclr::cpu::runningStatsUpdate("
           << numElements(op.getRunningMean()) << ", " << x0 << ", " << a(1)
           << ", " << a(2) << ", " << a(3) << ", "
           << doubleLiteral(op.getMomentum().convertToDouble()) << ", "
           << op.getCountAttr().getInt() << ", " << mean << ", " << var
           << ");\n";
        epilogueAfter(mean, numElements(op.getNewMean()));
        return success();
      })
      .Case([&](GlobalAvgPoolOp op) {
        ChannelShape s = channelShape(op.getInput());
        os << "  simclr::cpu::globalAvgPoolForward(" << s.n << ", " << s.c
           << ", " << s.hw << ", " << *pro << ", " << out0() << ", " << epi
           << ");\n";
        return success();
      })
      .Case([&](GlobalAvgPoolBackwardOp op) {
        ChannelShape s = channelShape(op.getGradInput());
        std::string dy = operand0Pointer();
        os << "  simclr::cpu::globalAvgPoolBackward(" << s.n << ", " << s.c
           << ", " << s.hw << ", " << dy << ", " << out0() << ", " << epi
           << ");\n";
        return success();
      })
      .Case([&](SumToChannelsOp op) {
        ChannelShape s = channelShape(op.getInput());
        std::string y = out0();
        os << "  simclr::cpu::sumToChannels(" << s.n << ", " << s.c << ", "
           << s.hw << ", " << *pro << ", " << y << ");\n";
        epilogueAfter(y, numElements(op.getResult()));
        return success();
      })
      .Case([&](NormalizeOp op) {
        ChannelShape s = channelShape(op.getInput());
        std::string y = out0();
        os << "  static const float mean_[] = {";
        for (double v : op.getMean())
          os << floatLiteral(v) << ", ";
        os << "};\n  static const float std_[] = {";
        for (double v : op.getStd())
          os << floatLiteral(v) << ", ";
        os << "};\n";
        os << "  simclr::cpu::normalizeChannels(" << s.n << ", " << s.c << ", "
           << s.hw << ", " << *pro << ", mean_, std_, " << y << ", " << epi
           << ");\n";
        return success();
      })
      .Case([&](MaxPool2DOp op) {
        std::string x = operand0Pointer();
        std::string y = out0();
        os << "  simclr::cpu::maxPool2dForward(" << poolWindowArguments(op)
           << ", " << x << ", " << y << ");\n";
        epilogueAfter(y, numElements(op.getResult()));
        return success();
      })
      .Case([&](MaxPool2DBackwardOp op) {
        std::string dy = operand0Pointer();
        std::string dx = out0();
        os << "  simclr::cpu::maxPool2dBackward(" << poolWindowArguments(op)
           << ", " << dy << ", " << a(1) << ", " << dx << ");\n";
        epilogueAfter(dx, numElements(op.getGradInput()));
        return success();
      })
      .Case([&](L2NormalizeOp op) {
        auto shape = cast<ShapedType>(op.getInput().getType()).getShape();
        os << "  simclr::cpu::l2NormalizeForward(" << shape[0] << ", "
           << shape[1] << ", "
           << doubleLiteral(op.getEpsilon().convertToDouble()) << ", " << *pro
           << ", " << out0() << ", " << epi << ");\n";
        return success();
      })
      .Case([&](L2NormalizeBackwardOp op) {
        auto shape = cast<ShapedType>(op.getInput().getType()).getShape();
        os << "  simclr::cpu::l2NormalizeBackward(" << shape[0] << ", "
           << shape[1] << ", "
           << doubleLiteral(op.getEpsilon().convertToDouble()) << ", " << *pro
           << ", " << a(1) << ", " << out0() << ", " << epi << ");\n";
        return success();
      })
      .Case([&](NtXentOp op) {
        auto shape = cast<ShapedType>(op.getEmbeddings().getType()).getShape();
        std::string z = operand0Pointer();
        std::string loss = out0();
        os << "  simclr::cpu::ntXentForward(" << shape[0] << ", " << shape[1]
           << ", " << z << ", "
           << doubleLiteral(op.getTemperature().convertToDouble()) << ", "
           << loss << ");\n";
        epilogueAfter(loss, 1);
        return success();
      })
      .Case([&](NtXentBackwardOp op) {
        auto shape = cast<ShapedType>(op.getEmbeddings().getType()).getShape();
        std::string dloss = operand0Pointer();
        std::string dz = out0();
        os << "  simclr::cpu::ntXentBackward(" << shape[0] << ", " << shape[1]
           << ", " << dloss << ", " << a(1) << ", "
           << doubleLiteral(op.getTemperature().convertToDouble()) << ", "
           << dz << ");\n";
        epilogueAfter(dz, numElements(op.getGradEmbeddings()));
        return success();
      })
      .Case([&](MaskedScaledLogSoftmaxOp op) {
        auto shape = cast<ShapedType>(op.getInput().getType()).getShape();
        os << "  simclr::cpu::maskedScaledLogSoftmaxForward(" << shape[0]
           << ", " << *pro << ", "
           << doubleLiteral(op.getScale().convertToDouble()) << ", " << out0()
           << ", " << epi << ");\n";
        return success();
      })
      .Case([&](MaskedScaledLogSoftmaxBackwardOp op) {
        auto shape = cast<ShapedType>(op.getResult().getType()).getShape();
        os << "  simclr::cpu::maskedScaledLogSoftmaxBackward(" << shape[0]
           << ", " << *pro << ", " << a(1) << ", "
           << doubleLiteral(op.getScale().convertToDouble()) << ", " << out0()
           << ", " << epi << ");\n";
        return success();
      })
      .Case([&](GatherPositivesOp op) {
        auto shape = cast<ShapedType>(op.getInput().getType()).getShape();
        os << "  simclr::cpu::gatherPositivesForward(" << shape[0] << ", "
           << *pro << ", " << out0() << ", " << epi << ");\n";
        return success();
      })
      .Case([&](GatherPositivesBackwardOp op) {
        auto shape = cast<ShapedType>(op.getGradOutput().getType()).getShape();
        os << "  simclr::cpu::gatherPositivesBackward(" << shape[0] << ", "
           << *pro << ", " << out0() << ", " << epi << ");\n";
        return success();
      })
      .Case([&](ReduceMeanOp op) {
        os << "  simclr::cpu::reduceMeanForward(" << numElements(op.getInput())
           << ", " << *pro << ", " << out0() << ", " << epi << ");\n";
        return success();
      })
      .Case([&](SliceOp op) {
        auto shape = cast<ShapedType>(op.getInput().getType()).getShape();
        int64_t dim = op.getDimAttr().getInt();
        auto [outer, inner] = aroundDimension(shape, dim);
        int64_t size = cast<ShapedType>(op.getType()).getShape()[dim];
        os << "  simclr::cpu::sliceCopy(" << outer << ", " << shape[dim] << ", "
           << inner << ", " << op.getOffsetAttr().getInt() << ", " << size
           << ", " << *pro << ", " << out0() << ", " << epi << ");\n";
        return success();
      })
      .Case([&](ConcatOp op) -> LogicalResult {
        if (epi != "simclr::cpu::Identity{}")
          return op.emitOpError() << "cannot take an epilogue";
        if (failed(requireOperandPointers(0)))
          return failure();
        auto shape = cast<ShapedType>(op.getType()).getShape();
        int64_t dim = op.getDimAttr().getInt();
        auto [outer, inner] = aroundDimension(shape, dim);
        std::string y = out0();
        int64_t offset = 0;
        for (Value input : op.getInputs()) {
          int64_t size = cast<ShapedType>(input.getType()).getShape()[dim];
          os << "  simclr::cpu::concatCopy(" << outer << ", " << shape[dim]
             << ", " << inner << ", " << offset << ", " << size
             << ", simclr::cpu::Load{" << ptr(input) << "}, " << y
             << ", simclr::cpu::Identity{});\n";
          offset += size;
        }
        return success();
      })
      .Case([&](LrScheduleOp op) {
        std::string step = operand0Pointer();
        std::string lr = out0();
        os << "  " << lr << "[0] = simclr::cpu::lrWarmupCosine(" << step
           << "[0], " << doubleLiteral(op.getBaseLr().convertToDouble()) << ", "
           << doubleLiteral(op.getFinalLr().convertToDouble()) << ", "
           << op.getWarmupStepsAttr().getInt() << ", "
           << op.getTotalStepsAttr().getInt() << ");\n";
        epilogueAfter(lr, 1);
        return success();
      })
      .Default([&](Operation *op) {
        return op->emitOpError()
               << "has no CPU kernel template (kernel @" << kernel.getSymName()
               << ")";
      });
}

LogicalResult KernelEmitter::emitNtXent() {
  NtXentOp forward;
  NtXentBackwardOp backward;
  for (Operation &op : body()) {
    if (auto f = dyn_cast<NtXentOp>(op))
      forward = f;
    if (auto b = dyn_cast<NtXentBackwardOp>(op))
      backward = b;
  }
  if (!forward || !backward ||
      forward.getEmbeddings() != backward.getEmbeddings() ||
      forward.getTemperature() != backward.getTemperature())
    return kernel.emitOpError()
           << "nt_xent kernel needs nt_xent and nt_xent_backward of the same "
              "embeddings and temperature";
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
  auto shape = cast<ShapedType>(forward.getEmbeddings().getType()).getShape();
  std::string loss = pointerOrScratch(forward.getLoss());
  std::string dz = pointerOrScratch(backward.getGradEmbeddings());
  os << "  simclr::cpu::ntXentForwardBackward(" << shape[0] << ", " << shape[1]
     << ", " << z << ", "
     << doubleLiteral(forward.getTemperature().convertToDouble()) << ", "
     << dloss << ", " << loss << ", " << dz << ");\n";
  return success();
}

LogicalResult KernelEmitter::emitOptimizer() {
  SmallVector<Operation *> updates;
  for (Operation &op : body().without_terminator())
    updates.push_back(&op);
  if (updates.empty())
    return kernel.emitOpError() << "optimizer kernel without updates";
  StringRef opName = updates.front()->getName().getStringRef();
  for (Operation *op : updates)
    if (op->getName().getStringRef() != opName ||
        !isa<AdamWUpdateOp, SgdUpdateOp, LarsUpdateOp>(op))
      return op->emitOpError()
             << "an optimizer kernel holds update ops of one kind only";
  // In-place update: when a new value's buffer differs from the old one,
  // copy the old value over first.
  auto inPlace = [&](Value old, Value updated) -> FailureOr<std::string> {
    std::string from = pointerOf(old);
    std::string to = pointerOrScratch(updated);
    if (from.empty())
      return failure();
    os << "  if (" << to << " != " << from << ") std::memcpy(" << to << ", "
       << from << ", " << numElements(old) * 4 << ");\n";
    return to;
  };
  std::string lr, step;
  std::string segments;
  llvm::raw_string_ostream table(segments);
  std::string call;
  for (Operation *op : updates) {
    FailureOr<std::string> param, state0, state1;
    std::string grad;
    double weightDecay = 0;
    int flags = 0;
    std::string thisCall;
    if (auto adamw = dyn_cast<AdamWUpdateOp>(op)) {
      param = inPlace(adamw.getParam(), adamw.getNewParam());
      state0 = inPlace(adamw.getExpAvg(), adamw.getNewExpAvg());
      state1 = inPlace(adamw.getExpAvgSq(), adamw.getNewExpAvgSq());
      grad = pointerOf(adamw.getGrad());
      lr = pointerOf(adamw.getLr());
      step = pointerOf(adamw.getStep());
      weightDecay = adamw.getWeightDecay().convertToDouble();
      thisCall = "simclr::cpu::adamWUpdateAll(segments, COUNT, " + lr + "[0], " +
                 step + "[0], " +
                 doubleLiteral(adamw.getBeta1().convertToDouble()) + ", " +
                 doubleLiteral(adamw.getBeta2().convertToDouble()) + ", " +
                 doubleLiteral(adamw.getEpsilon().convertToDouble()) + ")";
    } else if (auto sgd = dyn_cast<SgdUpdateOp>(op)) {
      param = inPlace(sgd.getParam(), sgd.getNewParam());
      state0 = inPlace(sgd.getMomentumBuffer(), sgd.getNewMomentumBuffer());
      state1 = std::string("nullptr");
      grad = pointerOf(sgd.getGrad());
      lr = pointerOf(sgd.getLr());
      weightDecay = sgd.getWeightDecay().convertToDouble();
      thisCall = "simclr::cpu::sgdUpdateAll(segments, COUNT, " + lr + "[0], " +
                 doubleLiteral(sgd.getMomentum().convertToDouble()) + ")";
    } else {
      auto lars = cast<LarsUpdateOp>(op);
      param = inPlace(lars.getParam(), lars.getNewParam());
      state0 = inPlace(lars.getMomentumBuffer(), lars.getNewMomentumBuffer());
      state1 = std::string("nullptr");
      grad = pointerOf(lars.getGrad());
      lr = pointerOf(lars.getLr());
      weightDecay = lars.getWeightDecay().convertToDouble();
      flags = lars.getLayerAdaptation() ? 1 : 0;
      thisCall = "simclr::cpu::larsUpdateAll(segments, COUNT, " + lr + "[0], " +
                 doubleLiteral(lars.getMomentum().convertToDouble()) + ", " +
                 doubleLiteral(lars.getTrustCoefficient().convertToDouble()) +
                 ")";
    }
    if (failed(param) || failed(state0) || failed(state1) || grad.empty() ||
        lr.empty())
      return op->emitOpError()
             << "parameters, gradients, state and the learning rate must be "
                "kernel inputs";
    if (!call.empty() && call != thisCall)
      return op->emitOpError()
             << "differs from the kernel's other updates in a shared "
                "hyper-parameter; they cannot share one launch";
    call = thisCall;
    table << "    {" << *param << ", " << grad << ", " << *state0 << ", "
          << *state1 << ", " << numElements(op->getOperand(0)) << ", "
          << doubleLiteral(weightDecay) << ", " << flags << "},\n";
  }
  os << "  const simclr::cpu::OptimizerSegment segments[] = {\n"
     << segments << "  };\n";
  std::string count = std::to_string(updates.size());
  size_t at = call.find("COUNT");
  call.replace(at, 5, count);
  os << "  " << call << ";\n";
  return success();
}

LogicalResult KernelEmitter::emit() {
  os << "extern \"C\" void " << kernel.getSymName()
     << "(void *const *operands) {\n";
  unsigned index = 0;
  for (BlockArgument argument : body().getArguments()) {
    std::string type = cType(argument.getType());
    if (type.empty())
      return kernel.emitOpError() << "argument type " << argument.getType()
                                  << " has no C type";
    std::string name = "a" + std::to_string(argument.getArgNumber());
    os << "  const " << type << " *" << name << " = static_cast<const " << type
       << " *>(operands[" << index++ << "]);\n";
    pointers[argument] = name;
  }
  for (auto [j, value] : llvm::enumerate(yield()->getOperands())) {
    std::string type = cType(value.getType());
    std::string name = "o" + std::to_string(j);
    os << "  " << type << " *" << name << " = static_cast<" << type
       << " *>(operands[" << index++ << "]);\n";
    if (pointers.count(value))
      // A block argument yielded unchanged: copy it through.
      os << "  std::memcpy(" << name << ", " << pointers[value] << ", "
         << numElements(value) * (type == "uint8_t" ? 1 : type == "float" ? 4 : 8)
         << ");\n";
    else
      pointers[value] = name;
  }

  LogicalResult result = success();
  StringRef kind = kernel.getKind();
  if (kind == "nt_xent") {
    result = emitNtXent();
  } else if (kind == "optimizer" ||
             (kind == "single" &&
              isa<AdamWUpdateOp, SgdUpdateOp, LarsUpdateOp>(body().front()))) {
    result = emitOptimizer();
  } else {
    Operation *anchor = nullptr;
    for (Operation &op : body().without_terminator()) {
      if (isScalarExpressible(&op))
        continue;
      if (anchor)
        return op.emitOpError() << "is a second non-elementwise op in kernel @"
                                << kernel.getSymName();
      anchor = &op;
    }
    result = anchor ? emitAnchored(anchor) : emitElementwise();
  }
  os << "}\n\n";
  return result;
}

} // namespace

FailureOr<CppKernelLibrary>
mlir::simclr_kernel::emitCppKernelLibrary(ModuleOp module) {
  std::string kernels;
  llvm::raw_string_ostream os(kernels);
  int count = 0;
  for (KernelOp kernel : module.getOps<KernelOp>()) {
    KernelEmitter emitter(kernel, os);
    if (failed(emitter.emit()))
      return failure();
    ++count;
  }
  std::string prelude =
      "// Generated by simclrc: one function per simclr_kernel.kernel.\n"
      "// ABI: lib/include/simclr/Support/ArtifactPlan.h. Do not edit.\n"
      "#include \"simclr/Kernels/Cpu/CpuKernels.h\"\n\n"
      "#include <cstdint>\n#include <cstring>\n#include <vector>\n\n";
  llvm::SHA256 hasher;
  hasher.update(prelude);
  hasher.update(kernels);
  std::array<uint8_t, 32> digest = hasher.final();
  std::string fingerprint = llvm::toHex(digest, /*LowerCase=*/true);

  CppKernelLibrary library;
  library.fingerprint = fingerprint;
  library.kernelCount = count;
  library.source = prelude + kernels +
                   "extern \"C\" const char *" +
                   ::simclr::artifact::kFingerprintSymbol + "(void) {\n  return \"" +
                   fingerprint + "\";\n}\n\nextern \"C\" int64_t " +
                   ::simclr::artifact::kAbiVersionSymbol + "(void) {\n  return " +
                   std::to_string(::simclr::artifact::kPlanFormatVersion) +
                   ";\n}\n";
  return library;
}
