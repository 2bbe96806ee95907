//===- KernelOps.cpp - Verifiers of the kernel-level ops ------------------===//
#include "simclr/Dialect/Kernel/IR/KernelOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringSwitch.h"

using namespace mlir;
using namespace mlir::simclr_kernel;

#define GET_OP_CLASSES
#include "simclr/Dialect/Kernel/IR/KernelOps.cpp.inc"

/// A buffer holds a tensor's values when element type and shape agree.
static bool bufferHolds(Type buffer, Type tensor) {
  auto memref = dyn_cast<MemRefType>(buffer);
  auto ranked = dyn_cast<RankedTensorType>(tensor);
  return memref && ranked && memref.getShape() == ranked.getShape() &&
         memref.getElementType() == ranked.getElementType();
}

LogicalResult KernelOp::verify() {
  static constexpr llvm::StringLiteral kKinds[] = {
      "single", "elementwise", "anchored", "nt_xent", "optimizer"};
  if (!llvm::is_contained(kKinds, getKind()))
    return emitOpError() << "kind '" << getKind()
                         << "' is not one of single, elementwise, anchored, "
                            "nt_xent, optimizer";
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
  return success();
}

LogicalResult ExternOp::verify() {
  auto expected = llvm::StringSwitch<std::pair<int, int>>(getCallee())
                      .Case("conv2d", {2, 1})
                      .Case("conv2d_backward_input", {2, 1})
                      .Case("conv2d_backward_filter", {2, 1})
                      .Case("matmul", {2, 1})
                      .Default({-1, -1});
  if (expected.first < 0)
    return emitOpError() << "unknown routine '" << getCallee()
                         << "' (known: conv2d, conv2d_backward_input, "
                            "conv2d_backward_filter, matmul)";
  if (static_cast<int>(getInputs().size()) != expected.first ||
      static_cast<int>(getOutputs().size()) != expected.second)
    return emitOpError() << "'" << getCallee() << "' takes " << expected.first
                         << " inputs and " << expected.second
                         << " output, got " << getInputs().size() << " and "
                         << getOutputs().size();
  return success();
}

LogicalResult CollectiveOp::verify() {
  if (getCollective() != "all_reduce_sum" && getCollective() != "all_gather")
    return emitOpError() << "unknown collective '" << getCollective()
                         << "' (known: all_reduce_sum, all_gather)";
  if (getInput().getType().getElementType() !=
      getOutput().getType().getElementType())
    return emitOpError() << "input and output element types differ";
  return success();
}
