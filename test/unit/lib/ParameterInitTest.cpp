//===- ParameterInitTest.cpp - Tests of deterministic initialization ------===//
#include "simclr/Support/ParameterInit.h"

#include <gtest/gtest.h>

#include <cmath>

namespace simclr {
namespace {

double mean(const std::vector<float> &v) {
  double sum = 0;
  for (float x : v)
    sum += x;
  return sum / v.size();
}

double stddev(const std::vector<float> &v) {
  double m = mean(v), sum = 0;
  for (float x : v)
    sum += (x - m) * (x - m);
  return std::sqrt(sum / v.size());
}

TEST(ParameterInitTest, KaimingNormalHasTorchvisionsStd) {
  // A 256x128x3x3 convolution: fan_out = 256 * 9, std = sqrt(2 / 2304).
  std::vector<float> values;
  ASSERT_TRUE(initializeTensor(InitKind::kKaimingNormalFanOut, {256, 128, 3, 3}, 0, 1,
                               "layer3.0.conv1.weight", values)
                  .isOk());
  ASSERT_EQ(values.size(), 256u * 128 * 9);
  double expected = std::sqrt(2.0 / (256 * 9));
  // 294912 samples: the standard error of the std estimate is ~0.13%.
  EXPECT_NEAR(stddev(values), expected, 0.01 * expected);
  EXPECT_NEAR(mean(values), 0.0, 0.01 * expected);
}

TEST(ParameterInitTest, UniformFanInStaysInItsBound) {
  std::vector<float> values;
  ASSERT_TRUE(initializeTensor(InitKind::kUniformFanIn, {128}, 512, 3, "projector.2.bias", values)
                  .isOk());
  double bound = 1.0 / std::sqrt(512.0);
  float lo = values[0], hi = values[0];
  for (float v : values) {
    EXPECT_GE(v, -bound);
    EXPECT_LT(v, bound);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  // 128 uniform samples span most of the interval.
  EXPECT_LT(lo, -0.8 * bound);
  EXPECT_GT(hi, 0.8 * bound);
}

TEST(ParameterInitTest, DeterministicPerSeedAndName) {
  std::vector<float> a, b, c, d;
  ASSERT_TRUE(initializeTensor(InitKind::kKaimingNormalFanOut, {8, 3, 3, 3}, 0, 42, "w", a).isOk());
  ASSERT_TRUE(initializeTensor(InitKind::kKaimingNormalFanOut, {8, 3, 3, 3}, 0, 42, "w", b).isOk());
  ASSERT_TRUE(initializeTensor(InitKind::kKaimingNormalFanOut, {8, 3, 3, 3}, 0, 43, "w", c).isOk());
  ASSERT_TRUE(initializeTensor(InitKind::kKaimingNormalFanOut, {8, 3, 3, 3}, 0, 42, "v", d).isOk());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  std::vector<float> ones, zeros;
  ASSERT_TRUE(initializeTensor(InitKind::kOnes, {3}, 0, 0, "bn.weight", ones).isOk());
  ASSERT_TRUE(initializeTensor(InitKind::kZeros, {3}, 0, 0, "bn.bias", zeros).isOk());
  EXPECT_EQ(ones, std::vector<float>(3, 1.0f));
  EXPECT_EQ(zeros, std::vector<float>(3, 0.0f));
}

TEST(ParameterInitTest, RejectsWhatItCannotInitialize) {
  std::vector<float> values;
  Status noFanIn = initializeTensor(InitKind::kUniformFanIn, {4}, 0, 0, "fc.bias", values);
  EXPECT_EQ(noFanIn.message(), "uniform_fan_in needs a positive fan_in for 'fc.bias'");
  Status vector = initializeTensor(InitKind::kKaimingNormalFanOut, {4}, 0, 0, "w", values);
  EXPECT_EQ(vector.message(), "kaiming_normal_fan_out needs a weight of rank >= 2, but 'w' has rank 1");
  Expected<InitKind> unknown = parseInitKind("xavier");
  ASSERT_FALSE(unknown.hasValue());
  EXPECT_EQ(unknown.status().message(),
            "unknown initialization 'xavier': expected kaiming_normal_fan_out, uniform_fan_in, "
            "ones or zeros");
  for (InitKind kind : {InitKind::kKaimingNormalFanOut, InitKind::kUniformFanIn, InitKind::kOnes,
                        InitKind::kZeros})
    EXPECT_EQ(*parseInitKind(initKindName(kind)), kind);
}

} // namespace
} // namespace simclr
