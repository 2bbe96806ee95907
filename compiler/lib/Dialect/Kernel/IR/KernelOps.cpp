//===- KernelOps.cpp - Verifiers of the kernel-level ops ------------------===//
#include "simclr/Dialect/Kernel/IR/KernelOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/DialectImplementation.h"

using namespace mlir;
using namespace mlir::simclr_kernel;

#define GET_OP_CLASSES
#include "simclr/Dialect/Kernel/IR/KernelOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Layouts, element types
//===----------------------------------------------------------------------===//

Attribute LayoutAttr::parse(AsmParser &parser, Type) {
  StringRef name;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() || parser.parseKeyword(&name) || parser.parseGreater())
    return {};
  std::optional<::simclr::Layout> layout = ::simclr::parseLayout(name.str());
  if (!layout) {
    parser.emitError(loc) << "unknown layout '" << name
                          << "' (known: nchw, nhwc, nChw8c, nChw16c)";
    return {};
  }
  return LayoutAttr::get(parser.getContext(), *layout);
}

void LayoutAttr::print(AsmPrinter &printer) const {
  printer << "<" << ::simclr::layoutName(getLayout()) << ">";
}

LogicalResult LayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 ::simclr::Layout layout) {
  return success();
}

AffineMap LayoutAttr::getAffineMap() const {
  MLIRContext *context = getContext();
  AffineExpr n = getAffineDimExpr(0, context), c = getAffineDimExpr(1, context),
             h = getAffineDimExpr(2, context), w = getAffineDimExpr(3, context);
  switch (getLayout()) {
  case ::simclr::Layout::kPlain:
    return AffineMap::getMultiDimIdentityMap(4, context);
  case ::simclr::Layout::kNhwc:
    return AffineMap::get(4, 0, {n, h, w, c}, context);
  case ::simclr::Layout::kNChw8c:
  case ::simclr::Layout::kNChw16c: {
    int64_t block = ::simclr::layoutChannelBlock(getLayout());
    return AffineMap::get(4, 0, {n, c.floorDiv(block), h, w, c % block},
                          context);
  }
  }
  llvm_unreachable("Layout value outside the enum");
}

bool LayoutAttr::isIdentity() const {
  return getLayout() == ::simclr::Layout::kPlain;
}

LogicalResult
LayoutAttr::verifyLayout(ArrayRef<int64_t> shape,
                         function_ref<InFlightDiagnostic()> emitError) const {
  if (shape.size() != 4)
    return emitError() << "layout " << ::simclr::layoutName(getLayout())
                       << " needs a 4-D N x C x H x W buffer, got rank "
                       << shape.size();
  int64_t block = ::simclr::layoutChannelBlock(getLayout());
  if (block > 1 && shape[1] % block != 0)
    return emitError() << "layout " << ::simclr::layoutName(getLayout())
                       << " needs a multiple of " << block
                       << " channels, got " << shape[1];
  return success();
}

::simclr::Layout mlir::simclr_kernel::getBufferLayout(MemRefType type) {
  if (auto layout = dyn_cast<LayoutAttr>(type.getLayout()))
    return layout.getLayout();
  return ::simclr::Layout::kPlain;
}

MemRefType mlir::simclr_kernel::withLayout(MemRefType type,
                                           ::simclr::Layout layout) {
  MemRefLayoutAttrInterface attr;
  if (layout != ::simclr::Layout::kPlain)
    attr = LayoutAttr::get(type.getContext(), layout);
  return MemRefType::get(type.getShape(), type.getElementType(), attr,
                         type.getMemorySpace());
}

FailureOr<::simclr::DType> mlir::simclr_kernel::getDType(Type type) {
  if (auto shaped = dyn_cast<ShapedType>(type))
    type = shaped.getElementType();
  if (type.isF32())
    return ::simclr::DType::kF32;
  if (type.isF64())
    return ::simclr::DType::kF64;
  if (type.isF16())
    return ::simclr::DType::kF16;
  if (type.isBF16())
    return ::simclr::DType::kBF16;
  if (type.isInteger(64))
    return ::simclr::DType::kI64;
  if (type.isInteger(32))
    return ::simclr::DType::kI32;
  if (type.isInteger(8))
    return ::simclr::DType::kU8;
  if (type.isInteger(1))
    return ::simclr::DType::kBool;
  return failure();
}

