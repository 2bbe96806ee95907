//===- LowerToKernels.cpp - Graph level to kernel level -------------------===//
//
// Implements `simclr-lower-to-kernels` (see Passes.td for the contract).
// The graph function's op order becomes the schedule: the graph is already
// topologically ordered, and the passes before this one (autodiff, fusion)
// place ops where their operands are ready.
//
//===----------------------------------------------------------------------===//
#include "simclr/Conversion/Passes.h"
#include "simclr/Dialect/Kernel/IR/KernelOps.h"
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::simclr {
#define GEN_PASS_DEF_SIMCLRLOWERTOKERNELS
#include "simclr/Conversion/Passes.h.inc"
} // namespace mlir::simclr

using namespace mlir;
using namespace mlir::simclr;
namespace sk = mlir::simclr_kernel;

namespace {

/// Graph ops that every target's runtime implements with a library routine
/// (simclr::ExternRoutine: the op's name without the dialect prefix).
bool isExternOp(Operation *op) {
  return op->getDialect() == op->getContext()->getLoadedDialect<SimclrDialect>() &&
         ::simclr::parseExternRoutine(op->getName().stripDialect().str())
             .has_value();
}

/// A C identifier fragment from an op or fusion name ("simclr.relu" ->
/// "relu").
std::string symbolFragment(StringRef name) {
  name.consume_front("simclr.");
  std::string out;
  for (char c : name)
    out += (isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return out;
}

class FunctionLowering {
public:
  FunctionLowering(ModuleOp module, func::FuncOp source,
                   llvm::StringMap<sk::KernelOp> &kernelsByBody,
                   int &kernelCounter)
      : module(module), source(source), kernelsByBody(kernelsByBody),
        kernelCounter(kernelCounter) {}

  FailureOr<func::FuncOp> lower();

private:
  LogicalResult findStateDestinations();
  LogicalResult lowerOp(OpBuilder &builder, Operation *op);
  /// Buffers for `op`'s results: the argument buffer of a new state value,
  /// else a fresh alloc.
  SmallVector<Value> outputBuffers(OpBuilder &builder, Operation *op,
                                   StringRef label);
  /// Defines (or reuses) a kernel whose body is `region`'s copy; the body's
  /// terminator (any op) is replaced by simclr_kernel.yield.
  sk::KernelOp defineKernel(StringRef label, StringRef kind,
                            llvm::function_ref<void(OpBuilder &, Block &)> fill,
                            Location loc);
  FailureOr<SmallVector<Value>> mapped(Operation *op);

  ModuleOp module;
  func::FuncOp source;
  llvm::StringMap<sk::KernelOp> &kernelsByBody;
  int &kernelCounter;
  func::FuncOp target;
  IRMapping tensorToBuffer;
  /// Names the graph printer gives values ("output_10"), for buffer names.
  std::unique_ptr<AsmState> asmState;
  /// New-state results of the function, keyed by the graph value, to the
  /// argument index they overwrite.
  DenseMap<Value, unsigned> stateDestination;
};

MemRefType bufferTypeOf(Type type) {
  auto tensor = cast<RankedTensorType>(type);
  return MemRefType::get(tensor.getShape(), tensor.getElementType());
}

LogicalResult FunctionLowering::findStateDestinations() {
  auto returnOp = cast<func::ReturnOp>(source.getBody().front().getTerminator());
  // (kind, name) -> argument index.
  std::map<std::pair<std::string, std::string>, unsigned> argumentByName;
  for (unsigned i = 0; i < source.getNumArguments(); ++i) {
    DictionaryAttr attrs = source.getArgAttrDict(i);
    StringRef kind = getStringAttrOr(attrs, kKindAttrName);
    if (isStateKind(kind))
      argumentByName[{kind.str(), getStringAttrOr(attrs, kNameAttrName).str()}] = i;
  }
  for (unsigned i = 0; i < returnOp.getNumOperands(); ++i) {
    DictionaryAttr attrs = source.getResultAttrDict(i);
    StringRef kind = getStringAttrOr(attrs, kKindAttrName);
    if (!isStateKind(kind))
      continue;
    StringRef name = getStringAttrOr(attrs, kNameAttrName);
    auto it = argumentByName.find({kind.str(), name.str()});
    if (it == argumentByName.end())
      return source.emitError() << "result #" << i << " is new " << kind
                                << " '" << name
                                << "' but no argument holds its old value";
    Value value = returnOp.getOperand(i);
    BlockArgument argument = source.getArgument(it->second);
    if (value == argument)
      continue; // Unchanged state: nothing to write.
    Operation *writer = value.getDefiningOp();
    if (!writer || stateDestination.count(value))
      return source.emitError()
             << "result #" << i << " ('" << name
             << "') must be produced by an op of its own to be updated in "
                "place";
    // Updating in place is legal only when the old value's readers all run
    // before (or are) the writer.
    for (Operation *reader : argument.getUsers())
      if (reader != writer && writer->isBeforeInBlock(reader))
        return writer->emitError()
               << "cannot update " << kind << " '" << name
               << "' in place: it is read again after this op";
    stateDestination[value] = it->second;
  }
  return success();
}

sk::KernelOp FunctionLowering::defineKernel(
    StringRef label, StringRef kind,
    llvm::function_ref<void(OpBuilder &, Block &)> fill, Location loc) {
  OpBuilder builder(module.getContext());
  builder.setInsertionPoint(target);
  auto kernel = builder.create<sk::KernelOp>(loc, "pending", kind);
  Block *body = new Block();
  kernel.getBody().push_back(body);
  OpBuilder bodyBuilder = OpBuilder::atBlockBegin(body);
  fill(bodyBuilder, *body);

  // Identical bodies (the same op on the same shapes) share one kernel.
  std::string key;
  {
    llvm::raw_string_ostream os(key);
    // Local scope: value numbering starts afresh in every kernel, so equal
    // bodies print equally (the symbol is still "pending" here).
    kernel->print(os, OpPrintingFlags().useLocalScope());
  }
  auto it = kernelsByBody.find(key);
  if (it != kernelsByBody.end()) {
    kernel.erase();
    return it->second;
  }
  std::string name =
      "k" + std::to_string(kernelCounter++) + "_" + symbolFragment(label);
  kernel.setSymName(name);
  kernelsByBody[key] = kernel;
  return kernel;
}

FailureOr<SmallVector<Value>> FunctionLowering::mapped(Operation *op) {
  SmallVector<Value> buffers;
  for (Value operand : op->getOperands()) {
    Value buffer = tensorToBuffer.lookupOrNull(operand);
    if (!buffer)
      return op->emitOpError()
             << "operand of type " << operand.getType()
             << " has no buffer (only ranked tensors become buffers)";
    buffers.push_back(buffer);
  }
  return buffers;
}

SmallVector<Value> FunctionLowering::outputBuffers(OpBuilder &builder,
                                                   Operation *op,
                                                   StringRef label) {
  SmallVector<Value> buffers;
  for (OpResult result : op->getResults()) {
    auto it = stateDestination.find(result);
    Value buffer;
    if (it != stateDestination.end()) {
      buffer = target.getArgument(it->second);
    } else {
      std::string name;
      {
        llvm::raw_string_ostream os(name);
        result.printAsOperand(os, *asmState);
      }
      StringRef trimmed = StringRef(name).ltrim('%');
      name = trimmed.str();
      buffer = builder.create<sk::AllocOp>(op->getLoc(),
                                           bufferTypeOf(result.getType()),
                                           builder.getStringAttr(name),
                                           IntegerAttr());
    }
    tensorToBuffer.map(result, buffer);
    buffers.push_back(buffer);
  }
  return buffers;
}

LogicalResult FunctionLowering::lowerOp(OpBuilder &builder, Operation *op) {
  SmallVector<Type> types(op->getOperandTypes());
  llvm::append_range(types, op->getResultTypes());
  for (Type type : types)
    if (!isa<RankedTensorType>(type))
      return op->emitOpError()
             << "has a value of type " << type
             << ", which the kernel level cannot hold; random augmentation "
                "runs in the input pipeline, so build the train step with "
                "views as input (simclrc --views-as-input)";
  FailureOr<SmallVector<Value>> inputs = mapped(op);
  if (failed(inputs))
    return failure();

  if (auto reshape = dyn_cast<ReshapeOp>(op)) {
    Value view = builder.create<sk::ViewOp>(
        op->getLoc(), bufferTypeOf(reshape.getType()), (*inputs)[0]);
    tensorToBuffer.map(reshape.getResult(), view);
    return success();
  }

  if (isExternOp(op)) {
    StringRef callee = op->getName().stripDialect();
    SmallVector<Value> outputs = outputBuffers(builder, op, callee);
    auto call = builder.create<sk::ExternOp>(op->getLoc(), callee, *inputs, outputs);
    for (NamedAttribute attr : op->getAttrs())
      call->setAttr(attr.getName(), attr.getValue());
    return success();
  }

  std::string label;
  std::string kind;
  sk::KernelOp kernel;
  if (auto fusion = dyn_cast<FusionOp>(op)) {
    kind = stringifyFusionKind(fusion.getKind()).str();
    label = fusion.getName().str();
    Block &fusionBody = op->getRegion(0).front();
    kernel = defineKernel(label, kind, [&](OpBuilder &b, Block &body) {
      IRMapping mapping;
      for (BlockArgument argument : fusionBody.getArguments())
        mapping.map(argument, body.addArgument(argument.getType(), argument.getLoc()));
      for (Operation &inner : fusionBody.without_terminator())
        b.clone(inner, mapping);
      Operation *terminator = fusionBody.getTerminator();
      SmallVector<Value> yielded;
      for (Value value : terminator->getOperands())
        yielded.push_back(mapping.lookup(value));
      b.create<sk::YieldOp>(terminator->getLoc(), yielded);
    }, op->getLoc());
  } else {
    // A lone elementwise op is an elementwise kernel (so memory planning
    // may place its output over a dying input), a lone update op an
    // optimizer kernel of one parameter, anything else an anchor without
    // prologue or epilogue.
    ::simclr::KernelKind kernelKind =
        op->hasTrait<ElementwiseOp>() ? ::simclr::KernelKind::kElementwise
        : isa<AdamWUpdateOp, SgdUpdateOp, LarsUpdateOp>(op)
            ? ::simclr::KernelKind::kOptimizer
            : ::simclr::KernelKind::kAnchored;
    kind = ::simclr::kernelKindName(kernelKind);
    label = symbolFragment(op->getName().getStringRef());
    kernel = defineKernel(label, kind, [&](OpBuilder &b, Block &body) {
      // One argument per operand position, even when an operand repeats
      // (add %x, %x), so launches pass exactly the op's operands.
      Operation *clone = b.clone(*op);
      for (OpOperand &operand : clone->getOpOperands())
        operand.set(body.addArgument(operand.get().getType(), op->getLoc()));
      b.create<sk::YieldOp>(op->getLoc(), clone->getResults());
    }, op->getLoc());
  }
  SmallVector<Value> outputs = outputBuffers(builder, op, kernel.getSymName());
  builder.create<sk::LaunchOp>(op->getLoc(), kernel.getSymName(), *inputs,
                               outputs);
  return success();
}

FailureOr<func::FuncOp> FunctionLowering::lower() {
  if (!source.getBody().hasOneBlock())
    return source.emitError() << "must have a single block to be lowered";
  for (Type type : source.getArgumentTypes())
    if (!isa<RankedTensorType>(type))
      return source.emitError()
             << "argument of type " << type
             << " cannot be a buffer; random augmentation runs in the input "
                "pipeline, so build the train step with views as input "
                "(simclrc --views-as-input)";
  if (failed(findStateDestinations()))
    return failure();
  asmState = std::make_unique<AsmState>(source);

  auto returnOp = cast<func::ReturnOp>(source.getBody().front().getTerminator());
  SmallVector<Type> argumentTypes;
  for (Type type : source.getArgumentTypes())
    argumentTypes.push_back(bufferTypeOf(type));
  SmallVector<Type> resultTypes;
  SmallVector<DictionaryAttr> resultAttrs;
  SmallVector<Value> returned;
  for (unsigned i = 0; i < returnOp.getNumOperands(); ++i) {
    DictionaryAttr attrs = source.getResultAttrDict(i);
    if (isStateKind(getStringAttrOr(attrs, kKindAttrName)))
      continue;
    resultTypes.push_back(bufferTypeOf(returnOp.getOperand(i).getType()));
    resultAttrs.push_back(attrs ? attrs : DictionaryAttr::get(source.getContext()));
    returned.push_back(returnOp.getOperand(i));
  }

  OpBuilder builder(source);
  target = builder.create<func::FuncOp>(
      source.getLoc(), source.getName(),
      builder.getFunctionType(argumentTypes, resultTypes));
  for (unsigned i = 0; i < source.getNumArguments(); ++i)
    if (DictionaryAttr attrs = source.getArgAttrDict(i))
      target.setArgAttrs(i, attrs);
  for (auto [i, attrs] : llvm::enumerate(resultAttrs))
    target.setResultAttrs(i, attrs);
  Block *entry = target.addEntryBlock();
  for (auto [from, to] : llvm::zip(source.getArguments(), entry->getArguments()))
    tensorToBuffer.map(from, to);

  OpBuilder bodyBuilder = OpBuilder::atBlockEnd(entry);
  for (Operation &op : source.getBody().front().without_terminator())
    if (failed(lowerOp(bodyBuilder, &op))) {
      target.erase();
      return failure();
    }
  SmallVector<Value> results;
  for (Value value : returned) {
    Value buffer = tensorToBuffer.lookupOrNull(value);
    if (!buffer) {
      target.erase();
      return returnOp.emitOpError() << "returns a value without a buffer";
    }
    results.push_back(buffer);
  }
  bodyBuilder.create<func::ReturnOp>(returnOp.getLoc(), results);
  return target;
}

struct LowerToKernelsPass
    : public mlir::simclr::impl::SimclrLowerToKernelsBase<LowerToKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> graphFunctions;
    for (auto function : module.getOps<func::FuncOp>())
      if (!function.isExternal())
        graphFunctions.push_back(function);
    llvm::StringMap<sk::KernelOp> kernelsByBody;
    int kernelCounter = 0;
    for (func::FuncOp function : graphFunctions) {
      FunctionLowering lowering(module, function, kernelsByBody, kernelCounter);
      FailureOr<func::FuncOp> lowered = lowering.lower();
      if (failed(lowered))
        return signalPassFailure();
      StringAttr name = function.getNameAttr();
      function.erase();
      lowered->setName(name);
    }
  }
};

} // namespace
