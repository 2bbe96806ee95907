//===- simclr-opt.cpp - Runs simclr passes on .mlir files -----------------===//
//
// A thin MlirOptMain driver: the simclr dialect, every simclr pass and
// MLIR's generic transforms (cse, canonicalize, ...), for lit tests and IR
// experiments.
//
//===----------------------------------------------------------------------===//
#include "simclr/Conversion/Passes.h"
#include "simclr/Dialect/Kernel/IR/KernelDialect.h"
#include "simclr/Dialect/Kernel/Transforms/Passes.h"
#include "simclr/Target/Cpu/Passes.h"
#include "simclr/Dialect/Simclr/IR/SimclrDialect.h"
#include "simclr/Dialect/Simclr/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::simclr::SimclrDialect,
                  mlir::simclr_kernel::KernelDialect,
                  mlir::func::FuncDialect, mlir::memref::MemRefDialect>();
  mlir::registerTransformsPasses();
  mlir::simclr::registerSimclrPasses();
  mlir::simclr::registerSimclrConversionPasses();
  mlir::simclr_kernel::registerSimclrKernelPasses();
  mlir::simclr_kernel::registerSimclrCpuPasses();
  mlir::simclr::registerSimclrFusePipeline();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "simclr optimizer driver\n", registry));
}