int64_t mlir::simclr_kernel::getBufferBytes(MemRefType type) {
  return type.getNumElements() *
         static_cast<int64_t>((type.getElementTypeBitWidth() + 7) / 8);
}

//===----------------------------------------------------------------------===//
// KernelOp
//===----------------------------------------------------------------------===//

/// A buffer holds a tensor's values when element type and shape agree.
static bool bufferHolds(Type buffer, Type tensor) {
  auto memref = dyn_cast<MemRefType>(buffer);
  auto ranked = dyn_cast<RankedTensorType>(tensor);
  return memref && ranked && memref.getShape() == ranked.getShape() &&
         memref.getElementType() == ranked.getElementType();
}

static bool isUpdateOp(Operation *op) {
  return isa<mlir::simclr::AdamWUpdateOp, mlir::simclr::SgdUpdateOp,
             mlir::simclr::LarsUpdateOp>(
      op);
}

::simclr::KernelKind KernelOp::getKernelKind() {
  return *::simclr::parseKernelKind(getKind().str());
}

SmallVector<Operation *> KernelOp::getBodyOps() {
  SmallVector<Operation *> ops;
  for (Operation &op : getBodyBlock().without_terminator())
    ops.push_back(&op);
  return ops;
}

::simclr::Layout KernelOp::getOperandLayout(unsigned index) {
  std::optional<ArrayAttr> layouts = getLayouts();
  if (!layouts || index >= layouts->size())
    return ::simclr::Layout::kPlain;
  return *::simclr::parseLayout(
      cast<StringAttr>((*layouts)[index]).getValue().str());
}

