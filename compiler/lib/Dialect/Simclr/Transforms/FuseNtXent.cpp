//===- FuseNtXent.cpp - NT-Xent loss and gradient in one fusion -----------===//
//
// Implements `simclr-fuse-nt-xent`. For each nt_xent_backward:
//   1. its loss gradient must be a fill of 1.0 with no other use (the seed
//      simclr-autodiff plants for the loss);
//   2. an nt_xent in the same block reads the same embeddings with the same
//      temperature;
//   3. the three become one `nt_xent` fusion (createFusion checks that no
//      cycle results).
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Dialect/Simclr/Transforms/Fusion.h"
#include "simclr/Dialect/Simclr/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::simclr {
#define GEN_PASS_DEF_SIMCLRFUSENTXENT
#include "simclr/Dialect/Simclr/Transforms/Passes.h.inc"
} // namespace mlir::simclr

using namespace mlir;
using namespace mlir::simclr;

namespace {

/// The loss gradient seed this pass fuses: d loss / d loss.
constexpr double kSeedGradient = 1.0;

/// The nt_xent matching `gradient` in its block, or null.
NtXentOp findLoss(NtXentBackwardOp gradient) {
  for (Operation *user : gradient.getEmbeddings().getUsers())
    if (auto loss = dyn_cast<NtXentOp>(user))
      if (loss->getBlock() == gradient->getBlock() &&
          loss.getTemperature() == gradient.getTemperature())
        return loss;
  return nullptr;
}

struct SimclrFuseNtXentPass : mlir::simclr::impl::SimclrFuseNtXentBase<SimclrFuseNtXentPass> {
  void runOnOperation() override {
    SmallVector<NtXentBackwardOp> gradients;
    for (Operation &op : getOperation().getBody().getOps())
      if (auto gradient = dyn_cast<NtXentBackwardOp>(op))
        gradients.push_back(gradient);
    IRRewriter rewriter(&getContext());
    for (NtXentBackwardOp gradient : gradients) {
      auto seed = gradient.getGradLoss().getDefiningOp<FillOp>();
      if (!seed || seed.getValue().convertToDouble() != kSeedGradient ||
          !seed.getResult().hasOneUse() || seed->getBlock() != gradient->getBlock())
        continue;
      NtXentOp loss = findLoss(gradient);
      if (!loss)
        continue;
      if (succeeded(createFusion(rewriter, {loss, seed, gradient}, FusionKind::NtXent, "nt_xent")))
        ++numFused;
    }
  }
};

} // namespace
