//===- Fusion.h - Forming simclr.fusion ops, shared by the fuse passes -*- C++ -*-===//
#ifndef SIMCLR_DIALECT_SIMCLR_TRANSFORMS_FUSION_H
#define SIMCLR_DIALECT_SIMCLR_TRANSFORMS_FUSION_H

#include "simclr/Dialect/Simclr/IR/SimclrOps.h"

#include "mlir/IR/PatternMatch.h"

namespace mlir::simclr {

/// Replaces `ops`, all in one block and none inside a fusion, by one
/// simclr.fusion of `kind` named `<namePrefix>_<n>` (n the first number
/// free among the function's fusion names). The fusion takes every value
/// the ops read from outside the group, yields every result used outside
/// it, and sits where the last of the ops was; ops between the first and
/// the last that depend on the group move after it, in order. Fails, and
/// changes nothing, when that is impossible: the group reads a value that
/// depends on one of its own results (fusing would create a cycle). The
/// caller makes the group satisfy `kind`'s rules (FusionOp's verifier).
/// Outputs are in program order, except that `leadingOutputs` (group
/// results used outside it) come first, in the order given.
FailureOr<FusionOp> createFusion(RewriterBase &rewriter, ArrayRef<Operation *> ops,
                                 FusionKind kind, StringRef namePrefix,
                                 ArrayRef<Value> leadingOutputs = {});

/// The default name prefix of a fusion of `ops` (in block order): their op
/// names without the dialect, joined by '_', consecutive repeats dropped,
/// at most four parts.
std::string fusionNamePrefix(ArrayRef<Operation *> ops);

/// True if `value` is computed, within `group`'s block, from a result of
/// an op in `group` (so a fusion of `group` could not read it).
bool dependsOnGroup(Value value, const llvm::SmallPtrSetImpl<Operation *> &group);

} // namespace mlir::simclr

#endif // SIMCLR_DIALECT_SIMCLR_TRANSFORMS_FUSION_H
