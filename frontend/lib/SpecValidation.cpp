//===- SpecValidation.cpp - Semantic checks of a TrainingSpec -------------===//
//
// validateSpec checks what the TOML types cannot: ranges, per-channel list
// lengths, augmentations that would silently do nothing, and whether the
// encoder's downsampling layers fit the input. It serves spec files and
// C++-built specs alike; each error names its key and points at
// spec.locationOf(key), which is {sourceFile, 0, 0} for C++-built specs.
//
// Range checks test the valid condition (`value > 0`) rather than the invalid
// one, so that a NaN built in C++ fails them too.
//
//===----------------------------------------------------------------------===//
#include "simclr/Frontend/SpecReader.h"

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
    return checkEncoderInput();
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
    if (value > 0)
      return Status::ok();
    return fail(key, key + " must be > 0, got " + formatNumber(value));
  }

  Status nonNegative(const std::string &key, double value) const {
    if (value >= 0)
      return Status::ok();
    return fail(key, key + " must be >= 0, got " + formatNumber(value));
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
    SIMCLR_RETURN_IF_ERROR(
        positive("encoder.width_multiplier", encoder.widthMultiplier));
    if (std::lround(kBaseWidth * encoder.widthMultiplier) < 1)
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
    for (size_t c = 0; c < augment.std.size(); ++c)
      SIMCLR_RETURN_IF_ERROR(
          positive(path + ".std[" + std::to_string(c) + "]", augment.std[c]));
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
