//===- SpecValidation.cpp - Semantic checks of a TrainingSpec -------------===//
//
// validateSpec checks what the TOML types cannot: ranges, per-channel list
// lengths, augmentations that would silently do nothing, and whether the
// encoder's downsampling layers fit the input. It serves spec files and
// C++-built specs alike; each error names its key and points at
// spec.locationOf(key), which is {sourceFile, 0, 0} for C++-built specs.
//
// Range checks test the valid condition (`value > 0`) rather than the invalid
// one, so that a NaN built in C++ fails them too; TOML's inf and nan are
// refused everywhere (code generation cannot print them as attributes).
// Counts derived from several keys (steps, dataset and view sizes, channel
// and parameter counts) are computed overflow-checked (CheckedMath.h) and a
// spec whose counts leave 64 bits is refused naming the key.
//
//===----------------------------------------------------------------------===//
#include "simclr/Frontend/SpecReader.h"
#include "simclr/Support/CheckedMath.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

namespace simclr::frontend {
namespace {

/// Channels of the stem and first stage at width multiplier 1 (ResNet's 64).
constexpr int64_t kBaseWidth = 64;
/// Largest hue shift torchvision's ColorJitter accepts (half the hue circle).
constexpr double kMaxHue = 0.5;
/// Smallest feature map a stride-2 layer may downsample; a 1-pixel map has
/// nothing left to halve.
constexpr int64_t kMinDownsampleInput = 2;
/// Most residual blocks an encoder may have. The deepest ResNets published
/// have 333 (ResNet-1001); past this, graph building and compilation time
/// grow without a model anyone trains, so an enormous spec is refused up
/// front instead of running the compiler out of time or memory.
constexpr int64_t kMaxEncoderBlocks = 1024;
/// Channel expansion of a bottleneck block (ResNet-50's 4); NetworkBuilder's.
constexpr int64_t kBottleneckChannelExpansion = 4;
/// Weights of a 3x3 convolution per (input, output) channel pair.
constexpr int64_t kConv3x3Taps = 9;
/// Views per image in a SimCLR step.
constexpr int64_t kViewsPerImage = 2;
/// Enough significant digits to print any double so that it reads back
/// exactly.
constexpr int kMaxDoubleDigits = 17;

/// Formats a double with the fewest digits that read back exactly ("0.1",
/// "1e-06"), so messages echo what the user wrote.
std::string formatNumber(double value) {
  char buffer[64];
  for (int digits = 1; digits <= kMaxDoubleDigits; ++digits) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", digits, value);
    if (std::strtod(buffer, nullptr) == value)
      break;
  }
  return buffer;
}

std::string formatNumber(int64_t value) { return std::to_string(value); }

template <typename T> std::string formatList(const T &values) {
  std::string text = "[";
  for (const auto &value : values) {
    if (text.size() > 1)
      text += ", ";
    text += formatNumber(value);
  }
  return text + "]";
}

std::string formatSize(int64_t height, int64_t width) {
  return std::to_string(height) + "x" + std::to_string(width);
}

class Validator {
public:
  explicit Validator(const TrainingSpec &spec) : spec(spec) {}

  Status run() {
    SIMCLR_RETURN_IF_ERROR(checkData());
    SIMCLR_RETURN_IF_ERROR(checkEncoder());
    SIMCLR_RETURN_IF_ERROR(checkHead());
    SIMCLR_RETURN_IF_ERROR(checkLossAndOptimizer());
    SIMCLR_RETURN_IF_ERROR(checkSchedule());
    for (size_t i = 0; i < spec.augmentations.size(); ++i)
      SIMCLR_RETURN_IF_ERROR(checkAugmentation(i));
    SIMCLR_RETURN_IF_ERROR(checkEncoderInput());
    return checkSizes();
  }

private:
  Status fail(const std::string &key, const std::string &message) const {
    return invalidArgument(formatSpecError(spec.locationOf(key), message));
  }

