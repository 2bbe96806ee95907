//===- Augmenter.h - Applies an augmentation policy to a batch ---*- C++ -*-===//
//
// The input pipeline augments outside the compiled graph (simclrc
// --views-as-input) but with exactly the graph's semantics: for a step's
// key K, view v of the batch is the policy applied to the images with key
// foldIn(K, v), and policy step i draws from foldIn(view key, i), image n of
// the batch from ImageStream(step key, firstIndex + n) (docs/augmentations.md;
// firstIndex is 0 for the graph's whole batch, r * N for data-parallel rank
// r's share of the global batch, so its views equal that share of one
// process's views of the global batch). Two
// implementations exist: the reference one (lib/Reference/Augment.h, plain
// loops, the oracle) and the Halide one (AOT-compiled kernels, fast); both
// must give the same views.
//
// Ownership: the caller owns every buffer; an Augmenter keeps no pointer to
// them after augmentView returns. augmentView may be called from any one
// thread at a time per Augmenter object.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_AUGMENTER_H
#define SIMCLR_RUNTIME_AUGMENTER_H

#include "simclr/Support/AugmentationPolicy.h"
#include "simclr/Support/Philox.h"
#include "simclr/Support/Status.h"

#include <cstdint>
#include <memory>

namespace simclr {

/// A batch of uint8 images, NCHW, as the dataset readers store them.
struct ImageBatchView {
  const uint8_t *pixels = nullptr;
  int64_t count = 0;
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  /// The position of image 0 in the step's global batch: image n draws from
  /// ImageStream(step key, firstIndex + n).
  int64_t firstIndex = 0;
};

class Augmenter {
public:
  virtual ~Augmenter() = default;

  /// Size (height, width) of the views: the last crop's size, else the
  /// images' own.
  virtual std::pair<int64_t, int64_t> outputSize(int64_t height, int64_t width) const = 0;

  /// Writes view `viewKey` of `images` to `out` (count x channels x h x w
  /// float32, row-major, h x w = outputSize): pixels / 255 followed by the
  /// policy's steps. `outElements` is the capacity of `out`.
  virtual Status augmentView(const ImageBatchView &images, RngKey viewKey, float *out,
                             int64_t outElements) = 0;
};

/// The plain-loop Augmenter on lib/Reference's kernels: slow, obviously
/// correct, and the reference the Halide kernels are tested against.
/// Fails if the policy is invalid (the message names the step).
Expected<std::unique_ptr<Augmenter>> createReferenceAugmenter(AugmentationPolicy policy);

} // namespace simclr

#endif // SIMCLR_RUNTIME_AUGMENTER_H