/// Checks the description attributes (KernelOps.td, "The description").
static LogicalResult verifyDescription(KernelOp kernel) {
  Block &body = kernel.getBodyBlock();
  SmallVector<Operation *> ops = kernel.getBodyOps();
  ArrayAttr access = *kernel.getAccess();
  if (access.size() != body.getNumArguments())
    return kernel.emitOpError() << "states the access of " << access.size()
                                << " inputs, the body has "
                                << body.getNumArguments();
  for (auto [index, attr] : llvm::enumerate(access)) {
    StringRef mode = cast<StringAttr>(attr).getValue();
    auto type = cast<RankedTensorType>(body.getArgument(index).getType());
    if (mode == "scalar" && type.getRank() != 0)
      return kernel.emitOpError() << "input #" << index
                                  << " is read as a scalar but has rank "
                                  << type.getRank();
    if (mode == "channel" && type.getRank() != 1)
      return kernel.emitOpError() << "input #" << index
                                  << " is read per channel but has rank "
                                  << type.getRank();
    if (mode != "flat" && mode != "scalar" && mode != "channel" &&
        mode != "none")
      return kernel.emitOpError() << "input #" << index << " has access '"
                                  << mode
                                  << "' (known: flat, scalar, channel, none)";
  }

  unsigned numOperands = kernel.getNumInputs() + kernel.getNumOutputs();
  if (std::optional<ArrayAttr> layouts = kernel.getLayouts()) {
    if (layouts->size() != numOperands)
      return kernel.emitOpError()
             << "states " << layouts->size() << " layouts for "
             << numOperands << " inputs and outputs";
    for (auto [index, attr] : llvm::enumerate(*layouts)) {
      std::optional<::simclr::Layout> layout =
          ::simclr::parseLayout(cast<StringAttr>(attr).getValue().str());
      if (!layout)
        return kernel.emitOpError()
               << "operand #" << index << " has unknown layout " << attr;
      if (*layout == ::simclr::Layout::kPlain)
        continue;
      Type type = index < kernel.getNumInputs()
                      ? body.getArgument(index).getType()
                      : kernel.getYield()
                            ->getOperand(index - kernel.getNumInputs())
                            .getType();
      auto shape = cast<RankedTensorType>(type).getShape();
      int64_t block = ::simclr::layoutChannelBlock(*layout);
      if (shape.size() != 4 || (block > 1 && shape[1] % block != 0))
        return kernel.emitOpError()
               << "operand #" << index << " of type " << type
               << " cannot have layout " << attr;
    }
  }
  unsigned numScratch = kernel.getNumScratch();
  if (std::optional<ArrayRef<int64_t>> scratch = kernel.getScratch())
    for (int64_t bytes : *scratch)
      if (bytes <= 0)
        return kernel.emitOpError() << "scratch sizes must be positive";

  auto checkIndices = [&](StringRef what,
                          std::optional<ArrayRef<int64_t>> indices)
      -> LogicalResult {
    if (!indices)
      return success();
    for (int64_t index : *indices) {
      if (index < 0 || index >= static_cast<int64_t>(ops.size()))
        return kernel.emitOpError() << what << " index " << index
                                    << " is outside the body's "
                                    << ops.size() << " ops";
      if (!ops[index]->hasTrait<mlir::simclr::ElementwiseOp>())
        return kernel.emitOpError()
               << what << " op #" << index << " ('"
               << ops[index]->getName() << "') is not elementwise";
    }
    return success();
  };
  auto checkResults = [&](int64_t expected) -> LogicalResult {
    std::optional<ArrayRef<int64_t>> results = kernel.getResults();
    if (!results || static_cast<int64_t>(results->size()) != expected)
      return kernel.emitOpError()
             << "needs 'results' with " << expected << " operand indices";
    for (int64_t index : *results)
      if (index < kernel.getNumInputs() ||
          index >= static_cast<int64_t>(numOperands + numScratch))
        return kernel.emitOpError()
               << "result operand " << index
               << " is neither an output nor a scratch operand";
    return success();
  };

  switch (kernel.getKernelKind()) {
  case ::simclr::KernelKind::kElementwise:
    for (auto [index, op] : llvm::enumerate(ops))
      if (!op->hasTrait<mlir::simclr::ElementwiseOp>())
        return kernel.emitOpError() << "elementwise kernel holds op #"
                                    << index << " ('" << op->getName()
                                    << "'), which is not elementwise";
    return success();
  case ::simclr::KernelKind::kAnchored: {
    std::optional<uint64_t> anchor = kernel.getAnchor();
    if (!anchor || *anchor >= ops.size())
      return kernel.emitOpError() << "anchored kernel needs an 'anchor' "
                                     "index inside its body";
    Operation *anchorOp = ops[*anchor];
    if (anchorOp->hasTrait<mlir::simclr::ElementwiseOp>())
      return kernel.emitOpError() << "anchor '" << anchorOp->getName()
                                  << "' is elementwise";
    if (failed(checkIndices("prologue", kernel.getPrologue())) ||
        failed(checkIndices("epilogue", kernel.getEpilogue())))
      return failure();
    if (std::optional<ArrayRef<int64_t>> prologue = kernel.getPrologue())
      for (int64_t index : *prologue)
        if (index >= static_cast<int64_t>(*anchor))
          return kernel.emitOpError()
                 << "prologue op #" << index << " comes after the anchor";
    if (std::optional<ArrayRef<int64_t>> epilogue = kernel.getEpilogue())
      for (int64_t index : *epilogue)
        if (index <= static_cast<int64_t>(*anchor))
          return kernel.emitOpError()
                 << "epilogue op #" << index << " comes before the anchor";
    return checkResults(anchorOp->getNumResults());
  }
  case ::simclr::KernelKind::kNtXent:
    return checkResults(2);
  case ::simclr::KernelKind::kOptimizer:
    for (auto [index, op] : llvm::enumerate(ops))
      if (!isUpdateOp(op))
        return kernel.emitOpError() << "optimizer kernel holds op #" << index
                                    << " ('" << op->getName()
                                    << "'), which is not an update op";
    return success();
  }
  return success();
}

