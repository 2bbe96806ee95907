//===- CpuTarget.h - The CPU target ------------------------------*- C++ -*-===//
//
// x86-64 CPUs: kernels printed as C++ (CpuEmitter.cpp) that instantiate the
// OpenMP templates of lib/include/simclr/Kernels/Cpu, compiled by the host
// compiler for one x86-64 level into kernels.so; convolutions and matrix
// products are oneDNN calls of the runtime's CPU backend; activations in
// oneDNN's channel-blocked layout of that level.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_TARGET_CPU_CPUTARGET_H
#define SIMCLR_TARGET_CPU_CPUTARGET_H

#include "simclr/Target/Target.h"

namespace mlir::simclr_kernel {

/// The CPU target, or an error message for an unknown architecture.
std::unique_ptr<Target> createCpuTarget(const TargetOptions &options,
                                        std::string &error);

/// The CPU emitter: every kernel of `module` as one extern "C" function of
/// one translation unit. Fails, with an error at the kernel, for a
/// description it cannot print.
FailureOr<KernelSource> emitCpuKernels(ModuleOp module);

} // namespace mlir::simclr_kernel

#endif // SIMCLR_TARGET_CPU_CPUTARGET_H
