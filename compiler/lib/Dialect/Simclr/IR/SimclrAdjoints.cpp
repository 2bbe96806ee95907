//===- SimclrAdjoints.cpp - Reverse-mode adjoints of simclr ops -----------===//
//
// DifferentiableOpInterface for every op simclr-autodiff can propagate
// through. Each buildAdjoint receives the loss gradient of each result (null
// where none flows) and appends one gradient per operand (null for operands
// that carry none). The formulas are those of the ops' ODS descriptions; the
// backward ops they create are checked against float64 finite differences in
// lib/Reference's tests and through the executor in test/unit/autodiff.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"

using namespace mlir;
using namespace mlir::simclr;

namespace {

/// Appends `grads` to `operandGradients` (one entry per operand).
LogicalResult yieldGradients(SmallVectorImpl<Value> &operandGradients,
                             ArrayRef<Value> grads) {
  operandGradients.append(grads.begin(), grads.end());
  return success();
}

/// For ops with a single result: its gradient, or null.
Value singleResultGradient(ValueRange resultGradients) {
  return resultGradients.empty() ? Value() : resultGradients.front();
}

/// Null gradients for every operand: the op's result received none.
LogicalResult noGradients(Operation *op, SmallVectorImpl<Value> &operandGradients) {
  operandGradients.append(op->getNumOperands(), Value());
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Encoder
//===----------------------------------------------------------------------===//

bool Conv2DOp::isDifferentiableOperand(unsigned index) { return true; }

LogicalResult Conv2DOp::buildAdjoint(OpBuilder &builder, ValueRange resultGradients,
                                     SmallVectorImpl<Value> &operandGradients) {
  Value grad = singleResultGradient(resultGradients);
  if (!grad)
    return noGradients(*this, operandGradients);
  Location loc = getLoc();
  Value gradInput = builder.create<Conv2DBackwardInputOp>(
      loc, getInput().getType(), grad, getFilter(), getStrideAttr(), getPaddingAttr(),
      getDilationAttr(), getGroupsAttr());
  Value gradFilter = builder.create<Conv2DBackwardFilterOp>(
      loc, getFilter().getType(), grad, getInput(), getStrideAttr(), getPaddingAttr(),
      getDilationAttr(), getGroupsAttr());
  SmallVector<Value, 3> grads = {gradInput, gradFilter};
  if (getBias())
    grads.push_back(builder.create<SumToChannelsOp>(loc, grad));
  return yieldGradients(operandGradients, grads);
}

bool BatchNormTrainOp::isDifferentiableOperand(unsigned index) { return true; }

LogicalResult BatchNormTrainOp::buildAdjoint(OpBuilder &builder, ValueRange resultGradients,
                                             SmallVectorImpl<Value> &operandGradients) {
  // The batch statistics only feed the running averages, which are not part
  // of the loss; a gradient arriving on them means the graph uses them in
  // the loss, which this adjoint does not cover.
  if (resultGradients[1] || resultGradients[2])
    return emitOpError() << "cannot differentiate through batch_mean or batch_var; "
                            "only the normalized output may reach the loss";
  Value grad = resultGradients[0];
  if (!grad)
    return noGradients(*this, operandGradients);
  auto backward = builder.create<BatchNormTrainBackwardOp>(
      getLoc(), grad, getInput(), getScale(), getBatchMean(), getBatchVar(),
      getEpsilonAttr());
  return yieldGradients(operandGradients, {backward.getGradInput(),
                                           backward.getGradScale(),
                                           backward.getGradShift()});
}

bool ReluOp::isDifferentiableOperand(unsigned index) { return true; }

LogicalResult ReluOp::buildAdjoint(OpBuilder &builder, ValueRange resultGradients,
                                   SmallVectorImpl<Value> &operandGradients) {
  Value grad = singleResultGradient(resultGradients);
  if (!grad)
    return noGradients(*this, operandGradients);
  return yieldGradients(operandGradients,
                        {builder.create<ReluBackwardOp>(getLoc(), grad, getResult())});
}

bool AddOp::isDifferentiableOperand(unsigned index) { return true; }

LogicalResult AddOp::buildAdjoint(OpBuilder &builder, ValueRange resultGradients,
                                  SmallVectorImpl<Value> &operandGradients) {
  Value grad = singleResultGradient(resultGradients);
  return yieldGradients(operandGradients, {grad, grad});
}

bool MaxPool2DOp::isDifferentiableOperand(unsigned index) { return true; }

LogicalResult MaxPool2DOp::buildAdjoint(OpBuilder &builder, ValueRange resultGradients,
                                        SmallVectorImpl<Value> &operandGradients) {
  Value grad = singleResultGradient(resultGradients);
  if (!grad)
    return noGradients(*this, operandGradients);
  return yieldGradients(operandGradients,
                        {builder.create<MaxPool2DBackwardOp>(getLoc(), grad, getInput(),
                                                             getKernelAttr(), getStrideAttr(),
                                                             getPaddingAttr())});
}

bool GlobalAvgPoolOp::isDifferentiableOperand(unsigned index) { return true; }

LogicalResult GlobalAvgPoolOp::buildAdjoint(OpBuilder &builder, ValueRange resultGradients,
                                            SmallVectorImpl<Value> &operandGradients) {
  Value grad = singleResultGradient(resultGradients);
  if (!grad)
    return noGradients(*this, operandGradients);
  return yieldGradients(operandGradients,
                        {builder.create<GlobalAvgPoolBackwardOp>(
                            getLoc(), getInput().getType(), grad)});
}

bool LinearOp::isDifferentiableOperand(unsigned index) { return true; }

LogicalResult LinearOp::buildAdjoint(OpBuilder &builder, ValueRange resultGradients,
                                     SmallVectorImpl<Value> &operandGradients) {
  Value grad = singleResultGradient(resultGradients);
  if (!grad)
    return noGradients(*this, operandGradients);
  Location loc = getLoc();
  // y = x W^T + b: dx = dy W (N x M . M x K), dW = dy^T x (M x N . N x K).
  Value gradInput = builder.create<MatmulOp>(loc, grad, getWeight(),
                                             /*transpose_lhs=*/false,
                                             /*transpose_rhs=*/false);
  Value gradWeight = builder.create<MatmulOp>(loc, grad, getInput(),
                                              /*transpose_lhs=*/true,
                                              /*transpose_rhs=*/false);
  SmallVector<Value, 3> grads = {gradInput, gradWeight};
  if (getBias())
    grads.push_back(builder.create<SumToChannelsOp>(loc, grad));
  return yieldGradients(operandGradients, grads);
}

bool ReshapeOp::isDifferentiableOperand(unsigned index) { return true; }

LogicalResult ReshapeOp::buildAdjoint(OpBuilder &builder, ValueRange resultGradients,
                                      SmallVectorImpl<Value> &operandGradients) {
  Value grad = singleResultGradient(resultGradients);
  if (!grad)
    return noGradients(*this, operandGradients);
  return yieldGradients(operandGradients, {builder.create<ReshapeOp>(
                                              getLoc(), getInput().getType(), grad)});
}

bool ConcatOp::isDifferentiableOperand(unsigned index) { return true; }

LogicalResult ConcatOp::buildAdjoint(OpBuilder &builder, ValueRange resultGradients,
                                     SmallVectorImpl<Value> &operandGradients) {
  Value grad = singleResultGradient(resultGradients);
  if (!grad)
    return noGradients(*this, operandGradients);
  int64_t dim = getDimAttr().getInt(), offset = 0;
  for (Value input : getInputs()) {
    auto type = cast<RankedTensorType>(input.getType());
    operandGradients.push_back(builder.create<SliceOp>(
        getLoc(), type, grad, getDimAttr(), builder.getI64IntegerAttr(offset)));
    offset += type.getDimSize(dim);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Projection head and loss
//===----------------------------------------------------------------------===//

bool L2NormalizeOp::isDifferentiableOperand(unsigned index) { return true; }

LogicalResult L2NormalizeOp::buildAdjoint(OpBuilder &builder, ValueRange resultGradients,
                                          SmallVectorImpl<Value> &operandGradients) {
  Value grad = singleResultGradient(resultGradients);
  if (!grad)
    return noGradients(*this, operandGradients);
  return yieldGradients(operandGradients,
                        {builder.create<L2NormalizeBackwardOp>(getLoc(), grad, getInput(),
                                                               getEpsilonAttr())});
}

bool NtXentOp::isDifferentiableOperand(unsigned index) { return true; }

LogicalResult NtXentOp::buildAdjoint(OpBuilder &builder, ValueRange resultGradients,
                                     SmallVectorImpl<Value> &operandGradients) {
  Value grad = singleResultGradient(resultGradients);
  if (!grad)
    return noGradients(*this, operandGradients);
  return yieldGradients(operandGradients,
                        {builder.create<NtXentBackwardOp>(getLoc(), grad, getEmbeddings(),
                                                          getTemperatureAttr())});
}

bool MatmulOp::isDifferentiableOperand(unsigned index) { return true; }

LogicalResult MatmulOp::buildAdjoint(OpBuilder &builder, ValueRange resultGradients,
                                     SmallVectorImpl<Value> &operandGradients) {
  Value grad = singleResultGradient(resultGradients);
  if (!grad)
    return noGradients(*this, operandGradients);
  // C = A' B' with A' = op(A), B' = op(B): dA' = dC B'^T and dB' = A'^T dC,
  // transposed back where the operand itself was transposed.
  Location loc = getLoc();
  bool tA = getTransposeLhs(), tB = getTransposeRhs();
  Value a = getLhs(), b = getRhs();
  Value gradLhs = tA ? builder.create<MatmulOp>(loc, b, grad, tB, true)
                     : builder.create<MatmulOp>(loc, grad, b, false, !tB);
  Value gradRhs = tB ? builder.create<MatmulOp>(loc, grad, a, true, tA)
                     : builder.create<MatmulOp>(loc, a, grad, !tA, false);
  return yieldGradients(operandGradients, {gradLhs, gradRhs});
}

bool MaskedScaledLogSoftmaxOp::isDifferentiableOperand(unsigned index) { return true; }

LogicalResult MaskedScaledLogSoftmaxOp::buildAdjoint(
    OpBuilder &builder, ValueRange resultGradients, SmallVectorImpl<Value> &operandGradients) {
  Value grad = singleResultGradient(resultGradients);
  if (!grad)
    return noGradients(*this, operandGradients);
  return yieldGradients(operandGradients,
                        {builder.create<MaskedScaledLogSoftmaxBackwardOp>(
                            getLoc(), grad, getResult(), getScaleAttr())});
}

bool GatherPositivesOp::isDifferentiableOperand(unsigned index) { return true; }

LogicalResult GatherPositivesOp::buildAdjoint(OpBuilder &builder, ValueRange resultGradients,
                                              SmallVectorImpl<Value> &operandGradients) {
  Value grad = singleResultGradient(resultGradients);
  if (!grad)
    return noGradients(*this, operandGradients);
  return yieldGradients(operandGradients,
                        {builder.create<GatherPositivesBackwardOp>(getLoc(), grad)});
}

bool ReduceMeanOp::isDifferentiableOperand(unsigned index) { return true; }

LogicalResult ReduceMeanOp::buildAdjoint(OpBuilder &builder, ValueRange resultGradients,
                                         SmallVectorImpl<Value> &operandGradients) {
  Value grad = singleResultGradient(resultGradients);
  if (!grad)
    return noGradients(*this, operandGradients);
  auto type = cast<RankedTensorType>(getInput().getType());
  Value spread = builder.create<BroadcastOp>(getLoc(), type, grad);
  return yieldGradients(operandGradients,
                        {builder.create<ScaleOp>(getLoc(), spread,
                                                 builder.getF64FloatAttr(
                                                     1.0 / type.getNumElements()))});
}

bool ScaleOp::isDifferentiableOperand(unsigned index) { return true; }

LogicalResult ScaleOp::buildAdjoint(OpBuilder &builder, ValueRange resultGradients,
                                    SmallVectorImpl<Value> &operandGradients) {
  Value grad = singleResultGradient(resultGradients);
  if (!grad)
    return noGradients(*this, operandGradients);
  return yieldGradients(operandGradients,
                        {builder.create<ScaleOp>(getLoc(), grad, getFactorAttr())});
}
