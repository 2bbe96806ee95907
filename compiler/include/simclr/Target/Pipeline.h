//===- Pipeline.h - simclrc's pass pipeline, stage by stage ------*- C++ -*-===//
//
// One definition of the pipeline from the built graph to a planned kernel
// module, shared by simclrc (which stops after the stage --emit names) and
// the tests that compile a spec in-process.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_TARGET_PIPELINE_H
#define SIMCLR_TARGET_PIPELINE_H

#include "mlir/Pass/PassManager.h"
#include "simclr/Dialect/Kernel/Transforms/Passes.h"
#include "simclr/Target/Target.h"

namespace mlir::simclr_kernel {

/// simclr-autodiff (replacing @forward_loss), simclr-build-train-step,
/// canonicalize, cse: the graph with @train_step.
void addTrainStepPasses(OpPassManager &pm);

/// The simclr-fuse pipeline (expand-linear and the fusion passes).
void addFusionPasses(OpPassManager &pm);

/// From the (fused or not) train step to the planned kernel level:
/// simclr-expand-linear when not fused, simclr-lower-to-kernels,
/// simclr-data-parallel with `dataParallel`'s options when given,
/// simclr-describe-kernels,
/// simclr-assign-layouts with `target`'s preferred layout, the target's own
/// passes and simclr-plan-memory.
void addKernelPasses(OpPassManager &pm, bool fused, const Target &target,
                     const SimclrDataParallelOptions *dataParallel = nullptr);

} // namespace mlir::simclr_kernel

#endif // SIMCLR_TARGET_PIPELINE_H
