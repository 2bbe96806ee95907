//===- FuseOptimizer.cpp - Every parameter update in one kernel -----------===//
//
// Implements `simclr-fuse-optimizer`:
//   1. Key each top-level update op (adamw_update, sgd_update, lars_update)
//      by its op name, its learning-rate (and step) operands and its
//      attributes without the per-tensor ones (weight_decay,
//      layer_adaptation): updates with one key can share one kernel.
//   2. Each key with two or more updates becomes one `optimizer` fusion at
//      the position of its last update; createFusion moves ops that use an
//      earlier update's results after the fusion, and refuses (the updates
//      stay) if an update reads a value computed from another's results.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Dialect/Simclr/Transforms/Fusion.h"
#include "simclr/Dialect/Simclr/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::simclr {
#define GEN_PASS_DEF_SIMCLRFUSEOPTIMIZER
#include "simclr/Dialect/Simclr/Transforms/Passes.h.inc"
} // namespace mlir::simclr

using namespace mlir;
using namespace mlir::simclr;

namespace {

/// Hyperparameters that may differ between tensors of one optimizer kernel,
/// as FusionOp's `optimizer` kind allows.
constexpr StringLiteral kPerTensorAttrs[] = {"weight_decay", "layer_adaptation"};

/// What updates of one optimizer kernel must share: the op, lr, step (null
/// for SGD and LARS) and the attributes other than the per-tensor ones.
std::optional<std::tuple<Operation *, Value, Value, DictionaryAttr>> keyOf(Operation *op) {
  auto scalars = llvm::TypeSwitch<Operation *, std::optional<std::pair<Value, Value>>>(op)
                     .Case([](AdamWUpdateOp o) {
                       return std::make_pair(o.getLr(), o.getStep());
                     })
                     .Case<SgdUpdateOp, LarsUpdateOp>([](auto o) {
                       return std::make_pair(o.getLr(), Value());
                     })
                     .Default([](Operation *) { return std::nullopt; });
  if (!scalars)
    return std::nullopt;
  NamedAttrList attrs(op->getAttrDictionary());
  for (StringRef name : kPerTensorAttrs)
    attrs.erase(name);
  return std::make_tuple(op, scalars->first, scalars->second,
                         attrs.getDictionary(op->getContext()));
}

struct SimclrFuseOptimizerPass
    : mlir::simclr::impl::SimclrFuseOptimizerBase<SimclrFuseOptimizerPass> {
  void runOnOperation() override {
    // Keyed by (op name, lr, step, shared attributes), in first-seen order.
    using Key = std::tuple<const void *, const void *, const void *, const void *>;
    llvm::MapVector<Key, SmallVector<Operation *>> groups;
    for (Operation &op : getOperation().getBody().getOps()) {
      auto key = keyOf(&op);
      if (!key)
        continue;
      auto [update, lr, step, shared] = *key;
      groups[Key{update->getName().getAsOpaquePointer(), lr.getAsOpaquePointer(),
                 step.getAsOpaquePointer(), shared.getAsOpaquePointer()}]
          .push_back(update);
    }
    IRRewriter rewriter(&getContext());
    for (auto &[key, updates] : groups) {
      if (updates.size() < 2)
        continue;
      if (succeeded(createFusion(rewriter, updates, FusionKind::Optimizer,
                                 updates.front()->getName().stripDialect()))) {
        ++numFused;
        numUpdates += updates.size();
      }
    }
  }
};

} // namespace
