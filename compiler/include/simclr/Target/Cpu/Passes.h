//===- Passes.h - Passes of the CPU target ----------------------*- C++ -*-===//
#ifndef SIMCLR_TARGET_CPU_PASSES_H
#define SIMCLR_TARGET_CPU_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::simclr_kernel {

#define GEN_PASS_DECL
#include "simclr/Target/Cpu/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "simclr/Target/Cpu/Passes.h.inc"

} // namespace mlir::simclr_kernel

#endif // SIMCLR_TARGET_CPU_PASSES_H
