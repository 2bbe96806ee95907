//===- KernelDialect.h - The kernel-level dialect ---------------*- C++ -*-===//
#ifndef SIMCLR_DIALECT_KERNEL_IR_KERNELDIALECT_H
#define SIMCLR_DIALECT_KERNEL_IR_KERNELDIALECT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Dialect.h"

#include "simclr/Dialect/Simclr/IR/SimclrDialect.h"

#include "simclr/Dialect/Kernel/IR/KernelDialect.h.inc"

namespace mlir::simclr_kernel {

/// Function attributes written by simclr-plan-memory.
constexpr llvm::StringLiteral kArenaBytesAttrName = "simclr_kernel.arena_bytes";
constexpr llvm::StringLiteral kSumOfIntermediatesAttrName =
    "simclr_kernel.sum_of_intermediates";
/// Result attribute naming what a program returns ("loss", "lr", "features").
constexpr llvm::StringLiteral kRoleAttrName = "simclr.role";

} // namespace mlir::simclr_kernel

#endif // SIMCLR_DIALECT_KERNEL_IR_KERNELDIALECT_H
