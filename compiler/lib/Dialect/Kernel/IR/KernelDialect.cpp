//===- KernelDialect.cpp - The kernel-level dialect -----------------------===//
#include "simclr/Dialect/Kernel/IR/KernelDialect.h"
#include "simclr/Dialect/Kernel/IR/KernelOps.h"

using namespace mlir;
using namespace mlir::simclr_kernel;

#include "simclr/Dialect/Kernel/IR/KernelDialect.cpp.inc"

void KernelDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "simclr/Dialect/Kernel/IR/KernelOps.cpp.inc"
      >();
}
