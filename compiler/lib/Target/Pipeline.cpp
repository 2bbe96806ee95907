//===- Pipeline.cpp - simclrc's pass pipeline, stage by stage -------------===//
#include "simclr/Target/Pipeline.h"

#include "simclr/Conversion/Passes.h"
#include "simclr/Dialect/Kernel/Transforms/Passes.h"
#include "simclr/Dialect/Simclr/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::simclr_kernel::addTrainStepPasses(OpPassManager &pm) {
  simclr::SimclrAutodiffOptions autodiff;
  autodiff.replaceSource = true;
  pm.addPass(simclr::createSimclrAutodiff(autodiff));
  pm.addPass(simclr::createSimclrBuildTrainStep());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mlir::simclr_kernel::addFusionPasses(OpPassManager &pm) {
  simclr::buildSimclrFusePipeline(pm);
}

void mlir::simclr_kernel::addKernelPasses(OpPassManager &pm, bool fused,
                                          const Target &target,
                                          const SimclrDataParallelOptions *dataParallel) {
  // Without fusion, linear still becomes a library matmul and a bias add.
  if (!fused)
    pm.addNestedPass<func::FuncOp>(simclr::createSimclrExpandLinear());
  pm.addPass(simclr::createSimclrLowerToKernels());
  if (dataParallel)
    pm.addPass(createSimclrDataParallel(*dataParallel));
  pm.addPass(createSimclrDescribeKernels());
  SimclrAssignLayoutsOptions layouts;
  layouts.layout = std::string(::simclr::layoutName(target.getActivationLayout()));
  pm.addPass(createSimclrAssignLayouts(layouts));
  target.addTargetPasses(pm);
  pm.addNestedPass<func::FuncOp>(createSimclrPlanMemory());
}
