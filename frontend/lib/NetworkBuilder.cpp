//===- NetworkBuilder.cpp - Layer-by-layer construction of simclr graphs --===//
//
// Names follow torchvision's ResNet state_dict ("conv1.weight",
// "layer2.0.downsample.1.running_var") so an exported encoder loads into
// torchvision.models.resnet*, and the projection head is named as the
// nn.Sequential `projector` that would hold it (Linear, [BatchNorm1d], ReLU,
// ..., Linear; ReLU takes an index but has no parameters).
//
//===----------------------------------------------------------------------===//
#include "simclr/Frontend/GraphBuilder.h"

#include "simclr/Dialect/Simclr/IR/SimclrOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::simclr;

namespace simclr::frontend {

namespace {
/// Channels of the stem and first stage of a standard ResNet.
constexpr int64_t kResNetBaseWidth = 64;
/// A bottleneck block's output has 4x its inner width (He et al. 2016).
constexpr int64_t kBottleneckExpansion = 4;

// Initializers, recorded on each argument for the runtime (torchvision's).
constexpr llvm::StringLiteral kInitKaimingFanOut = "kaiming_normal_fan_out";
constexpr llvm::StringLiteral kInitUniformFanIn = "uniform_fan_in";
constexpr llvm::StringLiteral kInitOnes = "ones";
constexpr llvm::StringLiteral kInitZeros = "zeros";

constexpr llvm::StringLiteral kRoleWeight = "weight";
constexpr llvm::StringLiteral kRoleBias = "bias";
constexpr llvm::StringLiteral kRoleNorm = "norm";

int64_t baseWidth(const EncoderSpec &spec) {
  return std::max<int64_t>(
      1, std::llround(static_cast<double>(kResNetBaseWidth) * spec.widthMultiplier));
}

int64_t expansion(BlockKind block) {
  return block == BlockKind::kBottleneck ? kBottleneckExpansion : 1;
}
} // namespace

int64_t encoderFeatureDim(const EncoderSpec &spec) {
  int64_t stages = static_cast<int64_t>(spec.blocksPerStage.size());
  return (baseWidth(spec) << (stages - 1)) * expansion(spec.block);
}

NetworkBuilder::NetworkBuilder(func::FuncOp func, NormMode mode, Type elementType,
                               double bnEpsilon, double bnMomentum)
    : func_(func), builder_(func.getContext()), loc_(func.getLoc()), mode_(mode),
      elementType_(elementType), bnEpsilon_(bnEpsilon), bnMomentum_(bnMomentum) {
  assert(!func.getBody().empty() && "NetworkBuilder needs a function with an entry block");
  builder_.setInsertionPointToEnd(&func.getBody().front());
}

RankedTensorType NetworkBuilder::tensorType(ArrayRef<int64_t> shape) const {
  return RankedTensorType::get(shape, elementType_);
}

Value NetworkBuilder::addArgument(Type type, StringRef kind, StringRef name,
                                  StringRef role, StringRef init, int64_t fanIn) {
  Value arg = func_.getBody().front().addArgument(type, loc_);
  NamedAttrList attrs(getKindAndNameAttrs(builder_.getContext(), kind, name));
  if (!role.empty())
    attrs.append(kRoleAttrName, builder_.getStringAttr(role));
  if (!init.empty())
    attrs.append(kInitAttrName, builder_.getStringAttr(init));
  if (fanIn > 0)
    attrs.append(kFanInAttrName, builder_.getI64IntegerAttr(fanIn));
  argAttrs_.push_back(std::move(attrs));
  return arg;
}

Value NetworkBuilder::parameter(StringRef name, ArrayRef<int64_t> shape,
                                StringRef role, StringRef init, int64_t fanIn) {
  return addArgument(tensorType(shape), kKindParameter, name, role, init, fanIn);
}

Value NetworkBuilder::conv2d(Value input, StringRef name, int64_t filters,
                             int64_t kernel, int64_t stride, int64_t padding) {
  int64_t channels = cast<RankedTensorType>(input.getType()).getDimSize(1);
  // ResNet convolutions have no bias: the batch norm after each supplies it.
  Value weight = parameter((name + ".weight").str(), {filters, channels, kernel, kernel},
                           kRoleWeight, kInitKaimingFanOut);
  return builder_.create<Conv2DOp>(
      loc_, input, weight, /*bias=*/Value(),
      builder_.getDenseI64ArrayAttr({stride, stride}),
      builder_.getDenseI64ArrayAttr({padding, padding}),
      builder_.getDenseI64ArrayAttr({1, 1}), builder_.getI64IntegerAttr(1));
}

Value NetworkBuilder::batchNorm(Value input, StringRef name) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t channels = type.getDimSize(1);
  Value scale = parameter((name + ".weight").str(), {channels}, kRoleNorm, kInitOnes);
  Value shift = parameter((name + ".bias").str(), {channels}, kRoleNorm, kInitZeros);
  std::string meanName = (name + ".running_mean").str();
  std::string varName = (name + ".running_var").str();
  Value runningMean = addArgument(tensorType({channels}), kKindRunningStat,
                                  meanName, {}, kInitZeros);
  Value runningVar = addArgument(tensorType({channels}), kKindRunningStat,
                                 varName, {}, kInitOnes);
  FloatAttr epsilon = builder_.getF64FloatAttr(bnEpsilon_);
  if (mode_ == NormMode::kInference)
    return builder_.create<BatchNormInferenceOp>(loc_, input, scale, shift,
                                                 runningMean, runningVar, epsilon);

