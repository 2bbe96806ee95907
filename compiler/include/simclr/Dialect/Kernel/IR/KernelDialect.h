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
/// Function attribute written by simclr-plan-memory: bytes of the gathered
/// block per replica (allocs marked kGatheredAttrName).
constexpr llvm::StringLiteral kGatheredBytesAttrName =
    "simclr_kernel.gathered_bytes";
/// Unit attribute of a simclr_kernel.alloc holding one copy of its type per
/// replica (an all_gather's output; plan region "gathered").
constexpr llvm::StringLiteral kGatheredAttrName = "gathered";
/// I64 attribute of an nt_xent kernel working on gathered projections: the
/// index of its input holding the replica count (an i64 scalar); dimension
/// 0 of its embeddings and their gradient is that many times the static
/// one (simclr-data-parallel).
constexpr llvm::StringLiteral kReplicasOperandAttrName = "replicas_operand";
/// Result attribute naming what a program returns ("loss", "lr", "features").
constexpr llvm::StringLiteral kRoleAttrName = "simclr.role";

} // namespace mlir::simclr_kernel

#endif // SIMCLR_DIALECT_KERNEL_IR_KERNELDIALECT_H
