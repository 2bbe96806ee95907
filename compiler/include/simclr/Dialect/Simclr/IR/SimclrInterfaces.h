//===- SimclrInterfaces.h - Interfaces of the simclr dialect -----*- C++ -*-===//
#ifndef SIMCLR_DIALECT_SIMCLR_IR_SIMCLRINTERFACES_H
#define SIMCLR_DIALECT_SIMCLR_IR_SIMCLRINTERFACES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"
#include "llvm/ADT/SmallVector.h"

#include "simclr/Dialect/Simclr/IR/SimclrInterfaces.h.inc"

#endif // SIMCLR_DIALECT_SIMCLR_IR_SIMCLRINTERFACES_H