  Status atLeast(const std::string &key, int64_t value, int64_t min) const {
    if (value >= min)
      return Status::ok();
    return fail(key, key + " must be at least " + std::to_string(min) +
                         ", got " + std::to_string(value));
  }

  Status positive(const std::string &key, double value) const {
    if (!(value > 0))
      return fail(key, key + " must be > 0, got " + formatNumber(value));
    return finite(key, value);
  }

  Status nonNegative(const std::string &key, double value) const {
    if (!(value >= 0))
      return fail(key, key + " must be >= 0, got " + formatNumber(value));
    return finite(key, value);
  }

  Status finite(const std::string &key, double value) const {
    if (std::isfinite(value))
      return Status::ok();
    return fail(key, key + " must be finite, got " + formatNumber(value));
  }

  template <typename T> Status allFinite(const std::string &key, const T &values) const {
    for (double value : values)
      if (!std::isfinite(value))
        return fail(key, key + " must be finite, got " + formatList(values));
    return Status::ok();
  }

  /// Checks lo <= value <= hi, or lo <= value < hi when `hiOpen`.
  Status inRange(const std::string &key, double value, double lo, double hi,
                 bool hiOpen) const {
    if (value >= lo && (hiOpen ? value < hi : value <= hi))
      return Status::ok();
    return fail(key, key + " must be in [" + formatNumber(lo) + ", " +
                         formatNumber(hi) + (hiOpen ? ")" : "]") + ", got " +
                         formatNumber(value));
  }

  Status checkData() const {
    const DataSpec &data = spec.data;
    SIMCLR_RETURN_IF_ERROR(atLeast("data.channels", data.channels, 1));
    if (!(data.height >= 1 && data.width >= 1))
      return fail(
          "data.image_size",
          "data.image_size must be at least [1, 1], got " +
              formatList(std::vector<int64_t>{data.height, data.width}));
    if (data.batchSize < 2)
      return fail("data.batch_size",
                  "data.batch_size must be at least 2, got " +
                      std::to_string(data.batchSize) +
                      ": NT-Xent contrasts each view with the other views "
                      "of the batch, so a batch of 1 leaves it no negatives");
    if (data.trainImages < data.batchSize)
      return fail("data.train_images",
                  "data.train_images must be at least data.batch_size (" +
                      std::to_string(data.batchSize) + "), got " +
                      std::to_string(data.trainImages) +
                      ": incomplete batches are dropped, so an epoch would "
                      "have no steps");
    return Status::ok();
  }

  Status checkEncoder() const {
    const EncoderSpec &encoder = spec.encoder;
    if (encoder.blocksPerStage.empty())
      return fail("encoder.blocks",
                  "encoder.blocks must list at least one stage");
    for (size_t i = 0; i < encoder.blocksPerStage.size(); ++i)
      SIMCLR_RETURN_IF_ERROR(
          atLeast("encoder.blocks[" + std::to_string(i) + "]",
                  encoder.blocksPerStage[i], 1));
    int64_t blocks = 0;
    for (int64_t count : encoder.blocksPerStage)
      blocks = count > kMaxEncoderBlocks - blocks ? kMaxEncoderBlocks + 1 : blocks + count;
    if (blocks > kMaxEncoderBlocks)
      return fail("encoder.blocks", "encoder.blocks " + formatList(encoder.blocksPerStage) +
                                        " has more than " +
                                        std::to_string(kMaxEncoderBlocks) +
                                        " blocks in all, deeper than any ResNet trained");
    SIMCLR_RETURN_IF_ERROR(
        positive("encoder.width_multiplier", encoder.widthMultiplier));
    std::optional<int64_t> stemWidth = checkedRound(kBaseWidth * encoder.widthMultiplier);
    if (!stemWidth)
      return fail("encoder.width_multiplier",
                  "encoder.width_multiplier " + formatNumber(encoder.widthMultiplier) +
                      " gives round(" + std::to_string(kBaseWidth) +
                      " * width_multiplier) channels, beyond 64-bit counts");
    if (*stemWidth < 1)
      return fail("encoder.width_multiplier",
                  "encoder.width_multiplier " +
                      formatNumber(encoder.widthMultiplier) +
                      " leaves the stem no channels: round(" +
                      std::to_string(kBaseWidth) +
                      " * width_multiplier) must be at least 1");
    SIMCLR_RETURN_IF_ERROR(positive("encoder.bn_epsilon", encoder.bnEpsilon));
    return inRange("encoder.bn_momentum", encoder.bnMomentum, 0, 1,
                   /*hiOpen=*/false);
  }

