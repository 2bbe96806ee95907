//===- TrainingStepsTest.cpp - Tests for steps per epoch and per run ------===//
#include "simclr/Support/TrainingSteps.h"

#include <gtest/gtest.h>

namespace simclr {
namespace {

TEST(TrainingStepsTest, DropsTheLastPartialBatch) {
  // Fashion-MNIST's 60000 training images in batches of 256: 234 full
  // batches, 96 images left over.
  EXPECT_EQ(stepsPerEpoch(60000, 256), 234);
  EXPECT_EQ(stepsPerEpoch(512, 256), 2);
  EXPECT_EQ(stepsPerEpoch(255, 256), 0);
}

TEST(TrainingStepsTest, EpochsMultiplyWholeEpochs) {
  // The default spec: 8 epochs, 1 of them warm-up (fashion-mnist.test).
  EXPECT_EQ(stepsForEpochs(60000, 256, 8), 1872);
  EXPECT_EQ(stepsForEpochs(60000, 256, 1), 234);
  EXPECT_EQ(stepsForEpochs(60000, 256, 0), 0);
  // Rounded per epoch, not over the run: 3 epochs of 10 images in batches
  // of 4 are 3 * 2 steps, not floor(30 / 4) = 7.
  EXPECT_EQ(stepsForEpochs(10, 4, 3), 6);
}

} // namespace
} // namespace simclr
