//===- SimclrTypes.h - Types of the simclr dialect ---------------*- C++ -*-===//
#ifndef SIMCLR_DIALECT_SIMCLR_IR_SIMCLRTYPES_H
#define SIMCLR_DIALECT_SIMCLR_IR_SIMCLRTYPES_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Types.h"

#define GET_TYPEDEF_CLASSES
#include "simclr/Dialect/Simclr/IR/SimclrTypes.h.inc"

#endif // SIMCLR_DIALECT_SIMCLR_IR_SIMCLRTYPES_H