  Status checkHead() const {
    const HeadSpec &head = spec.head;
    for (size_t i = 0; i < head.hiddenDims.size(); ++i)
      SIMCLR_RETURN_IF_ERROR(
          atLeast("head.hidden_dims[" + std::to_string(i) + "]",
                  head.hiddenDims[i], 1));
    return atLeast("head.output_dim", head.outputDim, 1);
  }

  Status checkLossAndOptimizer() const {
    SIMCLR_RETURN_IF_ERROR(positive("loss.temperature", spec.loss.temperature));
    const OptimizerSpec &optimizer = spec.optimizer;
    SIMCLR_RETURN_IF_ERROR(positive("optimizer.lr", optimizer.learningRate));
    SIMCLR_RETURN_IF_ERROR(
        nonNegative("optimizer.weight_decay", optimizer.weightDecay));
    SIMCLR_RETURN_IF_ERROR(inRange("optimizer.momentum", optimizer.momentum, 0,
                                   1, /*hiOpen=*/true));
    SIMCLR_RETURN_IF_ERROR(
        inRange("optimizer.betas[0]", optimizer.beta1, 0, 1, /*hiOpen=*/true));
    SIMCLR_RETURN_IF_ERROR(
        inRange("optimizer.betas[1]", optimizer.beta2, 0, 1, /*hiOpen=*/true));
    SIMCLR_RETURN_IF_ERROR(positive("optimizer.epsilon", optimizer.epsilon));
    return positive("optimizer.trust_coefficient", optimizer.trustCoefficient);
  }

  Status checkSchedule() const {
    const ScheduleSpec &schedule = spec.schedule;
    SIMCLR_RETURN_IF_ERROR(atLeast("schedule.epochs", schedule.epochs, 1));
    if (schedule.warmupEpochs < 0 || schedule.warmupEpochs > schedule.epochs)
      return fail("schedule.warmup_epochs",
                  "schedule.warmup_epochs must be in [0, schedule.epochs = " +
                      std::to_string(schedule.epochs) + "], got " +
                      std::to_string(schedule.warmupEpochs));
    return inRange("schedule.final_lr_fraction",
                   schedule.finalLearningRateFraction, 0, 1,
                   /*hiOpen=*/false);
  }

  Status checkAugmentation(size_t index) const {
    const AugmentationSpec &augment = spec.augmentations[index];
    std::string path = "augment[" + std::to_string(index) + "]";
    switch (augment.kind) {
    case AugmentationKind::kRandomResizedCrop:
      return checkCrop(augment, path);
    case AugmentationKind::kHorizontalFlip:
      return checkProbability(augment, path);
    case AugmentationKind::kColorJitter:
      return checkColorJitter(augment, path);
    case AugmentationKind::kRandomGrayscale:
      // torchvision's RandomGrayscale returns a 1-channel image unchanged.
      if (spec.data.channels == 1)
        return fail(path + ".op",
                    path + " (random_grayscale) would do nothing: "
                           "data.channels is 1, so images are already "
                           "grayscale");
      return checkProbability(augment, path);
    case AugmentationKind::kGaussianBlur:
      return checkBlur(augment, path);
    case AugmentationKind::kNormalize:
      return checkNormalize(augment, index, path);
    }
    return Status::ok();
  }

