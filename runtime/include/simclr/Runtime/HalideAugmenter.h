//===- HalideAugmenter.h - The Halide (AOT) augmenter ------------*- C++ -*-===//
//
// An Augmenter whose pixel work runs in Halide kernels compiled ahead of time
// (runtime/Augment/generators, one generator per augmentation), vectorized
// and parallel over the images of a batch. Per-image random parameters are
// sampled on the host with lib/Reference's sampling functions
// (sampleCropWindow, sampleColorJitter, sampleGaussianBlur and the flip and
// grayscale draws) from ImageStream(foldIn(viewKey, step), n), so the draws
// are those of the reference augmenter by construction; the kernels apply
// the fixed transforms in float32 and agree with the reference kernels up to
// float rounding (test/unit/augment states the tolerances).
//
// Built only when Halide 14 is found (CMake target SimclrHalideAugment).
// Ownership and threading as Augmenter.h; the Halide thread pool is process
// wide.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_HALIDEAUGMENTER_H
#define SIMCLR_RUNTIME_HALIDEAUGMENTER_H

#include "simclr/Runtime/Augmenter.h"

namespace simclr {

/// The Halide Augmenter for `policy`. Fails if the policy is invalid (the
/// message names the step); checks that depend on the images (channel
/// count, blur kernel versus image size) are made by augmentView.
Expected<std::unique_ptr<Augmenter>> createHalideAugmenter(AugmentationPolicy policy);

/// Sets the number of threads of Halide's process-wide thread pool, as the
/// HL_NUM_THREADS environment variable does; `threads` >= 1. Call it before
/// the first augmentView: Halide 14's pool does not shrink once its threads
/// run (measured: 1 after 2 kept both busy). Results do not depend on it.
void setHalideThreadCount(int threads);

} // namespace simclr

#endif // SIMCLR_RUNTIME_HALIDEAUGMENTER_H
