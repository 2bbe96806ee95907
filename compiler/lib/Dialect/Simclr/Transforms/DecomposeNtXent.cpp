//===- DecomposeNtXent.cpp - simclr.nt_xent into primitives ---------------===//
//
// Implements `simclr-decompose-nt-xent`. The rewrite follows the op's
// definition term by term:
//   1. u = l2_normalize(z) with torch's epsilon 1e-12;
//   2. s = u u^T (matmul with transpose_rhs);
//   3. l = masked_scaled_log_softmax(s, 1 / temperature), diagonal excluded;
//   4. p = gather_positives(l), each anchor's sibling-view entry;
//   5. loss = -reduce_mean(p).
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Dialect/Simclr/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::simclr {
#define GEN_PASS_DEF_SIMCLRDECOMPOSENTXENT
#include "simclr/Dialect/Simclr/Transforms/Passes.h.inc"
} // namespace mlir::simclr

using namespace mlir;
using namespace mlir::simclr;

namespace {

/// torch.nn.functional.normalize's default epsilon, which nt_xent's
/// definition uses.
constexpr double kNormalizeEpsilon = 1e-12;

struct DecomposeNtXentPattern : OpRewritePattern<NtXentOp> {
  DecomposeNtXentPattern(MLIRContext *context, llvm::Statistic *counter)
      : OpRewritePattern(context), counter(counter) {}

  LogicalResult matchAndRewrite(NtXentOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value z = op.getEmbeddings();
    Value unit = rewriter.create<L2NormalizeOp>(
        loc, z, rewriter.getF64FloatAttr(kNormalizeEpsilon));
    Value similarity = rewriter.create<MatmulOp>(
        loc, unit, unit, /*transpose_lhs=*/false, /*transpose_rhs=*/true);
    double scale = 1.0 / op.getTemperature().convertToDouble();
    Value logProbabilities = rewriter.create<MaskedScaledLogSoftmaxOp>(
        loc, similarity, rewriter.getF64FloatAttr(scale));
    Value positives = rewriter.create<GatherPositivesOp>(loc, logProbabilities);
    Value mean = rewriter.create<ReduceMeanOp>(loc, positives);
    rewriter.replaceOpWithNewOp<ScaleOp>(op, mean, rewriter.getF64FloatAttr(-1.0));
    if (counter)
      ++*counter;
    return success();
  }

  llvm::Statistic *counter;
};

struct SimclrDecomposeNtXentPass
    : mlir::simclr::impl::SimclrDecomposeNtXentBase<SimclrDecomposeNtXentPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<DecomposeNtXentPattern>(&getContext(), &numDecomposed);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::simclr::populateDecomposeNtXentPatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeNtXentPattern>(patterns.getContext(), nullptr);
}
