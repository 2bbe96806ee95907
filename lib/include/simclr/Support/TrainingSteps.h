//===- TrainingSteps.h - Steps per epoch and per run ------------*- C++ -*-===//
//
// How many optimizer steps an epoch and a run of several epochs have, for
// everything that counts them: simclrc (the spec's steps_per_epoch and
// total_steps in the artifact's training facts, TrainingConfig.h, and the
// learning-rate schedule's warmup_steps and total_steps), simclr-train
// (--epochs) and the input pipeline (the epoch of a step).
// bench/pytorch_simclr.py trains PyTorch by the same formula.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_SUPPORT_TRAININGSTEPS_H
#define SIMCLR_SUPPORT_TRAININGSTEPS_H

#include "simclr/Support/CheckedMath.h"

#include <cassert>
#include <cstdint>
#include <optional>

namespace simclr {

/// Steps in one epoch of `images` images in batches of `batchSize`:
/// floor(images / batchSize). The last partial batch is dropped (PyTorch's
/// drop_last), so every step sees the batch the step was compiled for.
constexpr int64_t stepsPerEpoch(int64_t images, int64_t batchSize) {
  assert(batchSize >= 1 && "callers validate the batch size first");
  return images / batchSize;
}

/// Steps in `epochs` epochs: stepsPerEpoch(images, batchSize) * epochs.
constexpr int64_t stepsForEpochs(int64_t images, int64_t batchSize,
                                 int64_t epochs) {
  return stepsPerEpoch(images, batchSize) * epochs;
}

/// stepsForEpochs, or nothing when the product does not fit in int64_t
/// (a user's --epochs or schedule.epochs: callers name it).
inline std::optional<int64_t> checkedStepsForEpochs(int64_t images, int64_t batchSize,
                                                    int64_t epochs) {
  return checkedMul(stepsPerEpoch(images, batchSize), epochs);
}

} // namespace simclr

#endif // SIMCLR_SUPPORT_TRAININGSTEPS_H
