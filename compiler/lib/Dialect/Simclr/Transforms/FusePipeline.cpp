//===- FusePipeline.cpp - The simclr-fuse pass pipeline ------------------===//
//
// Order matters: nt_xent and the anchors take their neighbours first, so
// simclr-fuse-elementwise groups only what is left; the optimizer updates
// are independent of the rest; cse merges duplicates the expansion made
// (two broadcasts of one bias).
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::simclr::buildSimclrFusePipeline(OpPassManager &pm) {
  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  funcPm.addPass(createSimclrExpandLinear());
  funcPm.addPass(createSimclrFuseNtXent());
  funcPm.addPass(createSimclrFuseAnchored());
  funcPm.addPass(createSimclrFuseElementwise());
  funcPm.addPass(createSimclrFuseOptimizer());
  funcPm.addPass(createCSEPass());
}

void mlir::simclr::registerSimclrFusePipeline() {
  PassPipelineRegistration<>("simclr-fuse",
                             "Forms the fusions of the graph level: expand-linear, fuse-nt-xent, "
                             "fuse-anchored, fuse-elementwise, fuse-optimizer, cse",
                             buildSimclrFusePipeline);
}
