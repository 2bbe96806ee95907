//===- KernelOps.h - Kernel-level ops ---------------------------*- C++ -*-===//
#ifndef SIMCLR_DIALECT_KERNEL_IR_KERNELOPS_H
#define SIMCLR_DIALECT_KERNEL_IR_KERNELOPS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "simclr/Dialect/Kernel/IR/KernelDialect.h"
#include "simclr/Support/DType.h"
#include "simclr/Support/Vocabulary.h"

#define GET_ATTRDEF_CLASSES
#include "simclr/Dialect/Kernel/IR/KernelAttrs.h.inc"

#define GET_OP_CLASSES
#include "simclr/Dialect/Kernel/IR/KernelOps.h.inc"

namespace mlir::simclr_kernel {

/// The layout of a buffer type: its #simclr_kernel.layout, else plain.
::simclr::Layout getBufferLayout(MemRefType type);
/// `type` with `layout` (no layout attribute for plain).
MemRefType withLayout(MemRefType type, ::simclr::Layout layout);
/// The element type of a tensor or buffer as the artifact's DType; failure
/// for element types simclrc has no DType for.
FailureOr<::simclr::DType> getDType(Type shapedOrElement);
/// Bytes of a static buffer: elements x element size.
int64_t getBufferBytes(MemRefType type);

} // namespace mlir::simclr_kernel

#endif // SIMCLR_DIALECT_KERNEL_IR_KERNELOPS_H