  Status checkProbability(const AugmentationSpec &augment,
                          const std::string &path) const {
    return inRange(path + ".p", augment.probability, 0, 1, /*hiOpen=*/false);
  }

  Status checkCrop(const AugmentationSpec &augment,
                   const std::string &path) const {
    const auto &scale = augment.scale;
    if (!(scale[0] > 0 && scale[0] <= scale[1] && scale[1] <= 1))
      return fail(path + ".scale", path +
                                       ".scale must satisfy 0 < lo <= hi <= "
                                       "1, got " +
                                       formatList(scale));
    const auto &ratio = augment.ratio;
    SIMCLR_RETURN_IF_ERROR(allFinite(path + ".ratio", ratio));
    if (!(ratio[0] > 0 && ratio[0] <= ratio[1]))
      return fail(path + ".ratio",
                  path + ".ratio must satisfy 0 < lo <= hi, got " +
                      formatList(ratio));
    if (augment.size && !((*augment.size)[0] >= 1 && (*augment.size)[1] >= 1))
      return fail(path + ".size", path + ".size must be at least [1, 1], got " +
                                      formatList(*augment.size));
    return Status::ok();
  }

  Status checkColorJitter(const AugmentationSpec &augment,
                          const std::string &path) const {
    SIMCLR_RETURN_IF_ERROR(
        nonNegative(path + ".brightness", augment.brightness));
    SIMCLR_RETURN_IF_ERROR(nonNegative(path + ".contrast", augment.contrast));
    SIMCLR_RETURN_IF_ERROR(
        nonNegative(path + ".saturation", augment.saturation));
    SIMCLR_RETURN_IF_ERROR(
        inRange(path + ".hue", augment.hue, 0, kMaxHue, /*hiOpen=*/false));
    // torchvision's adjust_saturation and adjust_hue return 1-channel images
    // unchanged, so asking for either on grayscale data is a mistake.
    if (spec.data.channels == 1) {
      for (auto [key, value] : {std::pair{"saturation", augment.saturation},
                                std::pair{"hue", augment.hue}}) {
        if (value > 0)
          return fail(path + "." + key,
                      path + "." + key + " " + formatNumber(value) +
                          " would do nothing: data.channels is 1 and "
                          "torchvision leaves the " +
                          key + " of 1-channel images unchanged");
      }
    }
    return checkProbability(augment, path);
  }

  Status checkBlur(const AugmentationSpec &augment,
                   const std::string &path) const {
    if (!(augment.kernelSize >= 1 && augment.kernelSize % 2 == 1))
      return fail(path + ".kernel_size",
                  path + ".kernel_size must be odd and at least 1, got " +
                      std::to_string(augment.kernelSize));
    const auto &sigma = augment.sigma;
    SIMCLR_RETURN_IF_ERROR(allFinite(path + ".sigma", sigma));
    if (!(sigma[0] > 0 && sigma[0] <= sigma[1]))
      return fail(path + ".sigma",
                  path + ".sigma must satisfy 0 < lo <= hi, got " +
                      formatList(sigma));
    return checkProbability(augment, path);
  }

  Status checkNormalize(const AugmentationSpec &augment, size_t index,
                        const std::string &path) const {
    // Normalization maps pixels to the encoder's input scale; a later step
    // (a jitter, a second normalize) would work on the wrong scale.
    if (index + 1 != spec.augmentations.size())
      return fail(path + ".op",
                  path + " (normalize) must be the last augmentation step, "
                         "and there may be only one");
    auto channels = static_cast<size_t>(spec.data.channels);
    for (auto [key, values] :
         {std::pair{"mean", &augment.mean}, std::pair{"std", &augment.std}}) {
      if (values->size() != channels)
        return fail(path + "." + key, path + "." + key + " has " +
                                          std::to_string(values->size()) +
                                          " values but data.channels is " +
                                          std::to_string(spec.data.channels) +
                                          "; give one per channel");
    }
    SIMCLR_RETURN_IF_ERROR(allFinite(path + ".mean", augment.mean));
    for (size_t c = 0; c < augment.std.size(); ++c)
      SIMCLR_RETURN_IF_ERROR(
          positive(path + ".std[" + std::to_string(c) + "]", augment.std[c]));
    return Status::ok();
  }

