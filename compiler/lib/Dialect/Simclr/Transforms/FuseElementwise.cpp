//===- FuseElementwise.cpp - Chains of elementwise ops into one kernel ----===//
//
// Implements `simclr-fuse-elementwise`:
//   1. Walk the function's top-level ops backwards. Each elementwise op not
//      yet grouped roots a new group.
//   2. Grow the group through operands: a producer joins when it is
//      elementwise, at the top level, not yet grouped, every use of its
//      result is by a group op, and its tensors have the group's shape (or
//      are 0-D, or are a broadcast's input). A producer refused because one
//      of its users was not yet in the group is reconsidered when that user
//      joins (it is pushed again). Only the root may have outside users, so
//      no group op's value is both stored and recomputed, and no cycle can
//      form (a path leaving the group and re-entering it would leave from a
//      non-root op).
//   3. Groups of two or more ops become `elementwise` fusions.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Dialect/Simclr/Transforms/Fusion.h"
#include "simclr/Dialect/Simclr/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace mlir::simclr {
#define GEN_PASS_DEF_SIMCLRFUSEELEMENTWISE
#include "simclr/Dialect/Simclr/Transforms/Passes.h.inc"
} // namespace mlir::simclr

using namespace mlir;
using namespace mlir::simclr;

namespace {

/// The shape an elementwise group iterates over: the first non-0-D tensor
/// seen, which every later one must match (broadcast inputs excepted).
class IterationShape {
public:
  /// Adopts `op`'s tensors if they agree with the shape so far.
  bool accept(Operation *op) {
    std::optional<SmallVector<int64_t>> candidate = shape;
    auto fits = [&](Value value) {
      auto type = dyn_cast<RankedTensorType>(value.getType());
      if (!type)
        return false;
      if (type.getRank() == 0)
        return true;
      if (!candidate)
        candidate.emplace(type.getShape());
      return ArrayRef<int64_t>(*candidate) == type.getShape();
    };
    bool ok = llvm::all_of(op->getResults(), fits) &&
              (isa<BroadcastOp>(op) || llvm::all_of(op->getOperands(), fits));
    if (ok)
      shape = candidate;
    return ok;
  }

private:
  std::optional<SmallVector<int64_t>> shape;
};

struct SimclrFuseElementwisePass
    : mlir::simclr::impl::SimclrFuseElementwiseBase<SimclrFuseElementwisePass> {
  void runOnOperation() override {
    Block &block = getOperation().getBody().front();
    llvm::SmallPtrSet<Operation *, 32> grouped;
    SmallVector<SmallVector<Operation *>> groups;
    for (Operation &root : llvm::reverse(block)) {
      if (!root.hasTrait<ElementwiseOp>() || grouped.contains(&root))
        continue;
      SmallVector<Operation *> group = growGroup(&root, grouped);
      if (group.size() > 1)
        groups.push_back(std::move(group));
    }
    IRRewriter rewriter(&getContext());
    for (ArrayRef<Operation *> group : groups) {
      SmallVector<Operation *> ordered(group);
      llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
      if (succeeded(createFusion(rewriter, ordered, FusionKind::Elementwise,
                                 fusionNamePrefix(ordered))))
        ++numFused;
    }
  }

  /// Step 2 for the group rooted at `root`; marks its ops in `grouped`.
  SmallVector<Operation *> growGroup(Operation *root,
                                     llvm::SmallPtrSetImpl<Operation *> &grouped) {
    IterationShape shape;
    llvm::SmallPtrSet<Operation *, 16> members;
    SmallVector<Operation *> group;
    auto add = [&](Operation *op, SmallVectorImpl<Operation *> &worklist) {
      members.insert(op);
      grouped.insert(op);
      group.push_back(op);
      for (Value operand : op->getOperands())
        if (Operation *producer = operand.getDefiningOp())
          worklist.push_back(producer);
    };
    SmallVector<Operation *> worklist;
    if (!shape.accept(root))
      return {};
    add(root, worklist);
    while (!worklist.empty()) {
      Operation *producer = worklist.pop_back_val();
      if (producer->getBlock() != root->getBlock() || !producer->hasTrait<ElementwiseOp>() ||
          grouped.contains(producer))
        continue;
      bool usedOnlyInGroup = llvm::all_of(producer->getUsers(), [&](Operation *user) {
        return members.contains(user);
      });
      if (!usedOnlyInGroup || !shape.accept(producer))
        continue;
      add(producer, worklist);
    }
    return group;
  }
};

} // namespace
