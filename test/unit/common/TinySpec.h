//===- TinySpec.h - A network small enough for whole-step tests -*- C++ -*-===//
//
// Two stages of one basic block at 4-8 channels, 4 images of 3 x 8 x 8, a
// crop and a flip: small enough to run whole train steps in the reference
// executor. Tests set the optimizer and add augmentations as they need.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_TEST_UNIT_COMMON_TINYSPEC_H
#define SIMCLR_TEST_UNIT_COMMON_TINYSPEC_H

#include "simclr/Frontend/TrainingSpec.h"

namespace simclr::testing {

inline constexpr int64_t kTinyImages = 4;
inline constexpr int64_t kTinySide = 8;

inline frontend::TrainingSpec tinyAugmentedSpec(frontend::OptimizerKind optimizer) {
  frontend::TrainingSpec spec;
  spec.data.channels = 3;
  spec.data.height = spec.data.width = kTinySide;
  spec.data.batchSize = kTinyImages;
  spec.data.trainImages = kTinyImages;
  spec.encoder.blocksPerStage = {1, 1};
  spec.encoder.widthMultiplier = 4.0 / 64.0;
  spec.head.hiddenDims = {8};
  spec.head.outputDim = 4;
  spec.optimizer.kind = optimizer;
  spec.optimizer.learningRate = 0.05;
  spec.schedule.epochs = 100;
  spec.schedule.warmupEpochs = 0;
  frontend::AugmentationSpec crop;
  crop.kind = frontend::AugmentationKind::kRandomResizedCrop;
  crop.scale = {0.5, 1.0};
  frontend::AugmentationSpec flip;
  flip.kind = frontend::AugmentationKind::kHorizontalFlip;
  spec.augmentations = {crop, flip};
  return spec;
}

} // namespace simclr::testing

#endif // SIMCLR_TEST_UNIT_COMMON_TINYSPEC_H