  /// The counts that several keys multiply into, each overflow-checked:
  /// steps, the dataset's and a step's views' sizes, the widest layer's
  /// channels, its 3x3 convolution's weights and activations, the head's
  /// weights. Runs after every range check (all factors are >= 1).
  Status checkSizes() const {
    const DataSpec &data = spec.data;
    auto tooLarge = [&](const std::string &key, const std::string &what) {
      return fail(key, what + " does not fit in 64 bits; " + key + " is too large");
    };
    int64_t stepsPerEpoch = data.trainImages / data.batchSize;
    if (!checkedMul(stepsPerEpoch, spec.schedule.epochs))
      return tooLarge("schedule.epochs",
                      "schedule.epochs " + std::to_string(spec.schedule.epochs) + " x " +
                          std::to_string(stepsPerEpoch) +
                          " steps per epoch (data.train_images / data.batch_size)");
    std::string imageSize = formatSize(data.height, data.width);
    if (!checkedProduct({data.trainImages, data.channels, data.height, data.width}))
      return tooLarge("data.train_images",
                      "the dataset's bytes, data.train_images " +
                          std::to_string(data.trainImages) + " x data.channels " +
                          std::to_string(data.channels) + " x data.image_size " + imageSize + ",");
    auto [height, width] = encoderInputSize(spec);
    std::string viewSize = formatSize(height, width);
    if (!checkedProduct({kViewsPerImage, data.batchSize, data.channels, height, width,
                         static_cast<int64_t>(sizeof(float))}))
      return tooLarge("data.batch_size",
                      "a step's views in bytes, 2 x data.batch_size " +
                          std::to_string(data.batchSize) + " x " +
                          std::to_string(data.channels) + " channels x " + viewSize +
                          " x 4,");
    // The last stage's width: round(64 x width_multiplier) doubled per
    // stage, times the bottleneck expansion (NetworkBuilder's formula).
    const EncoderSpec &encoder = spec.encoder;
    std::optional<int64_t> widest = checkedRound(kBaseWidth * encoder.widthMultiplier);
    for (size_t stage = 1; widest && stage < encoder.blocksPerStage.size(); ++stage)
      widest = checkedMul(*widest, 2);
    if (widest && encoder.block == BlockKind::kBottleneck)
      widest = checkedMul(*widest, kBottleneckChannelExpansion);
    std::string widthWhat = "the last stage's channels, round(64 x encoder.width_multiplier " +
                            formatNumber(encoder.widthMultiplier) + ") x 2^" +
                            std::to_string(encoder.blocksPerStage.size() - 1) +
                            (encoder.block == BlockKind::kBottleneck ? " x 4" : "");
    if (!widest)
      return tooLarge("encoder.width_multiplier", widthWhat + ",");
    if (!checkedProduct({*widest, *widest, kConv3x3Taps}))
      return tooLarge("encoder.width_multiplier",
                      "the weights of a 3x3 convolution of " + std::to_string(*widest) +
                          " channels (" + widthWhat + ")");
    if (!checkedProduct({kViewsPerImage, data.batchSize, *widest, height, width,
                         static_cast<int64_t>(sizeof(float))}))
      return tooLarge("data.batch_size",
                      "an activation's bytes, 2 x data.batch_size " +
                          std::to_string(data.batchSize) + " x " + std::to_string(*widest) +
                          " channels x " + viewSize + " x 4,");
    int64_t inputs = *widest;
    std::vector<int64_t> dims = spec.head.hiddenDims;
    dims.push_back(spec.head.outputDim);
    for (size_t i = 0; i < dims.size(); ++i) {
      std::string key = i + 1 == dims.size() ? "head.output_dim"
                                             : "head.hidden_dims[" + std::to_string(i) + "]";
      if (!checkedProduct({inputs, dims[i], static_cast<int64_t>(sizeof(float))}))
        return tooLarge(key, "the weights' bytes of the head's layer " + std::to_string(i) +
                                 ", " + std::to_string(inputs) + " x " +
                                 std::to_string(dims[i]) + " x 4,");
      inputs = dims[i];
    }
    return Status::ok();
  }