  auto norm = builder_.create<BatchNormTrainOp>(loc_, input, scale, shift, epsilon);
  int64_t count = type.getNumElements() / channels;
  auto update = builder_.create<RunningStatsUpdateOp>(
      loc_, runningMean, runningVar, norm.getBatchMean(), norm.getBatchVar(),
      builder_.getF64FloatAttr(bnMomentum_), builder_.getI64IntegerAttr(count));
  runningStatResults_.push_back(update.getNewMean());
  runningStatNames_.push_back(meanName);
  runningStatResults_.push_back(update.getNewVar());
  runningStatNames_.push_back(varName);
  return norm.getOutput();
}

Value NetworkBuilder::linear(Value input, StringRef name, int64_t outputs, bool bias) {
  int64_t inputs = cast<RankedTensorType>(input.getType()).getDimSize(1);
  Value weight = parameter((name + ".weight").str(), {outputs, inputs}, kRoleWeight,
                           kInitUniformFanIn, inputs);
  Value biasValue;
  if (bias)
    biasValue = parameter((name + ".bias").str(), {outputs}, kRoleBias, kInitUniformFanIn,
                          inputs);
  return builder_.create<LinearOp>(loc_, input, weight, biasValue);
}

Value NetworkBuilder::relu(Value input) { return builder_.create<ReluOp>(loc_, input); }

Value NetworkBuilder::add(Value lhs, Value rhs) {
  return builder_.create<AddOp>(loc_, lhs, rhs);
}

Value NetworkBuilder::maxPool(Value input, int64_t kernel, int64_t stride,
                              int64_t padding) {
  return builder_.create<MaxPool2DOp>(loc_, input,
                                      builder_.getDenseI64ArrayAttr({kernel, kernel}),
                                      builder_.getDenseI64ArrayAttr({stride, stride}),
                                      builder_.getDenseI64ArrayAttr({padding, padding}));
}

Value NetworkBuilder::globalAvgPool(Value input) {
  return builder_.create<GlobalAvgPoolOp>(loc_, input);
}

Value NetworkBuilder::resnetBlock(Value input, const std::string &name,
                                  int64_t width, int64_t stride, BlockKind block) {
  int64_t inChannels = cast<RankedTensorType>(input.getType()).getDimSize(1);
  int64_t outChannels = width * expansion(block);
  Value y;
  if (block == BlockKind::kBasic) {
    y = relu(batchNorm(conv2d(input, name + ".conv1", width, 3, stride, 1), name + ".bn1"));
    y = batchNorm(conv2d(y, name + ".conv2", width, 3, 1, 1), name + ".bn2");
  } else {
    // torchvision's ResNet v1.5: the stride sits on the 3x3 convolution.
    y = relu(batchNorm(conv2d(input, name + ".conv1", width, 1, 1, 0), name + ".bn1"));
    y = relu(batchNorm(conv2d(y, name + ".conv2", width, 3, stride, 1), name + ".bn2"));
    y = batchNorm(conv2d(y, name + ".conv3", outChannels, 1, 1, 0), name + ".bn3");
  }
  Value shortcut = input;
  if (stride != 1 || inChannels != outChannels)
    shortcut = batchNorm(conv2d(input, name + ".downsample.0", outChannels, 1, stride, 0),
                         name + ".downsample.1");
  return relu(add(y, shortcut));
}

Value NetworkBuilder::resnetEncoder(Value images, const EncoderSpec &spec) {
  int64_t width = baseWidth(spec);
  Value x;
  if (spec.stem == StemKind::kSmall) {
    x = relu(batchNorm(conv2d(images, "conv1", width, 3, 1, 1), "bn1"));
  } else {
    x = relu(batchNorm(conv2d(images, "conv1", width, 7, 2, 3), "bn1"));
    x = maxPool(x, 3, 2, 1);
  }
  for (auto [stage, blocks] : llvm::enumerate(spec.blocksPerStage)) {
    int64_t stageWidth = width << stage;
    for (int64_t b = 0; b < blocks; ++b) {
      int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
      std::string name = "layer" + std::to_string(stage + 1) + "." + std::to_string(b);
      x = resnetBlock(x, name, stageWidth, stride, spec.block);
    }
  }
  return globalAvgPool(x);
}

Value NetworkBuilder::projectionHead(Value features, const HeadSpec &spec) {
  int64_t index = 0;
  auto next = [&] { return "projector." + std::to_string(index++); };
  Value x = features;
  for (int64_t hidden : spec.hiddenDims) {
    x = linear(x, next(), hidden, spec.bias);
    if (spec.batchNorm)
      x = batchNorm(x, next());
    x = relu(x);
    ++index; // nn.ReLU occupies an index of the Sequential.
  }
  return linear(x, next(), spec.outputDim, spec.bias);
}

void NetworkBuilder::finish(ValueRange results, ArrayRef<StringRef> resultKinds) {
  assert(results.size() == resultKinds.size() && "one kind per result");
  SmallVector<Value> allResults(results.begin(), results.end());
  allResults.append(runningStatResults_.begin(), runningStatResults_.end());
  builder_.create<func::ReturnOp>(loc_, allResults);

  Block &entry = func_.getBody().front();
  SmallVector<Type> resultTypes;
  for (Value v : allResults)
    resultTypes.push_back(v.getType());
  func_.setType(builder_.getFunctionType(entry.getArgumentTypes(), resultTypes));
  for (auto [index, attrs] : llvm::enumerate(argAttrs_))
    func_.setArgAttrs(index, attrs.getDictionary(builder_.getContext()));
  MLIRContext *context = builder_.getContext();
  for (auto [index, kind] : llvm::enumerate(resultKinds))
    func_.setResultAttrs(index, getKindAndNameAttrs(context, kind));
  for (auto [offset, name] : llvm::enumerate(runningStatNames_))
    func_.setResultAttrs(results.size() + offset,
                         getKindAndNameAttrs(context, kKindRunningStat, name));
}

} // namespace simclr::frontend
