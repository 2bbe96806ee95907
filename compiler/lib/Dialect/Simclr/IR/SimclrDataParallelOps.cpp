//===- SimclrDataParallelOps.cpp - Verifiers of the synchronized BN ops ---===//
//
// Result-type inference and verifiers of the ops of
// SimclrDataParallelOps.td, with SimclrOps.cpp's conventions: every op infers
// its results (builders need no result types); verify() reports operands that
// do not compose, naming them, and a written result type that differs from
// the inferred one.
//
//===----------------------------------------------------------------------===//
#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "VerifierSupport.h"
#include "simclr/Support/Format.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::simclr;

namespace {

/// The N x C or NCHW batch `value` (named `name` in diagnostics).
FailureOr<RankedTensorType> batchOf(Value value, StringRef name, EmitErrorFn emitError) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || (type.getRank() != 2 && type.getRank() != 4))
    return failWith(emitError, "expected an N x C or NCHW ", name);
  return type;
}

/// Checks that each of `vectors` (named by `names`) is a C-vector of the
/// batch's element type.
LogicalResult checkVectors(RankedTensorType batch, ValueRange vectors, StringRef names,
                           EmitErrorFn emitError) {
  auto expected = RankedTensorType::get({batch.getDimSize(1)}, batch.getElementType());
  for (Value vector : vectors)
    if (vector.getType() != expected)
      return failWith(emitError, names, " must be ", expected, " (C entries of the input's ",
                      "element type), got ", vector.getType());
  return success();
}

/// Checks that `stats` (named `name`) is the 3 x C f64 statistics of a
/// batch of `channels` channels.
LogicalResult checkStatistics(Value stats, StringRef name, int64_t channels,
                              EmitErrorFn emitError) {
  RankedTensorType expected = batchNormStatisticsType(stats.getContext(), channels);
  if (stats.getType() != expected)
    return failWith(emitError, name, " must be ", expected, " (sums and count per channel), got ",
                    stats.getType());
  return success();
}

template <typename OpT, typename InferFn>
LogicalResult verifyInferredResults(OpT op, InferFn inferFn) {
  SmallVector<Type, 3> inferred;
  if (failed(inferFn(typename OpT::Adaptor(op), [&] { return op.emitOpError(); }, inferred)))
    return failure();
  if (TypeRange(inferred) != op->getResultTypes()) {
    InFlightDiagnostic diag = op.emitOpError() << "result type(s) ";
    llvm::interleaveComma(op->getResultTypes(), diag);
    diag << " differ from the inferred ";
    llvm::interleaveComma(inferred, diag);
    return diag;
  }
  return success();
}

LogicalResult verifyEpsilon(Operation *op, APFloat epsilon) {
  if (!(epsilon.convertToDouble() > 0.0))
    return op->emitOpError() << "epsilon must be > 0";
  return success();
}

} // namespace

/// As SimclrOps.cpp's macro of the same name: inconsistent operands give a
/// placeholder type while building and are reported by verify().
#define SIMCLR_DEFINE_DEFERRED_INFERENCE(OpT, inferFn)                         \
  LogicalResult OpT::inferReturnTypes(                                         \
      MLIRContext *context, std::optional<Location> location, Adaptor adaptor, \
      SmallVectorImpl<Type> &inferredReturnTypes) {                            \
    if (failed(inferFn(adaptor, nullptr, inferredReturnTypes)))                \
      inferredReturnTypes.assign(1, NoneType::get(context));                   \
    return success();                                                          \
  }                                                                            \
  bool OpT::isCompatibleReturnTypes(TypeRange inferred, TypeRange actual) {    \
    return true;                                                               \
  }

//===----------------------------------------------------------------------===//
// Forward
//===----------------------------------------------------------------------===//

