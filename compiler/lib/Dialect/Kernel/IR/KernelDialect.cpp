//===- KernelDialect.cpp - The kernel-level dialect -----------------------===//
#include "simclr/Dialect/Kernel/IR/KernelDialect.h"
#include "simclr/Dialect/Kernel/IR/KernelOps.h"

using namespace mlir;
using namespace mlir::simclr_kernel;

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include "simclr/Dialect/Kernel/IR/KernelDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "simclr/Dialect/Kernel/IR/KernelAttrs.cpp.inc"

void KernelDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "simclr/Dialect/Kernel/IR/KernelAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "simclr/Dialect/Kernel/IR/KernelOps.cpp.inc"
      >();
}
