//===- EmitCpp.h - Kernel definitions to C++ ---------------------*- C++ -*-===//
//
// The CPU emitter: every `simclr_kernel.kernel` of a module becomes one
// `extern "C" void NAME(void *const *operands)` function (the ABI of
// lib/include/simclr/Support/ArtifactPlan.h) whose body calls the inline,
// OpenMP-parallel templates of lib/include/simclr/Kernels/Cpu/ with the
// shapes as literals, and fuses elementwise prologues and epilogues into
// them as lambdas, so GCC inlines and vectorizes one loop nest per kernel.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_TARGET_CPU_EMITCPP_H
#define SIMCLR_TARGET_CPU_EMITCPP_H

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace mlir::simclr_kernel {

struct CppKernelLibrary {
  /// The whole translation unit.
  std::string source;
  /// A hash of the kernels' source, also returned by the library's
  /// simclr_kernel_library_fingerprint(); the plan records it.
  std::string fingerprint;
  /// Number of kernel functions emitted.
  int kernelCount = 0;
};

/// Emits every kernel of `module`. Fails, with an error at the op, for a
/// body the CPU emitter cannot express.
FailureOr<CppKernelLibrary> emitCppKernelLibrary(ModuleOp module);

} // namespace mlir::simclr_kernel

#endif // SIMCLR_TARGET_CPU_EMITCPP_H