  /// Walks the encoder's downsampling layers (the imagenet stem's 7x7
  /// stride-2 conv and 3x3 stride-2 max-pool, then the first stride-2 conv
  /// of every stage after stage 0). Each maps a size s to floor((s-1)/2)+1
  /// and needs s >= 2.
  Status checkEncoderInput() const {
    std::vector<std::string> layers;
    if (spec.encoder.stem == StemKind::kImageNet)
      layers = {"the stem's 7x7 convolution", "the stem's max-pool"};
    for (size_t stage = 1; stage < spec.encoder.blocksPerStage.size(); ++stage)
      layers.push_back("stage " + std::to_string(stage));

    auto [height, width] = encoderInputSize(spec);
    int64_t mapHeight = height;
    int64_t mapWidth = width;
    for (const std::string &layer : layers) {
      if (mapHeight < kMinDownsampleInput || mapWidth < kMinDownsampleInput)
        return reportTooSmall(height, width, layer, mapHeight, mapWidth,
                              layers.size());
      mapHeight = (mapHeight - 1) / 2 + 1;
      mapWidth = (mapWidth - 1) / 2 + 1;
    }
    return Status::ok();
  }

  Status reportTooSmall(int64_t height, int64_t width, const std::string &layer,
                        int64_t mapHeight, int64_t mapWidth,
                        size_t downsamplings) const {
    // The last layer needs 2; ceil(s/2) >= n holds iff s >= 2n-1, so going
    // backwards each earlier layer needs 2n-1.
    int64_t minimum = kMinDownsampleInput;
    for (size_t i = 1; i < downsamplings; ++i)
      minimum = minimum > std::numeric_limits<int64_t>::max() / 2
                    ? std::numeric_limits<int64_t>::max()
                    : 2 * minimum - 1;
    std::string key = "data.image_size";
    for (size_t i = 0; i < spec.augmentations.size(); ++i) {
      const AugmentationSpec &augment = spec.augmentations[i];
      if (augment.kind != AugmentationKind::kRandomResizedCrop)
        continue;
      key = augment.size ? "augment[" + std::to_string(i) + "].size"
                         : "data.image_size";
    }
    return fail(key,
                key + " " + formatList(std::vector<int64_t>{height, width}) +
                    " is too small for the encoder: " + layer +
                    " would downsample a " + formatSize(mapHeight, mapWidth) +
                    " feature map; this encoder needs at least " +
                    formatSize(minimum, minimum));
  }

  const TrainingSpec &spec;
};

} // namespace

std::pair<int64_t, int64_t> encoderInputSize(const TrainingSpec &spec) {
  std::pair<int64_t, int64_t> size = {spec.data.height, spec.data.width};
  for (const AugmentationSpec &augment : spec.augmentations) {
    if (augment.kind != AugmentationKind::kRandomResizedCrop)
      continue;
    // A crop without a size resizes back to the data's size.
    size = augment.size ? std::pair{(*augment.size)[0], (*augment.size)[1]}
                        : std::pair{spec.data.height, spec.data.width};
  }
  return size;
}

Status validateSpec(const TrainingSpec &spec) { return Validator(spec).run(); }

} // namespace simclr::frontend
