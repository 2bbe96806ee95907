//===- SpecLimitsTest.cpp - Overflow, size and finiteness checks of specs -===//
//
// Issue 14: counts derived from several spec keys wrapped silently, an
// enormous spec ran the compiler out of time, and non-finite values of
// C++-built specs reached code generation. Each case fails without the
// checks of SpecValidation.cpp's checkSizes, checkEncoder and finite().
//
//===----------------------------------------------------------------------===//
#include "simclr/Frontend/SpecReader.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <string>

namespace simclr::frontend {
namespace {

constexpr int64_t kHuge = std::numeric_limits<int64_t>::max() / 2;

std::string parseError(const std::string &text) {
  Expected<TrainingSpec> spec = parseSpec(text, "test.toml");
  return spec ? std::string() : spec.status().message();
}

TEST(SpecLimits, StepCountOverflowNamesEpochs) {
  EXPECT_EQ(parseError("[data]\ntrain_images = 4611686018427387903\nbatch_size = 2\n"
                       "[schedule]\nepochs = 5\nwarmup_epochs = 0\n"),
            "test.toml:5:10: error: schedule.epochs 5 x 2305843009213693951 steps per "
            "epoch (data.train_images / data.batch_size) does not fit in 64 bits; "
            "schedule.epochs is too large");
}

TEST(SpecLimits, DatasetBytesOverflowNamesTrainImages) {
  TrainingSpec spec;
  spec.data.trainImages = kHuge;
  Status status = validateSpec(spec);
  EXPECT_NE(status.message().find("the dataset's bytes, data.train_images " +
                                  std::to_string(kHuge)),
            std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find("data.train_images is too large"), std::string::npos);
}

TEST(SpecLimits, ViewBytesOverflowNamesBatchSize) {
  // Small images (the dataset fits) cropped and resized to a huge view.
  TrainingSpec spec;
  spec.data.batchSize = spec.data.trainImages = int64_t{1} << 30;
  AugmentationSpec crop;
  crop.kind = AugmentationKind::kRandomResizedCrop;
  crop.size = std::array<int64_t, 2>{int64_t{1} << 20, int64_t{1} << 20};
  spec.augmentations = {crop};
  Status status = validateSpec(spec);
  EXPECT_NE(status.message().find("a step's views in bytes"), std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find("data.batch_size is too large"), std::string::npos);
}

TEST(SpecLimits, WidthOverflowNamesWidthMultiplier) {
  TrainingSpec spec;
  spec.encoder.widthMultiplier = 1e30; // llround of 64e30 is not an int64
  Status status = validateSpec(spec);
  EXPECT_EQ(status.message(),
            "spec: error: encoder.width_multiplier 1e+30 gives round(64 * "
            "width_multiplier) channels, beyond 64-bit counts");
  spec.encoder.widthMultiplier = 1e9; // fits, but a 3x3 conv's weights do not
  status = validateSpec(spec);
  EXPECT_NE(status.message().find("the weights of a 3x3 convolution"), std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find("encoder.width_multiplier is too large"),
            std::string::npos);
}

TEST(SpecLimits, HeadWeightsOverflowNameTheDimension) {
  TrainingSpec spec;
  spec.head.hiddenDims = {int64_t{1} << 40, int64_t{1} << 40};
  Status status = validateSpec(spec);
  EXPECT_NE(status.message().find("head.hidden_dims[1] is too large"), std::string::npos)
      << status.message();
}

TEST(SpecLimits, EnormousEncoderIsRefused) {
  EXPECT_EQ(parseError("[encoder]\nblocks = [1000, 1000]\n"),
            "test.toml:2:10: error: encoder.blocks [1000, 1000] has more than 1024 "
            "blocks in all, deeper than any ResNet trained");
  // A count near INT64_MAX must not wrap the sum back below the limit.
  TrainingSpec spec;
  spec.encoder.blocksPerStage = {std::numeric_limits<int64_t>::max(), 2};
  EXPECT_NE(validateSpec(spec).message().find("has more than 1024 blocks"),
            std::string::npos);
}

TEST(SpecLimits, NonFiniteValuesOfCppSpecsAreRefused) {
  TrainingSpec spec;
  spec.loss.temperature = std::numeric_limits<double>::infinity();
  EXPECT_EQ(validateSpec(spec).message(),
            "spec: error: loss.temperature must be finite, got inf");
  spec = TrainingSpec();
  spec.optimizer.weightDecay = std::numeric_limits<double>::infinity();
  EXPECT_EQ(validateSpec(spec).message(),
            "spec: error: optimizer.weight_decay must be finite, got inf");
  spec = TrainingSpec();
  AugmentationSpec normalize;
  normalize.kind = AugmentationKind::kNormalize;
  normalize.mean = {std::nan("")};
  normalize.std = {0.5};
  spec.augmentations = {normalize};
  EXPECT_EQ(validateSpec(spec).message(),
            "spec: error: augment[0].mean must be finite, got [nan]");
}

} // namespace
} // namespace simclr::frontend
