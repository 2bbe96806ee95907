//===- SimclrOps.h - Ops of the simclr dialect -------------------*- C++ -*-===//
#ifndef SIMCLR_DIALECT_SIMCLR_IR_SIMCLROPS_H
#define SIMCLR_DIALECT_SIMCLR_IR_SIMCLROPS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "simclr/Dialect/Simclr/IR/SimclrDialect.h"
#include "simclr/Dialect/Simclr/IR/SimclrInterfaces.h"
#include "simclr/Dialect/Simclr/IR/SimclrTypes.h"

#define GET_OP_CLASSES
#include "simclr/Dialect/Simclr/IR/SimclrOps.h.inc"

#endif // SIMCLR_DIALECT_SIMCLR_IR_SIMCLROPS_H
