//===- FuseAnchored.cpp - Reductions with their elementwise neighbours ----===//
//
// Implements `simclr-fuse-anchored`. For each anchor op at the top level of
// the function, in program order:
//   1. Prologue: from the producer of operand 0, walk producers backwards,
//      taking an op when it is elementwise, in the same block, has exactly
//      one use (by the anchor's operand 0 or an op already taken) and only
//      tensors of operand 0's shape (0-D and broadcast inputs excepted).
//      Single use makes it a tree whose values nothing else reads.
//   2. Epilogue: from result 0, follow the chain while the value has exactly
//      one use, by an elementwise op of result 0's shape whose other
//      operands neither come from the group nor depend on it (they become
//      fusion inputs).
//   3. With a prologue or an epilogue, replace the group by an `anchored`
//      fusion. Ops fused here are inside a fusion afterwards, so later
//      anchors cannot take them again.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Dialect/Simclr/Transforms/Fusion.h"
#include "simclr/Dialect/Simclr/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace mlir::simclr {
#define GEN_PASS_DEF_SIMCLRFUSEANCHORED
#include "simclr/Dialect/Simclr/Transforms/Passes.h.inc"
} // namespace mlir::simclr

using namespace mlir;
using namespace mlir::simclr;

namespace {

bool isAnchor(Operation *op) {
  return isa<BatchNormTrainOp, BatchNormInferenceOp, BatchNormTrainBackwardOp, GlobalAvgPoolOp,
             GlobalAvgPoolBackwardOp, SumToChannelsOp, NormalizeOp>(op);
}

/// True if every tensor `op` reads or writes (broadcast's input excepted)
/// is 0-D or has `shape`: the condition FusionOp's verifier states.
bool hasElementShape(Operation *op, ArrayRef<int64_t> shape) {
  auto fits = [&](Value value) {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    return type && (type.getRank() == 0 || type.getShape() == shape);
  };
  return (isa<BroadcastOp>(op) || llvm::all_of(op->getOperands(), fits)) &&
         llvm::all_of(op->getResults(), fits);
}

/// An elementwise op at the top level of `block`.
bool isFusableElementwise(Operation *op, Block *block) {
  return op && op->getBlock() == block && op->hasTrait<ElementwiseOp>();
}

struct SimclrFuseAnchoredPass
    : mlir::simclr::impl::SimclrFuseAnchoredBase<SimclrFuseAnchoredPass> {
  void runOnOperation() override {
    SmallVector<Operation *> anchors;
    for (Operation &op : getOperation().getBody().getOps())
      if (isAnchor(&op))
        anchors.push_back(&op);
    IRRewriter rewriter(&getContext());
    for (Operation *anchor : anchors)
      if (succeeded(fuseAround(rewriter, anchor)))
        ++numFused;
  }

  LogicalResult fuseAround(RewriterBase &rewriter, Operation *anchor) {
    Block *block = anchor->getBlock();
    llvm::SmallPtrSet<Operation *, 8> group;
    group.insert(anchor);
    SmallVector<Operation *> ops{anchor};

    // 1. Prologue.
    Value input = anchor->getOperand(0);
    ArrayRef<int64_t> inputShape = cast<RankedTensorType>(input.getType()).getShape();
    SmallVector<Value> worklist{input};
    while (!worklist.empty()) {
      Value value = worklist.pop_back_val();
      Operation *producer = value.getDefiningOp();
      if (!isFusableElementwise(producer, block) || !value.hasOneUse() ||
          group.contains(producer) || !hasElementShape(producer, inputShape))
        continue;
      group.insert(producer);
      ops.push_back(producer);
      llvm::append_range(worklist, producer->getOperands());
    }

    // 2. Epilogue.
    Value chain = anchor->getResult(0);
    ArrayRef<int64_t> outputShape = cast<RankedTensorType>(chain.getType()).getShape();
    while (chain.hasOneUse()) {
      Operation *next = *chain.getUsers().begin();
      if (!isFusableElementwise(next, block) || !hasElementShape(next, outputShape))
        break;
      bool independent = llvm::all_of(next->getOperands(), [&](Value operand) {
        return operand == chain ||
               (!group.contains(operand.getDefiningOp()) && !dependsOnGroup(operand, group));
      });
      if (!independent)
        break;
      group.insert(next);
      ops.push_back(next);
      chain = next->getResult(0);
    }
    if (ops.size() == 1)
      return failure();

    // 3. The fusion, named after its ops in program order.
    SmallVector<Operation *> ordered(ops);
    llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    // The value stored in place of result 0 comes first, as result 0 did.
    SmallVector<Value, 1> leading;
    if (!chain.use_empty())
      leading.push_back(chain);
    return createFusion(rewriter, ops, FusionKind::Anchored, fusionNamePrefix(ordered), leading);
  }
};

} // namespace
