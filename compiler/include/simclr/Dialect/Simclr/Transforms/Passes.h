//===- Passes.h - Passes on the simclr graph dialect -------------*- C++ -*-===//
#ifndef SIMCLR_DIALECT_SIMCLR_TRANSFORMS_PASSES_H
#define SIMCLR_DIALECT_SIMCLR_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace mlir::simclr {

#define GEN_PASS_DECL
#include "simclr/Dialect/Simclr/Transforms/Passes.h.inc"

/// Adds to `source`'s module a function named `gradientName` that returns
/// source's results followed by the gradient of its loss with respect to
/// each parameter argument (see the simclr-autodiff pass). Counts built
/// adjoints in `adjointCounter` when given. Errors are emitted at the
/// function or the op that cannot be differentiated.
FailureOr<func::FuncOp> differentiateFunction(func::FuncOp source,
                                              StringRef gradientName,
                                              llvm::Statistic *adjointCounter = nullptr);

/// Adds the pattern rewriting simclr.nt_xent into its primitives.
void populateDecomposeNtXentPatterns(RewritePatternSet &patterns);

/// Adds simclr-fuse (expand-linear, fuse-nt-xent, fuse-anchored,
/// fuse-elementwise, fuse-optimizer, cse) on every func.func nested in the
/// operation `pm` runs on (a module).
void buildSimclrFusePipeline(OpPassManager &pm);

/// Registers the simclr-fuse pipeline for textual pass pipelines.
void registerSimclrFusePipeline();

#define GEN_PASS_REGISTRATION
#include "simclr/Dialect/Simclr/Transforms/Passes.h.inc"

} // namespace mlir::simclr

#endif // SIMCLR_DIALECT_SIMCLR_TRANSFORMS_PASSES_H
