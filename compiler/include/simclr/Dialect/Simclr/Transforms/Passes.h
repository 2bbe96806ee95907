//===- Passes.h - Passes on the simclr graph dialect -------------*- C++ -*-===//
#ifndef SIMCLR_DIALECT_SIMCLR_TRANSFORMS_PASSES_H
#define SIMCLR_DIALECT_SIMCLR_TRANSFORMS_PASSES_H

#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace mlir::simclr {

#define GEN_PASS_DECL
#include "simclr/Dialect/Simclr/Transforms/Passes.h.inc"

/// Adds the pattern rewriting simclr.nt_xent into its primitives.
void populateDecomposeNtXentPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "simclr/Dialect/Simclr/Transforms/Passes.h.inc"

} // namespace mlir::simclr

#endif // SIMCLR_DIALECT_SIMCLR_TRANSFORMS_PASSES_H
