//===- TrainingConfig.h - The training facts of an artifact ------*- C++ -*-===//
//
// What simclr-train needs to know about a run beyond the compiled step: the
// batch, the data, the schedule's length, the seed and the augmentation
// policy. The compiler writes it into the artifact as
// artifact::Plan::trainingJson (trainingConfigToJson); the runtime reads it
// back (trainingConfigFromJson), so both sides share one definition of the
// keys:
//
//   {"batch_size": 256,            images per step N (>= 2)
//    "image_shape": [1, 28, 28],   C, H, W of the dataset's images
//    "steps_per_epoch": 234,       floor(dataset_size / batch_size)
//    "total_steps": 4680,          epochs * steps_per_epoch: the schedule's length
//    "seed": 0,                    unsigned 64-bit
//    "dataset": "fashion-mnist",   the spec's data.dataset
//    "dataset_size": 60000,        the spec's data.train_images
//    "augmentation": [...]}        AugmentationPolicyJson.h
//
// steps_per_epoch and total_steps are stepsPerEpoch and stepsForEpochs of
// TrainingSteps.h.
//
// Unknown keys are ignored (a newer compiler may add some); missing or
// mistyped ones are errors naming the key.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_SUPPORT_TRAININGCONFIG_H
#define SIMCLR_SUPPORT_TRAININGCONFIG_H

#include "simclr/Support/ArtifactPlan.h"
#include "simclr/Support/AugmentationPolicy.h"
#include "simclr/Support/Status.h"

#include <array>
#include <cstdint>
#include <string>

namespace simclr {

struct TrainingConfig {
  /// Images per step N; a step sees 2N views.
  int64_t batchSize = 0;
  /// Channels, height and width of the dataset's images (before
  /// augmentation; the views' size is the policy's last crop size).
  std::array<int64_t, 3> imageShape = {0, 0, 0};
  int64_t stepsPerEpoch = 0;
  /// The length of the compiled learning-rate schedule.
  int64_t totalSteps = 0;
  uint64_t seed = 0;
  /// "fashion-mnist", "cifar10", "stl10", "folder", ...
  std::string dataset;
  int64_t datasetSize = 0;
  AugmentationPolicy augmentation;
};

/// The config as JSON text (the file comment's keys, in that order).
std::string trainingConfigToJson(const TrainingConfig &config);

/// Parses and checks (batch >= 2, positive shape and counts, a valid
/// policy) a config; kInvalidArgument names the key.
Expected<TrainingConfig> trainingConfigFromJson(const std::string &json);

/// trainingConfigFromJson(plan.trainingJson), with the plan's spec name as
/// the messages' prefix.
Expected<TrainingConfig> trainingConfigFromPlan(const artifact::Plan &plan);

} // namespace simclr

#endif // SIMCLR_SUPPORT_TRAININGCONFIG_H
