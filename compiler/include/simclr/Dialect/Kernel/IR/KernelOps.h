//===- KernelOps.h - Kernel-level ops ---------------------------*- C++ -*-===//
#ifndef SIMCLR_DIALECT_KERNEL_IR_KERNELOPS_H
#define SIMCLR_DIALECT_KERNEL_IR_KERNELOPS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "simclr/Dialect/Kernel/IR/KernelDialect.h"

#define GET_OP_CLASSES
#include "simclr/Dialect/Kernel/IR/KernelOps.h.inc"

#endif // SIMCLR_DIALECT_KERNEL_IR_KERNELOPS_H
