//===- ExpandLinear.cpp - simclr.linear into matmul and a bias add --------===//
//
// Implements `simclr-expand-linear`: linear(x, w, b) = x w^T + b becomes
//   1. matmul(x, w) {transpose_rhs} (w is M x K, nn.Linear's layout);
//   2. broadcast(b) to N x M, b's entries along the channel dimension 1;
//   3. add of the two (no bias: the matmul alone).
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Dialect/Simclr/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::simclr {
#define GEN_PASS_DEF_SIMCLREXPANDLINEAR
#include "simclr/Dialect/Simclr/Transforms/Passes.h.inc"
} // namespace mlir::simclr

using namespace mlir;
using namespace mlir::simclr;

namespace {

struct ExpandLinearPattern : OpRewritePattern<LinearOp> {
  ExpandLinearPattern(MLIRContext *context, llvm::Statistic *counter)
      : OpRewritePattern(context), counter(counter) {}

  LogicalResult matchAndRewrite(LinearOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value product = rewriter.create<MatmulOp>(loc, op.getInput(), op.getWeight(),
                                              /*transpose_lhs=*/false, /*transpose_rhs=*/true);
    if (Value bias = op.getBias()) {
      Value spread = rewriter.create<BroadcastOp>(loc, op.getType(), bias);
      product = rewriter.create<AddOp>(loc, product, spread);
    }
    rewriter.replaceOp(op, product);
    if (counter)
      ++*counter;
    return success();
  }

  llvm::Statistic *counter;
};

struct SimclrExpandLinearPass
    : mlir::simclr::impl::SimclrExpandLinearBase<SimclrExpandLinearPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandLinearPattern>(&getContext(), &numExpanded);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
