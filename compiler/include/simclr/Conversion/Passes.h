//===- Passes.h - Conversions between simclrc's levels -----------*- C++ -*-===//
#ifndef SIMCLR_CONVERSION_PASSES_H
#define SIMCLR_CONVERSION_PASSES_H

#include "mlir/Pass/Pass.h"
#include "simclr/Dialect/Kernel/IR/KernelDialect.h"

namespace mlir::simclr {

#define GEN_PASS_DECL
#include "simclr/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "simclr/Conversion/Passes.h.inc"

} // namespace mlir::simclr

#endif // SIMCLR_CONVERSION_PASSES_H
