//===- ReferenceExecutor.cpp - Interprets simclr IR on reference kernels --===//
//
// Algorithm:
//  1. Verify the function; it must have a body of exactly one block.
//  2. Bind each block argument to its runtime value after checking that the
//     value's kind (tensor, rng key, step) and shape match the argument type.
//  3. Run the ops in order. Each op's handler reads its operands from the
//     value map, calls the matching lib/Reference kernel and stores the
//     results, after checking that every result tensor has the static shape
//     of its result type. By induction every tensor in the map has the shape
//     of its SSA value, which is what lets handlers read a 0-D learning rate
//     without further checks.
//  4. func.return yields the values of its operands. A simclr.fusion runs
//     its body the same way, its block arguments bound to its operands'
//     values, and its results are the values simclr.yield names.
//
//===----------------------------------------------------------------------===//
#include "simclr/Reference/ReferenceExecutor.h"

#include "simclr/Dialect/Simclr/IR/SimclrOps.h"
#include "simclr/Reference/Augment.h"
#include "simclr/Reference/Kernels.h"

#include "mlir/IR/Verifier.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include <array>
#include <limits>
#include <utility>
#include <vector>

namespace mlir::simclr {
namespace {

namespace ref = ::simclr::ref;
using ::simclr::Expected;
using ::simclr::Status;

/// Converts a verified two-element array attribute ({height, width}).
std::array<int64_t, 2> toPair(ArrayRef<int64_t> values) {
  assert(values.size() == 2 && "verified pair attributes have two entries");
  return {values[0], values[1]};
}

/// The static shape of a ranked tensor type, as the kernels spell shapes.
std::vector<int64_t> shapeOf(Type type) {
  ArrayRef<int64_t> shape = cast<RankedTensorType>(type).getShape();
  return std::vector<int64_t>(shape.begin(), shape.end());
}

/// The geometry attributes shared by conv2d and its two backward ops.
template <typename ConvOp> ref::Conv2dOptions convOptions(ConvOp op) {
  ref::Conv2dOptions options;
  options.stride = toPair(op.getStride());
  options.padding = toPair(op.getPadding());
  options.dilation = toPair(op.getDilation());
  options.groups = op.getGroupsAttr().getInt();
  return options;
}

/// A verified two-element f64 range attribute ([lo, hi]).
ref::Range toRange(ArrayRef<double> values) {
  assert(values.size() == 2 && "verified range attributes have two entries");
  return {values[0], values[1]};
}

/// The geometry attributes shared by max_pool2d and its backward op.
template <typename PoolOp> ref::Pool2dOptions poolOptions(PoolOp op) {
  ref::Pool2dOptions options;
  options.kernel = toPair(op.getKernel());
  options.stride = toPair(op.getStride());
  options.padding = toPair(op.getPadding());
  return options;
}

/// How a value of `type` is held at run time.
enum class ValueKind { kTensor, kRngKey, kStep, kUnsupported };

ValueKind kindOf(Type type) {
  if (isa<RngKeyType>(type))
    return ValueKind::kRngKey;
  auto tensorType = dyn_cast<RankedTensorType>(type);
  if (!tensorType || !tensorType.hasStaticShape())
    return ValueKind::kUnsupported;
  Type element = tensorType.getElementType();
  if (isa<FloatType>(element) || element.isUnsignedInteger(8))
    return ValueKind::kTensor;
  if (element.isSignlessInteger(64) && tensorType.getRank() == 0)
    return ValueKind::kStep;
  return ValueKind::kUnsupported;
}

const char *kindName(ValueKind kind) {
  switch (kind) {
  case ValueKind::kTensor:
    return "a tensor";
  case ValueKind::kRngKey:
    return "an rng key";
  case ValueKind::kStep:
    return "a step";
  case ValueKind::kUnsupported:
    break;
  }
  return "an unsupported value";
}

/// The kind of a runtime value.
template <typename T> ValueKind valueKindOf(const RefValue<T> &value) {
  if (std::holds_alternative<ref::Tensor<T>>(value))
    return ValueKind::kTensor;
  if (std::holds_alternative<RngKey>(value))
    return ValueKind::kRngKey;
  return ValueKind::kStep;
}

/// Interprets one function; see the algorithm at the top of the file.
template <typename T> class Executor {
public:
  using Tensor = ref::Tensor<T>;

  explicit Executor(func::FuncOp func) : func(func) {}

  FailureOr<SmallVector<RefValue<T>>> run(ArrayRef<RefValue<T>> arguments);

private:
  LogicalResult bindArgument(unsigned index, const RefValue<T> &value);
  LogicalResult execute(Operation *op);

  /// Sets `tensor` to the tensor held by `value`; emits an error at `op` and
  /// fails when there is none.
  LogicalResult getTensor(Operation *op, Value value, const Tensor *&tensor);
  LogicalResult getStep(Operation *op, Value value, int64_t &step);
  LogicalResult getKey(Operation *op, Value value, RngKey &key);
  /// Stores `tensor` as the value of `result` after checking its shape, or
  /// forwards the kernel's error.
  LogicalResult setTensor(Operation *op, Value result, Expected<Tensor> tensor);
  LogicalResult kernelError(Operation *op, const Status &status);

  // One handler per op with a reference kernel, in SimclrOps.td order.
  LogicalResult execute(RngFoldInOp op);
  LogicalResult execute(ImageToFloatOp op);
  LogicalResult execute(RandomResizedCropOp op);
  LogicalResult execute(HorizontalFlipOp op);
  LogicalResult execute(ColorJitterOp op);
  LogicalResult execute(RandomGrayscaleOp op);
  LogicalResult execute(GaussianBlurOp op);
  LogicalResult execute(NormalizeOp op);
  LogicalResult execute(Conv2DOp op);
  LogicalResult execute(BatchNormTrainOp op);
  LogicalResult execute(BatchNormInferenceOp op);
  LogicalResult execute(RunningStatsUpdateOp op);
  LogicalResult execute(ReluOp op);
  LogicalResult execute(AddOp op);
  LogicalResult execute(MaxPool2DOp op);
  LogicalResult execute(GlobalAvgPoolOp op);
  LogicalResult execute(LinearOp op);
  LogicalResult execute(ReshapeOp op);
  LogicalResult execute(ConcatOp op);
  LogicalResult execute(L2NormalizeOp op);
  LogicalResult execute(NtXentOp op);
  LogicalResult execute(MatmulOp op);
  LogicalResult execute(MaskedScaledLogSoftmaxOp op);
  LogicalResult execute(GatherPositivesOp op);
  LogicalResult execute(ReduceMeanOp op);
  LogicalResult execute(ScaleOp op);
  LogicalResult execute(FillOp op);
  LogicalResult execute(BroadcastOp op);
  LogicalResult execute(SliceOp op);
  LogicalResult execute(SumToChannelsOp op);
  LogicalResult execute(Conv2DBackwardInputOp op);
  LogicalResult execute(Conv2DBackwardFilterOp op);
  LogicalResult execute(BatchNormTrainBackwardOp op);
  LogicalResult execute(ReluBackwardOp op);
  LogicalResult execute(MaxPool2DBackwardOp op);
  LogicalResult execute(GlobalAvgPoolBackwardOp op);
  LogicalResult execute(L2NormalizeBackwardOp op);
  LogicalResult execute(NtXentBackwardOp op);
  LogicalResult execute(MaskedScaledLogSoftmaxBackwardOp op);
  LogicalResult execute(GatherPositivesBackwardOp op);
  LogicalResult execute(LrScheduleOp op);
  LogicalResult execute(SgdUpdateOp op);
  LogicalResult execute(AdamWUpdateOp op);
  LogicalResult execute(LarsUpdateOp op);
  LogicalResult execute(FusionOp op);

  func::FuncOp func;
  /// The runtime value of every SSA value computed so far.
  llvm::DenseMap<Value, RefValue<T>> values;
};

//===----------------------------------------------------------------------===//
// Driver, arguments and the value map
//===----------------------------------------------------------------------===//

template <typename T>
FailureOr<SmallVector<RefValue<T>>>
Executor<T>::run(ArrayRef<RefValue<T>> arguments) {
  if (failed(mlir::verify(func)))
    return failure();
  if (func.isExternal())
    return func.emitError("the reference executor needs a function body");
  if (!func.getBody().hasOneBlock())
    return func.emitError("the reference executor runs single-block "
                          "functions, this one has ")
           << func.getBody().getBlocks().size() << " blocks";
  if (arguments.size() != func.getNumArguments())
    return func.emitError("expected ")
           << func.getNumArguments() << " arguments, got " << arguments.size();
  for (auto [index, value] : llvm::enumerate(arguments))
    if (failed(bindArgument(index, value)))
      return failure();

  for (Operation &op : func.getBody().front()) {
    if (auto returnOp = dyn_cast<func::ReturnOp>(op)) {
      SmallVector<RefValue<T>> results;
      for (Value operand : returnOp.getOperands()) {
        auto it = values.find(operand);
        if (it == values.end())
          return returnOp.emitOpError("returns a value the reference "
                                      "executor has not computed");
        results.push_back(it->second);
      }
      return results;
    }
    if (failed(execute(&op)))
      return failure();
  }
  return func.emitError("the function body ends without func.return");
}

template <typename T>
LogicalResult Executor<T>::bindArgument(unsigned index,
                                        const RefValue<T> &value) {
  BlockArgument argument = func.getArgument(index);
  Type type = argument.getType();
  ValueKind expected = kindOf(type);
  if (expected == ValueKind::kUnsupported)
    return func.emitError("argument #")
           << index << " has type " << type
           << ", which the reference executor cannot hold";
  ValueKind actual = valueKindOf<T>(value);
  if (actual != expected)
    return func.emitError("argument #")
           << index << " of type " << type << " must be " << kindName(expected)
           << ", got " << kindName(actual);
  if (const auto *tensor = std::get_if<Tensor>(&value)) {
    std::vector<int64_t> shape = shapeOf(type);
    if (tensor->shape != shape)
      return func.emitError("argument #")
             << index << " has shape " << ref::shapeToString(tensor->shape)
             << ", but the function expects " << ref::shapeToString(shape)
             << " (" << type << ")";
    if (!tensor->isConsistent())
      return func.emitError("argument #")
             << index << " holds " << tensor->data.size()
             << " elements, which does not match its shape "
             << ref::shapeToString(tensor->shape);
  }
  values[argument] = value;
  return success();
}

template <typename T>
LogicalResult Executor<T>::getTensor(Operation *op, Value value,
                                     const Tensor *&tensor) {
  auto it = values.find(value);
  tensor = it == values.end() ? nullptr : std::get_if<Tensor>(&it->second);
  if (!tensor)
    return op->emitOpError("reads a value the reference executor holds no "
                           "tensor for");
  return success();
}

template <typename T>
LogicalResult Executor<T>::getStep(Operation *op, Value value, int64_t &step) {
  auto it = values.find(value);
  const int64_t *held =
      it == values.end() ? nullptr : std::get_if<int64_t>(&it->second);
  if (!held)
    return op->emitOpError("reads a value the reference executor holds no "
                           "step for");
  step = *held;
  return success();
}

template <typename T>
LogicalResult Executor<T>::getKey(Operation *op, Value value, RngKey &key) {
  auto it = values.find(value);
  const RngKey *held =
      it == values.end() ? nullptr : std::get_if<RngKey>(&it->second);
  if (!held)
    return op->emitOpError("reads a value the reference executor holds no "
                           "rng key for");
  key = *held;
  return success();
}

template <typename T>
LogicalResult Executor<T>::setTensor(Operation *op, Value result,
                                     Expected<Tensor> tensor) {
  if (!tensor)
    return kernelError(op, tensor.status());
  std::vector<int64_t> shape = shapeOf(result.getType());
  if (tensor->shape != shape)
    return op->emitOpError("the reference kernel produced shape ")
           << ref::shapeToString(tensor->shape) << " for result #"
           << cast<OpResult>(result).getResultNumber() << " of type "
           << result.getType();
  values[result] = std::move(*tensor);
  return success();
}

template <typename T>
LogicalResult Executor<T>::kernelError(Operation *op, const Status &status) {
  return op->emitOpError("reference kernel failed: ") << status.message();
}

template <typename T> LogicalResult Executor<T>::execute(Operation *op) {
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<RngFoldInOp, ImageToFloatOp, RandomResizedCropOp, HorizontalFlipOp,
            ColorJitterOp, RandomGrayscaleOp, GaussianBlurOp, NormalizeOp,
            Conv2DOp, BatchNormTrainOp, BatchNormInferenceOp,
            RunningStatsUpdateOp, ReluOp, AddOp, MaxPool2DOp, GlobalAvgPoolOp,
            LinearOp, ReshapeOp, ConcatOp, L2NormalizeOp, NtXentOp, MatmulOp,
            MaskedScaledLogSoftmaxOp, GatherPositivesOp, ReduceMeanOp, ScaleOp,
            FillOp, BroadcastOp, SliceOp, SumToChannelsOp,
            Conv2DBackwardInputOp, Conv2DBackwardFilterOp,
            BatchNormTrainBackwardOp, ReluBackwardOp, MaxPool2DBackwardOp,
            GlobalAvgPoolBackwardOp, L2NormalizeBackwardOp, NtXentBackwardOp,
            MaskedScaledLogSoftmaxBackwardOp, GatherPositivesBackwardOp,
            LrScheduleOp, SgdUpdateOp, AdamWUpdateOp, LarsUpdateOp, FusionOp>(
          [&](auto typedOp) { return execute(typedOp); })
      // Every simclr op has a handler; anything else (func.call, another
      // dialect's op) is outside what the executor interprets.
      .Default([](Operation *other) {
        return other->emitOpError(
            "the reference executor has no kernel for this op");
      });
}

//===----------------------------------------------------------------------===//
// Randomness, input conversion and augmentations
//===----------------------------------------------------------------------===//

template <typename T> LogicalResult Executor<T>::execute(RngFoldInOp op) {
  RngKey key;
  if (failed(getKey(op, op.getKey(), key)))
    return failure();
  values[op.getResult()] = ::simclr::foldIn(key, op.getTag());
  return success();
}

template <typename T> LogicalResult Executor<T>::execute(ImageToFloatOp op) {
  const Tensor *input;
  if (failed(getTensor(op, op.getInput(), input)))
    return failure();
  return setTensor(op, op.getResult(), ref::imageToFloat(*input));
}

template <typename T>
LogicalResult Executor<T>::execute(RandomResizedCropOp op) {
  RngKey key;
  const Tensor *input;
  if (failed(getKey(op, op.getKey(), key)) ||
      failed(getTensor(op, op.getInput(), input)))
    return failure();
  std::array<int64_t, 2> size = toPair(op.getSize());
  return setTensor(op, op.getResult(),
                   ref::randomResizedCrop(*input, key, toRange(op.getScale()),
                                          toRange(op.getRatio()), size[0],
                                          size[1]));
}

template <typename T> LogicalResult Executor<T>::execute(HorizontalFlipOp op) {
  RngKey key;
  const Tensor *input;
  if (failed(getKey(op, op.getKey(), key)) ||
      failed(getTensor(op, op.getInput(), input)))
    return failure();
  return setTensor(
      op, op.getResult(),
      ref::horizontalFlip(*input, key, op.getP().convertToDouble()));
}

template <typename T> LogicalResult Executor<T>::execute(ColorJitterOp op) {
  RngKey key;
  const Tensor *input;
  if (failed(getKey(op, op.getKey(), key)) ||
      failed(getTensor(op, op.getInput(), input)))
    return failure();
  ref::ColorJitterOptions options;
  options.brightness = op.getBrightness().convertToDouble();
  options.contrast = op.getContrast().convertToDouble();
  options.saturation = op.getSaturation().convertToDouble();
  options.hue = op.getHue().convertToDouble();
  options.p = op.getP().convertToDouble();
  return setTensor(op, op.getResult(), ref::colorJitter(*input, key, options));
}

template <typename T> LogicalResult Executor<T>::execute(RandomGrayscaleOp op) {
  RngKey key;
  const Tensor *input;
  if (failed(getKey(op, op.getKey(), key)) ||
      failed(getTensor(op, op.getInput(), input)))
    return failure();
  return setTensor(
      op, op.getResult(),
      ref::randomGrayscale(*input, key, op.getP().convertToDouble()));
}

template <typename T> LogicalResult Executor<T>::execute(GaussianBlurOp op) {
  RngKey key;
  const Tensor *input;
  if (failed(getKey(op, op.getKey(), key)) ||
      failed(getTensor(op, op.getInput(), input)))
    return failure();
  return setTensor(
      op, op.getResult(),
      ref::gaussianBlur(*input, key, op.getKernelSizeAttr().getInt(),
                        toRange(op.getSigma()), op.getP().convertToDouble()));
}

//===----------------------------------------------------------------------===//
// Normalization and encoder
//===----------------------------------------------------------------------===//

template <typename T> LogicalResult Executor<T>::execute(NormalizeOp op) {
  const Tensor *input;
  if (failed(getTensor(op, op.getInput(), input)))
    return failure();
  std::vector<double> mean(op.getMean().begin(), op.getMean().end());
  std::vector<double> stddev(op.getStd().begin(), op.getStd().end());
  return setTensor(op, op.getResult(), ref::normalize(*input, mean, stddev));
}

template <typename T> LogicalResult Executor<T>::execute(Conv2DOp op) {
  const Tensor *input, *filter, *bias = nullptr;
  if (failed(getTensor(op, op.getInput(), input)) ||
      failed(getTensor(op, op.getFilter(), filter)) ||
      (op.getBias() && failed(getTensor(op, op.getBias(), bias))))
    return failure();
  return setTensor(op, op.getResult(),
                   ref::conv2d(*input, *filter, bias, convOptions(op)));
}

template <typename T> LogicalResult Executor<T>::execute(BatchNormTrainOp op) {
  const Tensor *input, *scale, *shift;
  if (failed(getTensor(op, op.getInput(), input)) ||
      failed(getTensor(op, op.getScale(), scale)) ||
      failed(getTensor(op, op.getShift(), shift)))
    return failure();
  Expected<ref::BatchNormTrainResult<T>> result = ref::batchNormTrain(
      *input, *scale, *shift, op.getEpsilon().convertToDouble());
  if (!result)
    return kernelError(op, result.status());
  if (failed(setTensor(op, op.getOutput(), std::move(result->y))) ||
      failed(setTensor(op, op.getBatchMean(), std::move(result->batchMean))))
    return failure();
  return setTensor(op, op.getBatchVar(), std::move(result->batchVar));
}

template <typename T>
LogicalResult Executor<T>::execute(BatchNormInferenceOp op) {
  const Tensor *input, *scale, *shift, *mean, *variance;
  if (failed(getTensor(op, op.getInput(), input)) ||
      failed(getTensor(op, op.getScale(), scale)) ||
      failed(getTensor(op, op.getShift(), shift)) ||
      failed(getTensor(op, op.getMean(), mean)) ||
      failed(getTensor(op, op.getVariance(), variance)))
    return failure();
  return setTensor(op, op.getOutput(),
                   ref::batchNormInference(*input, *scale, *shift, *mean,
                                           *variance,
                                           op.getEpsilon().convertToDouble()));
}

template <typename T>
LogicalResult Executor<T>::execute(RunningStatsUpdateOp op) {
  const Tensor *runningMean, *runningVar, *batchMean, *batchVar;
  if (failed(getTensor(op, op.getRunningMean(), runningMean)) ||
      failed(getTensor(op, op.getRunningVar(), runningVar)) ||
      failed(getTensor(op, op.getBatchMean(), batchMean)) ||
      failed(getTensor(op, op.getBatchVar(), batchVar)))
    return failure();
  // The kernel updates in place; the op is functional, so update copies.
  Tensor newMean = *runningMean, newVar = *runningVar;
  Status status = ref::runningStatsUpdate(newMean, newVar, *batchMean,
                                          *batchVar, op.getCountAttr().getInt(),
                                          op.getMomentum().convertToDouble());
  if (!status)
    return kernelError(op, status);
  if (failed(setTensor(op, op.getNewMean(), std::move(newMean))))
    return failure();
  return setTensor(op, op.getNewVar(), std::move(newVar));
}

template <typename T> LogicalResult Executor<T>::execute(ReluOp op) {
  const Tensor *input;
  if (failed(getTensor(op, op.getInput(), input)))
    return failure();
  return setTensor(op, op.getResult(), ref::relu(*input));
}

template <typename T> LogicalResult Executor<T>::execute(AddOp op) {
  const Tensor *lhs, *rhs;
  if (failed(getTensor(op, op.getLhs(), lhs)) ||
      failed(getTensor(op, op.getRhs(), rhs)))
    return failure();
  return setTensor(op, op.getResult(), ref::add(*lhs, *rhs));
}

template <typename T> LogicalResult Executor<T>::execute(MaxPool2DOp op) {
  const Tensor *input;
  if (failed(getTensor(op, op.getInput(), input)))
    return failure();
  return setTensor(op, op.getResult(), ref::maxPool2d(*input, poolOptions(op)));
}

template <typename T> LogicalResult Executor<T>::execute(GlobalAvgPoolOp op) {
  const Tensor *input;
  if (failed(getTensor(op, op.getInput(), input)))
    return failure();
  return setTensor(op, op.getResult(), ref::globalAvgPool(*input));
}

template <typename T> LogicalResult Executor<T>::execute(LinearOp op) {
  const Tensor *input, *weight, *bias = nullptr;
  if (failed(getTensor(op, op.getInput(), input)) ||
      failed(getTensor(op, op.getWeight(), weight)) ||
      (op.getBias() && failed(getTensor(op, op.getBias(), bias))))
    return failure();
  return setTensor(op, op.getResult(), ref::linear(*input, *weight, bias));
}

template <typename T> LogicalResult Executor<T>::execute(ReshapeOp op) {
  const Tensor *input;
  if (failed(getTensor(op, op.getInput(), input)))
    return failure();
  return setTensor(op, op.getResult(),
                   ref::reshape(*input, shapeOf(op.getResult().getType())));
}

template <typename T> LogicalResult Executor<T>::execute(ConcatOp op) {
  std::vector<const Tensor *> inputs;
  for (Value value : op.getInputs()) {
    const Tensor *input;
    if (failed(getTensor(op, value, input)))
      return failure();
    inputs.push_back(input);
  }
  return setTensor(op, op.getResult(),
                   ref::concat(inputs, op.getDimAttr().getInt()));
}

//===----------------------------------------------------------------------===//
// Projection head and loss
//===----------------------------------------------------------------------===//

template <typename T> LogicalResult Executor<T>::execute(L2NormalizeOp op) {
  const Tensor *input;
  if (failed(getTensor(op, op.getInput(), input)))
    return failure();
  return setTensor(op, op.getResult(),
                   ref::l2Normalize(*input, op.getEpsilon().convertToDouble()));
}

template <typename T> LogicalResult Executor<T>::execute(NtXentOp op) {
  const Tensor *embeddings;
  if (failed(getTensor(op, op.getEmbeddings(), embeddings)))
    return failure();
  return setTensor(
      op, op.getLoss(),
      ref::ntXent(*embeddings, op.getTemperature().convertToDouble()));
}

template <typename T> LogicalResult Executor<T>::execute(MatmulOp op) {
  const Tensor *lhs, *rhs;
  if (failed(getTensor(op, op.getLhs(), lhs)) ||
      failed(getTensor(op, op.getRhs(), rhs)))
    return failure();
  return setTensor(
      op, op.getResult(),
      ref::matmul(*lhs, *rhs, op.getTransposeLhs(), op.getTransposeRhs()));
}

template <typename T>
LogicalResult Executor<T>::execute(MaskedScaledLogSoftmaxOp op) {
  const Tensor *input;
  if (failed(getTensor(op, op.getInput(), input)))
    return failure();
  return setTensor(
      op, op.getResult(),
      ref::maskedScaledLogSoftmax(*input, op.getScale().convertToDouble()));
}

template <typename T> LogicalResult Executor<T>::execute(GatherPositivesOp op) {
  const Tensor *input;
  if (failed(getTensor(op, op.getInput(), input)))
    return failure();
  return setTensor(op, op.getResult(), ref::gatherPositives(*input));
}

template <typename T> LogicalResult Executor<T>::execute(ReduceMeanOp op) {
  const Tensor *input;
  if (failed(getTensor(op, op.getInput(), input)))
    return failure();
  return setTensor(op, op.getResult(), ref::reduceMean(*input));
}

template <typename T> LogicalResult Executor<T>::execute(ScaleOp op) {
  const Tensor *input;
  if (failed(getTensor(op, op.getInput(), input)))
    return failure();
  return setTensor(op, op.getResult(),
                   ref::scale(*input, op.getFactor().convertToDouble()));
}

//===----------------------------------------------------------------------===//
// Gradient helpers and adjoints
//===----------------------------------------------------------------------===//

template <typename T> LogicalResult Executor<T>::execute(FillOp op) {
  return setTensor(
      op, op.getResult(),
      Tensor::full(shapeOf(op.getResult().getType()),
                   static_cast<T>(op.getValue().convertToDouble())));
}

template <typename T> LogicalResult Executor<T>::execute(BroadcastOp op) {
  const Tensor *input;
  if (failed(getTensor(op, op.getInput(), input)))
    return failure();
  std::vector<int64_t> shape = shapeOf(op.getResult().getType());
  if (input->shape.empty())
    return setTensor(op, op.getResult(), ref::broadcast(*input, shape));
  // A per-channel vector (verified: C entries, the result's dimension 1):
  // result[n, c, ...] = input[c].
  Tensor result = Tensor::zeros(shape);
  int64_t channels = shape[1];
  int64_t inner = static_cast<int64_t>(result.data.size()) / (shape[0] * channels);
  for (size_t i = 0; i < result.data.size(); ++i)
    result.data[i] = input->data[static_cast<size_t>((static_cast<int64_t>(i) / inner) % channels)];
  return setTensor(op, op.getResult(), std::move(result));
}

template <typename T> LogicalResult Executor<T>::execute(SliceOp op) {
  const Tensor *input;
  if (failed(getTensor(op, op.getInput(), input)))
    return failure();
  int64_t dim = op.getDimAttr().getInt();
  std::vector<int64_t> resultShape = shapeOf(op.getResult().getType());
  if (dim >= static_cast<int64_t>(resultShape.size()))
    return op.emitOpError("has no dimension ") << dim;
  return setTensor(op, op.getResult(),
                   ref::slice(*input, dim, op.getOffsetAttr().getInt(),
                              resultShape[static_cast<size_t>(dim)]));
}

template <typename T> LogicalResult Executor<T>::execute(SumToChannelsOp op) {
  const Tensor *input;
  if (failed(getTensor(op, op.getInput(), input)))
    return failure();
  return setTensor(op, op.getResult(), ref::sumToChannels(*input));
}

template <typename T>
LogicalResult Executor<T>::execute(Conv2DBackwardInputOp op) {
  const Tensor *gradOutput, *filter;
  if (failed(getTensor(op, op.getGradOutput(), gradOutput)) ||
      failed(getTensor(op, op.getFilter(), filter)))
    return failure();
  // dx depends on the forward input's shape only, so a zero input of the
  // result shape stands in for it; the kernel's dw is discarded.
  Tensor inputStandIn = Tensor::zeros(shapeOf(op.getResult().getType()));
  Expected<ref::Conv2dGrads<T>> grads = ref::conv2dBackward(
      *gradOutput, inputStandIn, *filter, /*hasBias=*/false, convOptions(op));
  if (!grads)
    return kernelError(op, grads.status());
  return setTensor(op, op.getResult(), std::move(grads->dx));
}

template <typename T>
LogicalResult Executor<T>::execute(Conv2DBackwardFilterOp op) {
  const Tensor *gradOutput, *input;
  if (failed(getTensor(op, op.getGradOutput(), gradOutput)) ||
      failed(getTensor(op, op.getInput(), input)))
    return failure();
  // dw depends on the filter's shape only, so a zero filter of the result
  // shape stands in for it; the kernel's dx is discarded.
  Tensor filterStandIn = Tensor::zeros(shapeOf(op.getResult().getType()));
  Expected<ref::Conv2dGrads<T>> grads = ref::conv2dBackward(
      *gradOutput, *input, filterStandIn, /*hasBias=*/false, convOptions(op));
  if (!grads)
    return kernelError(op, grads.status());
  return setTensor(op, op.getResult(), std::move(grads->dw));
}

template <typename T>
LogicalResult Executor<T>::execute(BatchNormTrainBackwardOp op) {
  const Tensor *gradOutput, *input, *scale, *batchMean, *batchVar;
  if (failed(getTensor(op, op.getGradOutput(), gradOutput)) ||
      failed(getTensor(op, op.getInput(), input)) ||
      failed(getTensor(op, op.getScale(), scale)) ||
      failed(getTensor(op, op.getBatchMean(), batchMean)) ||
      failed(getTensor(op, op.getBatchVar(), batchVar)))
    return failure();
  Expected<ref::BatchNormGrads<T>> grads =
      ref::batchNormTrainBackward(*gradOutput, *input, *scale, *batchMean,
                                  *batchVar, op.getEpsilon().convertToDouble());
  if (!grads)
    return kernelError(op, grads.status());
  if (failed(setTensor(op, op.getGradInput(), std::move(grads->dx))) ||
      failed(setTensor(op, op.getGradScale(), std::move(grads->dgamma))))
    return failure();
  return setTensor(op, op.getGradShift(), std::move(grads->dbeta));
}

template <typename T> LogicalResult Executor<T>::execute(ReluBackwardOp op) {
  const Tensor *gradOutput, *result;
  if (failed(getTensor(op, op.getGradOutput(), gradOutput)) ||
      failed(getTensor(op, op.getResult(), result)))
    return failure();
  return setTensor(op, op.getGradInput(),
                   ref::reluBackward(*gradOutput, *result));
}

template <typename T>
LogicalResult Executor<T>::execute(MaxPool2DBackwardOp op) {
  const Tensor *gradOutput, *input;
  if (failed(getTensor(op, op.getGradOutput(), gradOutput)) ||
      failed(getTensor(op, op.getInput(), input)))
    return failure();
  return setTensor(
      op, op.getGradInput(),
      ref::maxPool2dBackward(*gradOutput, *input, poolOptions(op)));
}

template <typename T>
LogicalResult Executor<T>::execute(GlobalAvgPoolBackwardOp op) {
  const Tensor *gradOutput;
  if (failed(getTensor(op, op.getGradOutput(), gradOutput)))
    return failure();
  return setTensor(op, op.getGradInput(),
                   ref::globalAvgPoolBackward(
                       *gradOutput, shapeOf(op.getGradInput().getType())));
}

template <typename T>
LogicalResult Executor<T>::execute(L2NormalizeBackwardOp op) {
  const Tensor *gradOutput, *input;
  if (failed(getTensor(op, op.getGradOutput(), gradOutput)) ||
      failed(getTensor(op, op.getInput(), input)))
    return failure();
  return setTensor(op, op.getGradInput(),
                   ref::l2NormalizeBackward(*gradOutput, *input,
                                            op.getEpsilon().convertToDouble()));
}

template <typename T> LogicalResult Executor<T>::execute(NtXentBackwardOp op) {
  const Tensor *gradLoss, *embeddings;
  if (failed(getTensor(op, op.getGradLoss(), gradLoss)) ||
      failed(getTensor(op, op.getEmbeddings(), embeddings)))
    return failure();
  return setTensor(op, op.getGradEmbeddings(),
                   ref::ntXentBackward(*gradLoss, *embeddings,
                                       op.getTemperature().convertToDouble()));
}

template <typename T>
LogicalResult Executor<T>::execute(MaskedScaledLogSoftmaxBackwardOp op) {
  const Tensor *gradOutput, *result;
  if (failed(getTensor(op, op.getGradOutput(), gradOutput)) ||
      failed(getTensor(op, op.getResult(), result)))
    return failure();
  return setTensor(op, op.getGradInput(),
                   ref::maskedScaledLogSoftmaxBackward(
                       *gradOutput, *result, op.getScale().convertToDouble()));
}

template <typename T>
LogicalResult Executor<T>::execute(GatherPositivesBackwardOp op) {
  const Tensor *gradOutput;
  if (failed(getTensor(op, op.getGradOutput(), gradOutput)))
    return failure();
  return setTensor(op, op.getGradInput(),
                   ref::gatherPositivesBackward(*gradOutput));
}

//===----------------------------------------------------------------------===//
// Optimizers and learning-rate schedule
//===----------------------------------------------------------------------===//

template <typename T> LogicalResult Executor<T>::execute(LrScheduleOp op) {
  int64_t step;
  if (failed(getStep(op, op.getStep(), step)))
    return failure();
  Expected<double> lr = ref::lrWarmupCosine(
      step, op.getBaseLr().convertToDouble(), op.getFinalLr().convertToDouble(),
      op.getWarmupStepsAttr().getInt(), op.getTotalStepsAttr().getInt());
  if (!lr)
    return kernelError(op, lr.status());
  return setTensor(op, op.getLr(), Tensor::scalar(static_cast<T>(*lr)));
}

template <typename T> LogicalResult Executor<T>::execute(SgdUpdateOp op) {
  const Tensor *param, *grad, *buffer, *lr;
  if (failed(getTensor(op, op.getParam(), param)) ||
      failed(getTensor(op, op.getGrad(), grad)) ||
      failed(getTensor(op, op.getMomentumBuffer(), buffer)) ||
      failed(getTensor(op, op.getLr(), lr)))
    return failure();
  ref::SgdOptions options;
  // lr is 0-D: every held tensor has its value's static shape.
  options.learningRate = static_cast<double>(lr->data[0]);
  options.momentum = op.getMomentum().convertToDouble();
  options.weightDecay = op.getWeightDecay().convertToDouble();
  // The kernel updates in place; the op is functional, so update copies.
  Tensor newParam = *param, newBuffer = *buffer;
  Status status = ref::sgdStep(newParam, *grad, newBuffer, options);
  if (!status)
    return kernelError(op, status);
  if (failed(setTensor(op, op.getNewParam(), std::move(newParam))))
    return failure();
  return setTensor(op, op.getNewMomentumBuffer(), std::move(newBuffer));
}

template <typename T> LogicalResult Executor<T>::execute(AdamWUpdateOp op) {
  const Tensor *param, *grad, *expAvg, *expAvgSq, *lr;
  int64_t step;
  if (failed(getTensor(op, op.getParam(), param)) ||
      failed(getTensor(op, op.getGrad(), grad)) ||
      failed(getTensor(op, op.getExpAvg(), expAvg)) ||
      failed(getTensor(op, op.getExpAvgSq(), expAvgSq)) ||
      failed(getTensor(op, op.getLr(), lr)) ||
      failed(getStep(op, op.getStep(), step)))
    return failure();
  // The op's step is 0-based; adamWStep's bias correction takes t = step + 1.
  if (step < 0 || step == std::numeric_limits<int64_t>::max())
    return op.emitOpError("step ") << step << " is out of range";
  ref::AdamWOptions options;
  options.learningRate = static_cast<double>(lr->data[0]);
  options.beta1 = op.getBeta1().convertToDouble();
  options.beta2 = op.getBeta2().convertToDouble();
  options.epsilon = op.getEpsilon().convertToDouble();
  options.weightDecay = op.getWeightDecay().convertToDouble();
  Tensor newParam = *param, newExpAvg = *expAvg, newExpAvgSq = *expAvgSq;
  Status status = ref::adamWStep(newParam, *grad, newExpAvg, newExpAvgSq,
                                 step + 1, options);
  if (!status)
    return kernelError(op, status);
  if (failed(setTensor(op, op.getNewParam(), std::move(newParam))) ||
      failed(setTensor(op, op.getNewExpAvg(), std::move(newExpAvg))))
    return failure();
  return setTensor(op, op.getNewExpAvgSq(), std::move(newExpAvgSq));
}

template <typename T> LogicalResult Executor<T>::execute(LarsUpdateOp op) {
  const Tensor *param, *grad, *buffer, *lr;
  if (failed(getTensor(op, op.getParam(), param)) ||
      failed(getTensor(op, op.getGrad(), grad)) ||
      failed(getTensor(op, op.getMomentumBuffer(), buffer)) ||
      failed(getTensor(op, op.getLr(), lr)))
    return failure();
  ref::LarsOptions options;
  options.learningRate = static_cast<double>(lr->data[0]);
  options.momentum = op.getMomentum().convertToDouble();
  options.weightDecay = op.getWeightDecay().convertToDouble();
  options.eta = op.getTrustCoefficient().convertToDouble();
  options.layerAdaptation = op.getLayerAdaptation();
  Tensor newParam = *param, newBuffer = *buffer;
  Status status = ref::larsStep(newParam, *grad, newBuffer, options);
  if (!status)
    return kernelError(op, status);
  if (failed(setTensor(op, op.getNewParam(), std::move(newParam))))
    return failure();
  return setTensor(op, op.getNewMomentumBuffer(), std::move(newBuffer));
}

} // namespace

//===----------------------------------------------------------------------===//
// Fusion
//===----------------------------------------------------------------------===//

// A fusion computes what its body computes: bind the block arguments to the
// operands' values, run the body's ops with the same handlers, and take the
// yielded values as the results. Values are shared with the enclosing
// function's map (SSA values are unique), so nothing is copied back.
template <typename T> LogicalResult Executor<T>::execute(FusionOp op) {
  Block &body = op.getBodyBlock();
  for (auto [input, argument] : llvm::zip(op.getInputs(), body.getArguments())) {
    auto it = values.find(input);
    if (it == values.end())
      return op.emitOpError("reads a value the reference executor has not computed");
    RefValue<T> value = it->second; // a copy: inserting may move the map's entries
    values[argument] = std::move(value);
  }
  for (Operation &inner : body.without_terminator())
    if (failed(execute(&inner)))
      return failure();
  auto yield = cast<YieldOp>(body.getTerminator());
  for (auto [result, yielded] : llvm::zip(op.getOutputs(), yield.getValues())) {
    RefValue<T> value = values.find(yielded)->second;
    values[result] = std::move(value);
  }
  return success();
}

template <typename T>
FailureOr<SmallVector<RefValue<T>>>
executeReference(func::FuncOp func, ArrayRef<RefValue<T>> arguments) {
  return Executor<T>(func).run(arguments);
}

template FailureOr<SmallVector<RefValue<float>>>
    executeReference<float>(func::FuncOp, ArrayRef<RefValue<float>>);
template FailureOr<SmallVector<RefValue<double>>>
    executeReference<double>(func::FuncOp, ArrayRef<RefValue<double>>);

} // namespace mlir::simclr
