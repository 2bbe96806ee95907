//===- CudaTarget.h - The CUDA target ----------------------------*- C++ -*-===//
//
// NVIDIA GPUs: kernels printed as CUDA C++ (CudaEmitter.cpp) that call the
// device templates of lib/include/simclr/Kernels/Cuda, compiled by NVRTC at
// simclrc time (no GPU needed) into a cubin for one architecture (sm_90 by
// default: H100, H200); convolutions and matrix products are cuDNN and
// cuBLASLt calls of the runtime's CUDA backend; activations channels-last
// (NHWC), the layout cuDNN's fastest engines take.
//
// A kernel runs as one or more launches ("phases") of one __global__
// function each, in order on one stream: a grid-wide reduction is partial
// sums in one launch and their combination in the next. The launches of
// each kernel come from the templates' own rule (Kernels/Cuda/Launch.h)
// and reach the runtime as attributes of the plan's kernel entries
// (Vocabulary.h, launch_attr).
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_TARGET_CUDA_CUDATARGET_H
#define SIMCLR_TARGET_CUDA_CUDATARGET_H

#include "simclr/Target/Target.h"

namespace mlir::simclr_kernel {

/// The CUDA target, or an error message for an unknown architecture.
std::unique_ptr<Target> createCudaTarget(const TargetOptions &options,
                                         std::string &error);

/// The CUDA emitter: every kernel of `module` as a device function and one
/// extern "C" __global__ function per launch, with the launches in
/// KernelSource::entryAttributes. Fails, with an error at the kernel, for
/// a description it cannot print or launch.
FailureOr<KernelSource> emitCudaKernels(ModuleOp module);

} // namespace mlir::simclr_kernel

#endif // SIMCLR_TARGET_CUDA_CUDATARGET_H
