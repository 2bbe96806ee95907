//===- GoldenSpec.h - The spec of the PyTorch golden files ------*- C++ -*-===//
//
// The small ResNet that scripts/make_pytorch_goldens.py trains in PyTorch
// (test/golden/), as a TrainingSpec: the autodiff golden test runs it in the
// reference executor, the compiled-step test through simclrc and the
// runtime's Executor.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_TEST_UNIT_COMMON_GOLDENSPEC_H
#define SIMCLR_TEST_UNIT_COMMON_GOLDENSPEC_H

#include "simclr/Frontend/TrainingSpec.h"

namespace simclr::testing {

namespace frontend = ::simclr::frontend;

inline constexpr int64_t kGoldenImages = 4;
inline constexpr int64_t kGoldenImageSide = 8;

/// The golden setup as a spec; the optimizer and learning rate vary.
inline frontend::TrainingSpec goldenSpec(double temperature, frontend::OptimizerKind kind) {
  frontend::TrainingSpec spec;
  spec.data.channels = 3;
  spec.data.height = spec.data.width = kGoldenImageSide;
  spec.data.batchSize = kGoldenImages;
  spec.data.trainImages = kGoldenImages;
  spec.encoder.blocksPerStage = {1, 1, 1, 1};
  spec.encoder.widthMultiplier = 4.0 / 64.0;
  spec.encoder.stem = frontend::StemKind::kSmall;
  spec.head.hiddenDims = {16};
  spec.head.outputDim = 8;
  spec.loss.temperature = temperature;
  // A constant learning rate: no warm-up, cosine from lr to lr.
  spec.schedule.epochs = 10;
  spec.schedule.warmupEpochs = 0;
  spec.schedule.finalLearningRateFraction = 1.0;
  spec.optimizer.kind = kind;
  switch (kind) {
  case frontend::OptimizerKind::kSgd:
    spec.optimizer.learningRate = 0.1;
    spec.optimizer.momentum = 0.9;
    spec.optimizer.weightDecay = 1e-4;
    break;
  case frontend::OptimizerKind::kAdamW:
    spec.optimizer.learningRate = 1e-3;
    spec.optimizer.weightDecay = 1e-4;
    break;
  case frontend::OptimizerKind::kLars:
    spec.optimizer.learningRate = 0.5;
    spec.optimizer.momentum = 0.9;
    spec.optimizer.weightDecay = 1e-6;
    spec.optimizer.trustCoefficient = 1e-3;
    spec.optimizer.excludeBiasAndNorm = true;
    break;
  }
  return spec;
}

} // namespace simclr::testing

#endif // SIMCLR_TEST_UNIT_COMMON_GOLDENSPEC_H