LogicalResult KernelOp::verify() {
  if (!::simclr::parseKernelKind(getKind().str())) {
    std::string known;
    for (::simclr::KernelKind kind : ::simclr::kAllKernelKinds)
      known += (known.empty() ? "" : ", ") +
               std::string(::simclr::kernelKindName(kind));
    return emitOpError() << "kind '" << getKind() << "' is not one of "
                         << known;
  }
  Block &body = getBodyBlock();
  if (body.empty() || !isa<YieldOp>(body.back()))
    return emitOpError() << "body must end with simclr_kernel.yield";
  for (BlockArgument argument : body.getArguments())
    if (!isa<RankedTensorType>(argument.getType()))
      return emitOpError() << "argument #" << argument.getArgNumber()
                           << " must be a ranked tensor, got "
                           << argument.getType();
  if (getYield()->getNumOperands() == 0)
    return emitOpError() << "must yield at least one output";
  if (isDescribed())
    return verifyDescription(*this);
  return success();
}

LogicalResult ViewOp::verify() {
  auto source = getSource().getType();
  auto result = getResult().getType();
  if (source.getElementType() != result.getElementType() ||
      source.getNumElements() != result.getNumElements())
    return emitOpError() << "cannot view " << source << " as " << result
                         << ": element type and count must agree";
  return success();
}

KernelOp LaunchOp::getKernelOp() {
  return SymbolTable::lookupNearestSymbolFrom<KernelOp>(*this, getKernelAttr());
}

LogicalResult LaunchOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto kernel =
      symbolTable.lookupNearestSymbolFrom<KernelOp>(*this, getKernelAttr());
  if (!kernel)
    return emitOpError() << "'" << getKernel()
                         << "' does not name a simclr_kernel.kernel";
  Block &body = kernel.getBodyBlock();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError() << "passes " << getInputs().size()
                         << " inputs, kernel @" << getKernel() << " takes "
                         << body.getNumArguments();
  for (auto [index, pair] :
       llvm::enumerate(llvm::zip(getInputs(), body.getArgumentTypes())))
    if (!bufferHolds(std::get<0>(pair).getType(), std::get<1>(pair)))
      return emitOpError() << "input #" << index << " of type "
                           << std::get<0>(pair).getType()
                           << " does not hold the kernel's "
                           << std::get<1>(pair);
  Operation *yield = kernel.getYield();
  if (yield->getNumOperands() != getOutputs().size())
    return emitOpError() << "passes " << getOutputs().size()
                         << " outputs, kernel @" << getKernel() << " yields "
                         << yield->getNumOperands();
  for (auto [index, pair] : llvm::enumerate(
           llvm::zip(getOutputs(), yield->getOperandTypes())))
    if (!bufferHolds(std::get<0>(pair).getType(), std::get<1>(pair)))
      return emitOpError() << "output #" << index << " of type "
                           << std::get<0>(pair).getType()
                           << " does not hold the kernel's "
                           << std::get<1>(pair);
  SmallVector<Value> buffers(getInputs());
  llvm::append_range(buffers, getOutputs());
  for (auto [index, buffer] : llvm::enumerate(buffers)) {
    ::simclr::Layout layout =
        getBufferLayout(cast<MemRefType>(buffer.getType()));
    if (layout != kernel.getOperandLayout(index))
      return emitOpError() << "operand #" << index << " has layout "
                           << ::simclr::layoutName(layout) << ", kernel @"
                           << getKernel() << " expects "
                           << ::simclr::layoutName(
                                  kernel.getOperandLayout(index));
  }
  if (getScratch().size() != kernel.getNumScratch())
    return emitOpError() << "passes " << getScratch().size()
                         << " scratch buffers, kernel @" << getKernel()
                         << " needs " << kernel.getNumScratch();
  for (auto [index, buffer] : llvm::enumerate(getScratch())) {
    auto type = cast<MemRefType>(buffer.getType());
    int64_t needed = (*kernel.getScratch())[index];
    if (getBufferBytes(type) < needed)
      return emitOpError() << "scratch #" << index << " has "
                           << getBufferBytes(type) << " bytes, kernel @"
                           << getKernel() << " needs " << needed;
  }
  return success();
}

