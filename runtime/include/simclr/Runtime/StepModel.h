//===- StepModel.h - What the training loop trains ---------------*- C++ -*-===//
//
// The training loop (TrainingLoop.h) drives a StepModel: one optimizer step
// per call on a batch of augmented views, and state saved to and restored
// from safetensors files. The compiled artifact's Executor is one
// (ExecutorModel.h); tests use a small deterministic model, so the loop,
// checkpoints and resume are tested without an artifact.
//
// Ownership and threads: the loop borrows its StepModel and calls it from
// one thread.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_STEPMODEL_H
#define SIMCLR_RUNTIME_STEPMODEL_H

#include "simclr/Support/Status.h"

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace simclr {

/// Key/value pairs for a safetensors header's "__metadata__".
using StateMetadata = std::vector<std::pair<std::string, std::string>>;

class StepModel {
public:
  virtual ~StepModel() = default;

  /// Runs training step `step` (0-based: it drives the learning-rate
  /// schedule) on `views`: 2N x C x H x W float32, the N images' view 0 then
  /// view 1 (InputPipeline's Batch::views). Updates the state in place.
  virtual Status trainStep(std::span<const float> views, int64_t step) = 0;
  /// The loss and learning rate of the last trainStep.
  virtual float lastLoss() const = 0;
  virtual float lastLearningRate() const = 0;

  /// Writes the whole state to `path` as safetensors, atomically and
  /// durably (writeFileAtomically: temp file, fsync, rename, fsync of the
  /// directory), with `metadata` in the header's "__metadata__". When it
  /// returns OK the file survives a crash.
  virtual Status saveState(const std::string &path,
                           const StateMetadata &metadata) const = 0;
  /// Replaces the whole state with the one saved at `path`.
  virtual Status loadState(const std::string &path) = 0;
  /// loadState's checks without loading: an error names the first tensor
  /// that differs from this model's state. Models whose loadState checks
  /// nothing beyond reading need not override it.
  virtual Status checkStateFile(const std::string &path) const {
    (void)path;
    return Status::ok();
  }

  /// Identifies the network whose state this is (the artifact's
  /// planIdentity: its state tensors, not the target that runs them):
  /// checkpoints record it, and resuming under another identity is refused.
  virtual std::string identity() const = 0;
};

} // namespace simclr

#endif // SIMCLR_RUNTIME_STEPMODEL_H
