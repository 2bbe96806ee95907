//===- ConvTest.cpp - Tests for the reference 2-D convolution -------------===//
#include "TestUtil.h"

namespace simclr::ref {
namespace {

using testing::take;
using testing::TensorD;

/// Exact arithmetic on small integers; any error is a wrong formula.
constexpr double kExact = 1e-12;

TensorD oneToNine() {
  return TensorD({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST(ConvTest, IsCrossCorrelationWithBias) {
  TensorD w({1, 1, 2, 2}, {1, 2, 3, 4});
  TensorD bias({1}, {1});
  TensorD y = take(conv2d(oneToNine(), w, &bias, Conv2dOptions{}));
  EXPECT_EQ(y.shape, (std::vector<int64_t>{1, 1, 2, 2}));
  // y[0,0] = 1*1 + 2*2 + 4*3 + 5*4 + 1; a flipped kernel would give 24.
  testing::expectTensorNear(y, {38, 48, 68, 78}, kExact);
}

TEST(ConvTest, ZeroPaddingAndStride) {
  TensorD w = TensorD::full({1, 1, 3, 3}, 1.0);
  Conv2dOptions options;
  options.stride = {2, 2};
  options.padding = {1, 1};
  TensorD y = take(conv2d(oneToNine(), w, nullptr, options));
  // Windows centred on the four corners: 1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9.
  testing::expectTensorNear(y, {12, 16, 24, 28}, kExact);
}

TEST(ConvTest, Dilation) {
  TensorD w = TensorD::full({1, 1, 2, 2}, 1.0);
  Conv2dOptions options;
  options.dilation = {2, 2};
  TensorD y = take(conv2d(oneToNine(), w, nullptr, options));
  EXPECT_EQ(y.shape, (std::vector<int64_t>{1, 1, 1, 1}));
  testing::expectTensorNear(y, {1 + 3 + 7 + 9}, kExact);
}

TEST(ConvTest, OutputSizeFormula) {
  // ResNet's stem: 224 -> 112 with a 7x7 kernel, stride 2, padding 3.
  EXPECT_EQ(convOutputSize(224, 7, 2, 3, 1), 112);
  // floor((7 + 2 - 2*2 - 1) / 2) + 1 = 3.
  EXPECT_EQ(convOutputSize(7, 3, 2, 1, 2), 3);
  EXPECT_LE(convOutputSize(2, 5, 1, 0, 1), 0);
}

TEST(ConvTest, GroupsConvolveChannelSlicesSeparately) {
  std::mt19937_64 rng(11);
  constexpr int64_t kGroups = 2;
  TensorD x = testing::randomTensor({2, 4, 5, 5}, rng);
  TensorD w = testing::randomTensor({6, 2, 3, 3}, rng);
  Conv2dOptions grouped;
  grouped.groups = kGroups;
  TensorD y = take(conv2d(x, w, nullptr, grouped));
  for (int64_t g = 0; g < kGroups; ++g) {
    // Slice input channels [2g, 2g+2) and filters [3g, 3g+3).
    TensorD xs = TensorD::zeros({2, 2, 5, 5});
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t c = 0; c < 2; ++c)
        for (int64_t h = 0; h < 5; ++h)
          for (int64_t v = 0; v < 5; ++v)
            xs.at(n, c, h, v) = x.at(n, 2 * g + c, h, v);
    TensorD ws = TensorD::zeros({3, 2, 3, 3});
    for (size_t i = 0; i < ws.data.size(); ++i)
      ws.data[i] = w.data[static_cast<size_t>(g) * ws.data.size() + i];
    TensorD ys = take(conv2d(xs, ws, nullptr, Conv2dOptions{}));
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t f = 0; f < 3; ++f)
        for (int64_t h = 0; h < 3; ++h)
          for (int64_t v = 0; v < 3; ++v)
            EXPECT_NEAR(y.at(n, 3 * g + f, h, v), ys.at(n, f, h, v), kExact);
  }
}

struct ConvCase {
  std::vector<int64_t> xShape;
  std::vector<int64_t> wShape;
  Conv2dOptions options;
};

/// Readable test parameters in failure messages.
void PrintTo(const ConvCase &c, std::ostream *os) {
  const Conv2dOptions &o = c.options;
  *os << "x" << shapeToString(c.xShape) << " w" << shapeToString(c.wShape)
      << " stride " << o.stride[0] << "x" << o.stride[1] << " padding "
      << o.padding[0] << "x" << o.padding[1] << " dilation " << o.dilation[0]
      << "x" << o.dilation[1] << " groups " << o.groups;
}

class ConvGradTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvGradTest, BackwardMatchesFiniteDifferences) {
  const ConvCase &c = GetParam();
  std::mt19937_64 rng(1234);
  TensorD x = testing::randomTensor(c.xShape, rng);
  TensorD w = testing::randomTensor(c.wShape, rng);
  TensorD bias = testing::randomTensor({c.wShape[0]}, rng);
  TensorD y = take(conv2d(x, w, &bias, c.options));
  TensorD r = testing::randomTensor(y.shape, rng);
  Conv2dGrads<double> grads = take(conv2dBackward(r, x, w, true, c.options));

