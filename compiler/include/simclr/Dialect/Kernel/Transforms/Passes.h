//===- Passes.h - Passes on the kernel-level dialect -------------*- C++ -*-===//
#ifndef SIMCLR_DIALECT_KERNEL_TRANSFORMS_PASSES_H
#define SIMCLR_DIALECT_KERNEL_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"
#include "simclr/Dialect/Kernel/IR/KernelDialect.h"

namespace mlir::simclr_kernel {

#define GEN_PASS_DECL
#include "simclr/Dialect/Kernel/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "simclr/Dialect/Kernel/Transforms/Passes.h.inc"

} // namespace mlir::simclr_kernel

#endif // SIMCLR_DIALECT_KERNEL_TRANSFORMS_PASSES_H
