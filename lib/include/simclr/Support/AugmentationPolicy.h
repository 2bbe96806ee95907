//===- AugmentationPolicy.h - The augmentation steps of a policy -*- C++ -*-===//
//
// One definition of the augmentation policy for the compiler (the spec
// reader and graph builder) and the runtime (its input pipeline), whose
// semantics are those of the simclr dialect's augmentation ops and of
// docs/augmentations.md.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_SUPPORT_AUGMENTATIONPOLICY_H
#define SIMCLR_SUPPORT_AUGMENTATIONPOLICY_H

#include "simclr/Support/Status.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace simclr {

enum class AugmentationKind {
  kRandomResizedCrop,
  kHorizontalFlip,
  kColorJitter,
  kRandomGrayscale,
  kGaussianBlur,
  kNormalize,
};

/// One augmentation step. Only the fields of `kind` are meaningful; defaults
/// are torchvision's.
struct AugmentationStep {
  AugmentationKind kind = AugmentationKind::kRandomResizedCrop;
  /// Probability that the step is applied to an image (all but crop and
  /// normalize). The spec reader's per-kind defaults follow SimCLR's policy:
  /// flip 0.5, color_jitter 0.8, random_grayscale 0.2, gaussian_blur 0.5.
  double probability = 0.5;
  // random_resized_crop: area fraction and aspect-ratio ranges; output size
  // defaults to the data's height and width.
  std::array<double, 2> scale = {0.08, 1.0};
  std::array<double, 2> ratio = {3.0 / 4.0, 4.0 / 3.0};
  std::optional<std::array<int64_t, 2>> size;
  // color_jitter: factors as torchvision's ColorJitter takes them.
  double brightness = 0.0;
  double contrast = 0.0;
  double saturation = 0.0;
  double hue = 0.0;
  // gaussian_blur: odd kernel size and sigma range.
  int64_t kernelSize = 3;
  std::array<double, 2> sigma = {0.1, 2.0};
  // normalize: one mean and std per channel.
  std::vector<double> mean;
  std::vector<double> std;
};

/// The steps applied, in order, independently to each view.
using AugmentationPolicy = std::vector<AugmentationStep>;

/// The spec-file and op name of a kind ("random_resized_crop").
const char *augmentationKindName(AugmentationKind kind);

/// The checks of the augmentation ops' verifiers that need no image
/// (probabilities, ranges, kernel sizes, per-channel lists). Errors read
/// "augment[INDEX] (KIND): PROBLEM".
Status validateAugmentationStep(size_t index, const AugmentationStep &step);

/// The checks that need the view as it reaches step `index`: channel counts
/// (jitter, grayscale, normalize) and the blur kernel against the size.
Status validateAugmentationStepOnImages(size_t index, const AugmentationStep &step,
                                        int64_t channels, int64_t height, int64_t width);

} // namespace simclr

#endif // SIMCLR_SUPPORT_AUGMENTATIONPOLICY_H