  testing::expectGradientMatches(
      "dx", grads.dx,
      [&](const TensorD &p) {
        return testing::dot(take(conv2d(p, w, &bias, c.options)), r);
      },
      x);
  testing::expectGradientMatches(
      "dw", grads.dw,
      [&](const TensorD &p) {
        return testing::dot(take(conv2d(x, p, &bias, c.options)), r);
      },
      w);
  testing::expectGradientMatches(
      "dbias", grads.dbias,
      [&](const TensorD &p) {
        return testing::dot(take(conv2d(x, w, &p, c.options)), r);
      },
      bias);
}

Conv2dOptions makeOptions(std::array<int64_t, 2> stride,
                          std::array<int64_t, 2> padding,
                          std::array<int64_t, 2> dilation, int64_t groups) {
  Conv2dOptions options;
  options.stride = stride;
  options.padding = padding;
  options.dilation = dilation;
  options.groups = groups;
  return options;
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvGradTest,
    ::testing::Values(
        ConvCase{
            {2, 3, 7, 6}, {4, 3, 3, 3}, makeOptions({1, 1}, {0, 0}, {1, 1}, 1)},
        ConvCase{
            {3, 4, 9, 8}, {6, 2, 3, 2}, makeOptions({2, 2}, {1, 1}, {1, 1}, 2)},
        ConvCase{
            {2, 2, 8, 7}, {4, 2, 3, 3}, makeOptions({2, 1}, {2, 1}, {2, 2}, 1)},
        ConvCase{
            {5, 6, 5, 5}, {6, 2, 1, 1}, makeOptions({1, 1}, {0, 0}, {1, 1}, 3)},
        // Depthwise, as in separable convolutions.
        ConvCase{{2, 4, 7, 7},
                 {4, 1, 3, 3},
                 makeOptions({2, 2}, {1, 1}, {2, 1}, 4)}));

TEST(ConvTest, NoBiasLeavesDbiasEmpty) {
  std::mt19937_64 rng(5);
  TensorD x = testing::randomTensor({1, 2, 4, 4}, rng);
  TensorD w = testing::randomTensor({3, 2, 3, 3}, rng);
  TensorD dy = testing::randomTensor({1, 3, 2, 2}, rng);
  Conv2dGrads<double> grads =
      take(conv2dBackward(dy, x, w, false, Conv2dOptions{}));
  EXPECT_TRUE(grads.dbias.data.empty());
  EXPECT_EQ(grads.dw.shape, w.shape);
}

TEST(ConvTest, FloatAgreesWithDouble) {
  std::mt19937_64 rng(8);
  TensorD x = testing::randomTensor({2, 3, 6, 6}, rng);
  TensorD w = testing::randomTensor({4, 3, 3, 3}, rng);
  Conv2dOptions options = makeOptions({2, 2}, {1, 1}, {1, 1}, 1);
  TensorD y = take(conv2d(x, w, nullptr, options));
  Tensor<float> yf =
      take(conv2d(x.cast<float>(), w.cast<float>(), nullptr, options));
  // 27-term dot products of O(1) values: float rounding stays below 1e-5.
  testing::expectTensorNear(yf, y.data, 1e-5);
}

TEST(ConvTest, RejectsMismatchedChannels) {
  TensorD x = TensorD::zeros({1, 3, 5, 5});
  TensorD w = TensorD::zeros({2, 2, 3, 3});
  Expected<TensorD> y = conv2d(x, w, nullptr, Conv2dOptions{});
  ASSERT_FALSE(y);
  EXPECT_EQ(y.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(y.status().message().find("conv2d"), std::string::npos);
  EXPECT_NE(y.status().message().find("[2, 2, 3, 3]"), std::string::npos);
}

TEST(ConvTest, RejectsBadGroupsAndBias) {
  TensorD x = TensorD::zeros({1, 4, 5, 5});
  TensorD w = TensorD::zeros({3, 2, 3, 3});
  Conv2dOptions options;
  options.groups = 2;
  EXPECT_FALSE(conv2d(x, w, nullptr, options)) << "3 filters in 2 groups";
  TensorD w2 = TensorD::zeros({4, 4, 3, 3});
  TensorD bias = TensorD::zeros({3});
  EXPECT_FALSE(conv2d(x, w2, &bias, Conv2dOptions{}));
  TensorD dy = TensorD::zeros({1, 4, 2, 2});
  EXPECT_FALSE(conv2dBackward(dy, x, w2, false, Conv2dOptions{}))
      << "dy must be [1, 4, 3, 3]";
}

} // namespace
} // namespace simclr::ref