static LogicalResult inferBatchNormStatistics(BatchNormStatisticsOp::Adaptor adaptor,
                                              EmitErrorFn emitError,
                                              SmallVectorImpl<Type> &inferred) {
  FailureOr<RankedTensorType> input = batchOf(adaptor.getInput(), "input", emitError);
  if (failed(input))
    return failure();
  inferred.push_back(batchNormStatisticsType(input->getContext(), input->getDimSize(1)));
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(BatchNormStatisticsOp, inferBatchNormStatistics)

LogicalResult BatchNormStatisticsOp::verify() {
  return verifyInferredResults(*this, inferBatchNormStatistics);
}

static LogicalResult inferBatchNormApply(BatchNormApplyOp::Adaptor adaptor, EmitErrorFn emitError,
                                         SmallVectorImpl<Type> &inferred) {
  FailureOr<RankedTensorType> input = batchOf(adaptor.getInput(), "input", emitError);
  if (failed(input) ||
      failed(checkVectors(*input, {adaptor.getScale(), adaptor.getShift()}, "scale and shift",
                          emitError)) ||
      failed(checkStatistics(adaptor.getStats(), "stats", input->getDimSize(1), emitError)))
    return failure();
  auto vector = RankedTensorType::get({input->getDimSize(1)}, input->getElementType());
  inferred.append({*input, vector, vector});
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(BatchNormApplyOp, inferBatchNormApply)

LogicalResult BatchNormApplyOp::verify() {
  if (failed(verifyInferredResults(*this, inferBatchNormApply)))
    return failure();
  return verifyEpsilon(*this, getEpsilon());
}

static LogicalResult inferRunningStatsFromSums(RunningStatsFromSumsOp::Adaptor adaptor,
                                               EmitErrorFn emitError,
                                               SmallVectorImpl<Type> &inferred) {
  auto mean = cast<RankedTensorType>(adaptor.getRunningMean().getType());
  if (mean.getRank() != 1)
    return failWith(emitError, "expected a C-vector running_mean");
  if (adaptor.getRunningVar().getType() != mean)
    return failWith(emitError, "running_var must be ", mean, " (running_mean's type), got ",
                    adaptor.getRunningVar().getType());
  if (failed(checkStatistics(adaptor.getStats(), "stats", mean.getDimSize(0), emitError)))
    return failure();
  inferred.append({mean, mean});
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(RunningStatsFromSumsOp, inferRunningStatsFromSums)

LogicalResult RunningStatsFromSumsOp::verify() {
  if (failed(verifyInferredResults(*this, inferRunningStatsFromSums)))
    return failure();
  double momentum = getMomentum().convertToDouble();
  if (momentum < 0.0 || momentum > 1.0)
    return emitOpError() << "momentum = " << ::simclr::formatNumber(momentum)
                         << " must be in [0, 1]";
  return success();
}

//===----------------------------------------------------------------------===//
// Backward
//===----------------------------------------------------------------------===//

/// grad_output and input: two batches of one type.
static FailureOr<RankedTensorType> gradientBatchOf(Value gradOutput, Value input,
                                                   EmitErrorFn emitError) {
  FailureOr<RankedTensorType> grad = batchOf(gradOutput, "grad_output", emitError);
  if (failed(grad))
    return failure();
  if (input.getType() != *grad)
    return failWith(emitError, "grad_output and input types differ (", *grad, " vs ",
                    input.getType(), ")");
  return grad;
}

static LogicalResult
inferBatchNormBackwardStatistics(BatchNormBackwardStatisticsOp::Adaptor adaptor,
                                 EmitErrorFn emitError, SmallVectorImpl<Type> &inferred) {
  FailureOr<RankedTensorType> grad =
      gradientBatchOf(adaptor.getGradOutput(), adaptor.getInput(), emitError);
  if (failed(grad) ||
      failed(checkVectors(*grad, {adaptor.getBatchMean(), adaptor.getBatchVar()},
                          "batch_mean and batch_var", emitError)))
    return failure();
  inferred.push_back(batchNormStatisticsType(grad->getContext(), grad->getDimSize(1)));
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(BatchNormBackwardStatisticsOp, inferBatchNormBackwardStatistics)

LogicalResult BatchNormBackwardStatisticsOp::verify() {
  if (failed(verifyInferredResults(*this, inferBatchNormBackwardStatistics)))
    return failure();
  return verifyEpsilon(*this, getEpsilon());
}

static LogicalResult inferBatchNormBackwardApply(BatchNormBackwardApplyOp::Adaptor adaptor,
                                                 EmitErrorFn emitError,
                                                 SmallVectorImpl<Type> &inferred) {
  FailureOr<RankedTensorType> grad =
      gradientBatchOf(adaptor.getGradOutput(), adaptor.getInput(), emitError);
  if (failed(grad) ||
      failed(checkVectors(*grad,
                          {adaptor.getScale(), adaptor.getBatchMean(), adaptor.getBatchVar()},
                          "scale, batch_mean and batch_var", emitError)) ||
      failed(checkStatistics(adaptor.getGradStats(), "grad_stats", grad->getDimSize(1),
                             emitError)))
    return failure();
  auto vector = RankedTensorType::get({grad->getDimSize(1)}, grad->getElementType());
  inferred.append({*grad, vector, vector});
  return success();
}
SIMCLR_DEFINE_DEFERRED_INFERENCE(BatchNormBackwardApplyOp, inferBatchNormBackwardApply)

LogicalResult BatchNormBackwardApplyOp::verify() {
  if (failed(verifyInferredResults(*this, inferBatchNormBackwardApply)))
    return failure();
  return verifyEpsilon(*this, getEpsilon());
}

RankedTensorType mlir::simclr::batchNormStatisticsType(MLIRContext *context,
                                                       int64_t channels) {
  // Rows: sum, sum of squares (or of dy * xhat), element count.
  return RankedTensorType::get({3, channels}, Float64Type::get(context));
}