LogicalResult ExternOp::verify() {
  std::optional<::simclr::ExternRoutine> routine =
      ::simclr::parseExternRoutine(getCallee().str());
  if (!routine)
    return emitOpError() << "unknown routine '" << getCallee()
                         << "' (known: " << ::simclr::externRoutineList()
                         << ")";
  if (static_cast<int>(getInputs().size()) != ::simclr::kExternInputs ||
      static_cast<int>(getOutputs().size()) != ::simclr::kExternOutputs)
    return emitOpError() << "'" << getCallee() << "' takes "
                         << ::simclr::kExternInputs << " inputs and "
                         << ::simclr::kExternOutputs << " output, got "
                         << getInputs().size() << " and "
                         << getOutputs().size();
  if (getScratch().size() > 1)
    return emitOpError() << "takes at most one workspace buffer, got "
                         << getScratch().size();
  return success();
}

::simclr::CollectiveKind CollectiveOp::getCollectiveKind() {
  return *::simclr::parseCollectiveKind(getCollective().str());
}

/// A buffer allocated `gathered` (one copy per replica, BufferRegion::
/// kGathered); views of it are not allowed.
static bool isGathered(Value buffer) {
  auto alloc = buffer.getDefiningOp<AllocOp>();
  return alloc && alloc->hasAttr(kGatheredAttrName);
}

LogicalResult CollectiveOp::verify() {
  std::optional<::simclr::CollectiveKind> kind =
      ::simclr::parseCollectiveKind(getCollective().str());
  if (!kind)
    return emitOpError() << "unknown collective '" << getCollective()
                         << "' (known: all_reduce_sum, all_gather, local_slice)";
  if (getInputs().empty() || getInputs().size() != getOutputs().size())
    return emitOpError() << "needs as many outputs as inputs, at least one; got "
                         << getInputs().size() << " and " << getOutputs().size();
  for (auto [input, output] : llvm::zip(getInputs(), getOutputs()))
    if (input.getType() != output.getType())
      return emitOpError() << "input and output types differ: "
                           << input.getType() << " and " << output.getType();
  if (*kind == ::simclr::CollectiveKind::kAllReduceSum) {
    if (getBlocks())
      return emitOpError() << "all_reduce_sum takes no 'blocks'";
    for (auto [input, output] : llvm::zip(getInputs(), getOutputs())) {
      if (input != output)
        return emitOpError() << "all_reduce_sum works in place: each output "
                                "must be its input";
      Type element = cast<MemRefType>(input.getType()).getElementType();
      if (!element.isF32() && !element.isF64())
        return emitOpError() << "all_reduce_sum sums f32 or f64, got "
                             << element;
    }
    return success();
  }
  // all_gather and local_slice: one buffer each way, cut into blocks.
  if (getInputs().size() != 1)
    return emitOpError() << getCollective() << " takes one input and one output";
  if (!getBlocks() || *getBlocks() < 1)
    return emitOpError() << getCollective() << " needs 'blocks' >= 1";
  auto type = cast<MemRefType>(getInputs()[0].getType());
  if (type.getRank() < 1 || type.getDimSize(0) % *getBlocks() != 0)
    return emitOpError() << "dimension 0 of " << type
                         << " is not divisible into " << *getBlocks()
                         << " blocks";
  bool gather = *kind == ::simclr::CollectiveKind::kAllGather;
  Value gathered = gather ? getOutputs()[0] : getInputs()[0];
  Value local = gather ? getInputs()[0] : getOutputs()[0];
  if (!isGathered(gathered))
    return emitOpError() << "the " << (gather ? "output" : "input") << " of "
                         << getCollective()
                         << " must be an alloc marked 'gathered'";
  if (isGathered(local))
    return emitOpError() << "the " << (gather ? "input" : "output") << " of "
                         << getCollective() << " must not be gathered";
  return success();
}
