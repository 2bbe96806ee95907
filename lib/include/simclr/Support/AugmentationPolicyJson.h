//===- AugmentationPolicyJson.h - An augmentation policy as JSON -*- C++ -*-===//
//
// The compiler writes the spec's augmentation policy into the artifact's
// training facts (artifact::Plan::trainingJson, key "augmentation") and the
// runtime's input pipeline reads it back, so both apply the same steps.
//
// Format: a JSON array with one object per step, in order. Every object has
// "kind" (augmentationKindName) and exactly the fields of that kind:
//
//   random_resized_crop  scale [lo, hi], ratio [lo, hi], size [h, w] (optional)
//   horizontal_flip      probability
//   color_jitter         probability, brightness, contrast, saturation, hue
//   random_grayscale     probability
//   gaussian_blur        probability, kernel_size, sigma [lo, hi]
//   normalize            mean [...], std [...]
//
// Numbers are written with enough digits to read back bit-identical. The
// reader is strict, because only machines write this: a missing or unknown
// key, or a wrong JSON type, is an error, and every step must pass
// validateAugmentationStep. Errors are one line: "augmentation[2]
// (color_jitter): missing key 'hue'".
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_SUPPORT_AUGMENTATIONPOLICYJSON_H
#define SIMCLR_SUPPORT_AUGMENTATIONPOLICYJSON_H

#include "simclr/Support/AugmentationPolicy.h"
#include "simclr/Support/Status.h"

#include <string>

namespace simclr {

/// The policy as a JSON array (compact, one line), as described above.
std::string policyToJson(const AugmentationPolicy &policy);

/// Parses JSON text written by policyToJson (kInvalidArgument on any
/// problem, naming the step and key).
Expected<AugmentationPolicy> policyFromJson(const std::string &text);

} // namespace simclr

#endif // SIMCLR_SUPPORT_AUGMENTATIONPOLICYJSON_H
