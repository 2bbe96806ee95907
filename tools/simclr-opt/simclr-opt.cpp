//===- simclr-opt.cpp - Runs simclr passes on .mlir files -----------------===//
//
// A thin MlirOptMain driver: the simclr dialect, every simclr pass and
// MLIR's generic transforms (cse, canonicalize, ...), for lit tests and IR
// experiments.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/IR/SimclrDialect.h"
#include "simclr/Dialect/Simclr/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::simclr::SimclrDialect, mlir::func::FuncDialect>();
  mlir::registerTransformsPasses();
  mlir::simclr::registerSimclrPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "simclr optimizer driver\n", registry));
}
