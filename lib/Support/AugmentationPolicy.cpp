//===- AugmentationPolicy.cpp - Names and checks of policy steps ----------===//
//
// The constraints of the augmentation ops' verifiers (SimclrOps.td), for the
// augmenters that apply a policy outside the graph.
//
//===----------------------------------------------------------------------===//
#include "simclr/Support/AugmentationPolicy.h"
#include "simclr/Support/Format.h"

#include <algorithm>
#include <string>

namespace simclr {

namespace {

/// Largest hue shift torchvision's ColorJitter accepts (the op verifier's).
constexpr double kMaxHueShift = 0.5;

std::string num(double value) { return formatNumber(value); }

/// "augment[i] (kind): problem", the one-line error of policy step i.
Status stepError(size_t index, const AugmentationStep &step, const std::string &problem) {
  return invalidArgument("augment[" + std::to_string(index) + "] (" +
                         augmentationKindName(step.kind) + "): " + problem);
}

std::string rangeProblem(const char *name, const std::array<double, 2> &range, bool bounded) {
  return std::string(name) + " = [" + num(range[0]) + ", " + num(range[1]) +
         "] must satisfy 0 < lo <= hi" + (bounded ? " <= 1" : "");
}

/// 0 < lo <= hi (<= 1 when bounded); written so that NaN fails.
bool rangeOk(const std::array<double, 2> &range, bool bounded) {
  return range[0] > 0.0 && range[0] <= range[1] && (!bounded || range[1] <= 1.0);
}

bool probabilityOk(double p) { return p >= 0.0 && p <= 1.0; }

} // namespace

const char *augmentationKindName(AugmentationKind kind) {
  switch (kind) {
  case AugmentationKind::kRandomResizedCrop:
    return "random_resized_crop";
  case AugmentationKind::kHorizontalFlip:
    return "horizontal_flip";
  case AugmentationKind::kColorJitter:
    return "color_jitter";
  case AugmentationKind::kRandomGrayscale:
    return "random_grayscale";
  case AugmentationKind::kGaussianBlur:
    return "gaussian_blur";
  case AugmentationKind::kNormalize:
    return "normalize";
  }
  return "unknown";
}

Status validateAugmentationStep(size_t index, const AugmentationStep &step) {
  auto fail = [&](const std::string &problem) { return stepError(index, step, problem); };
  bool hasProbability = step.kind != AugmentationKind::kRandomResizedCrop &&
                        step.kind != AugmentationKind::kNormalize;
  if (hasProbability && !probabilityOk(step.probability))
    return fail("probability p = " + num(step.probability) + " must be in [0, 1]");
  switch (step.kind) {
  case AugmentationKind::kRandomResizedCrop:
    if (!rangeOk(step.scale, /*bounded=*/true))
      return fail(rangeProblem("scale", step.scale, true));
    if (!rangeOk(step.ratio, /*bounded=*/false))
      return fail(rangeProblem("ratio", step.ratio, false));
    if (step.size && ((*step.size)[0] < 1 || (*step.size)[1] < 1))
      return fail("size = [" + std::to_string((*step.size)[0]) + ", " +
                  std::to_string((*step.size)[1]) + "] must be positive");
    return Status::ok();
  case AugmentationKind::kColorJitter: {
    struct Factor {
      const char *name;
      double value;
    };
    for (Factor factor : {Factor{"brightness", step.brightness}, Factor{"contrast", step.contrast},
                          Factor{"saturation", step.saturation}})
      if (!(factor.value >= 0.0))
        return fail(std::string(factor.name) + " = " + num(factor.value) + " must be >= 0");
    if (!(step.hue >= 0.0 && step.hue <= kMaxHueShift))
      return fail("hue = " + num(step.hue) + " must be in [0, 0.5]");
    return Status::ok();
  }
  case AugmentationKind::kGaussianBlur:
    if (step.kernelSize < 1 || step.kernelSize % 2 == 0)
      return fail("kernel_size = " + std::to_string(step.kernelSize) +
                  " must be odd and positive");
    if (!rangeOk(step.sigma, /*bounded=*/false))
      return fail(rangeProblem("sigma", step.sigma, false));
    return Status::ok();
  case AugmentationKind::kNormalize:
    if (step.mean.empty() || step.mean.size() != step.std.size())
      return fail("mean and std need one entry per channel, got " +
                  std::to_string(step.mean.size()) + " and " + std::to_string(step.std.size()));
    for (size_t c = 0; c < step.std.size(); ++c)
      if (!(step.std[c] > 0.0))
        return fail("std[" + std::to_string(c) + "] = " + num(step.std[c]) + " must be > 0");
    return Status::ok();
  case AugmentationKind::kHorizontalFlip:
  case AugmentationKind::kRandomGrayscale:
    return Status::ok();
  }
  return fail("unknown augmentation kind");
}

Status validateAugmentationStepOnImages(size_t index, const AugmentationStep &step,
                                        int64_t channels, int64_t height, int64_t width) {
  auto fail = [&](const std::string &problem) { return stepError(index, step, problem); };
  switch (step.kind) {
  case AugmentationKind::kColorJitter:
    if (channels != 1 && channels != 3)
      return fail("expects 1 or 3 channels, got " + std::to_string(channels));
    if (channels == 1 && (step.saturation > 0.0 || step.hue > 0.0))
      return fail("saturation and hue need 3 channels; the input has 1");
    return Status::ok();
  case AugmentationKind::kRandomGrayscale:
    if (channels != 3)
      return fail("expects 3 channels, got " + std::to_string(channels));
    return Status::ok();
  case AugmentationKind::kGaussianBlur: {
    // Reflect padding of radius r needs r < side: K <= 2 * side - 1.
    int64_t side = std::min(height, width);
    if (step.kernelSize > 2 * side - 1)
      return fail("kernel_size = " + std::to_string(step.kernelSize) + " is too large for a " +
                  std::to_string(height) + "x" + std::to_string(width) +
                  " image (reflect padding needs kernel_size <= " +
                  std::to_string(2 * side - 1) + ")");
    return Status::ok();
  }
  case AugmentationKind::kNormalize:
    if (static_cast<int64_t>(step.mean.size()) != channels)
      return fail("mean and std need " + std::to_string(channels) +
                  " entries (one per channel), got " + std::to_string(step.mean.size()) +
                  " and " + std::to_string(step.std.size()));
    return Status::ok();
  case AugmentationKind::kRandomResizedCrop:
  case AugmentationKind::kHorizontalFlip:
    return Status::ok();
  }
  return Status::ok();
}

} // namespace simclr
