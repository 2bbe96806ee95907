//===- PoolTest.cpp - Tests for reference max and global average pooling --===//
#include "TestUtil.h"

namespace simclr::ref {
namespace {

using testing::take;
using testing::TensorD;

constexpr double kExact = 1e-12;

Pool2dOptions makePool(std::array<int64_t, 2> kernel,
                       std::array<int64_t, 2> stride,
                       std::array<int64_t, 2> padding) {
  Pool2dOptions options;
  options.kernel = kernel;
  options.stride = stride;
  options.padding = padding;
  return options;
}

TEST(MaxPoolTest, HandComputed) {
  TensorD x({1, 1, 4, 4}, {1, 5, 2, 0, 3, 4, 8, 1, 9, 0, 2, 2, 1, 1, 3, 7});
  TensorD y = take(maxPool2d(x, makePool({2, 2}, {2, 2}, {0, 0})));
  testing::expectTensorNear(y, {5, 8, 9, 7}, kExact);
}

TEST(MaxPoolTest, FloorModeDropsPartialWindows) {
  TensorD x = TensorD::zeros({1, 1, 5, 5});
  TensorD y = take(maxPool2d(x, makePool({2, 2}, {2, 2}, {0, 0})));
  EXPECT_EQ(y.shape, (std::vector<int64_t>{1, 1, 2, 2}));
}

TEST(MaxPoolTest, PaddingIsNegativeInfinity) {
  // All inputs negative: zero padding would wrongly yield 0 at the borders.
  TensorD x({1, 1, 3, 3}, {-1, -2, -3, -4, -5, -6, -7, -8, -9});
  TensorD y = take(maxPool2d(x, makePool({3, 3}, {2, 2}, {1, 1})));
  testing::expectTensorNear(y, {-1, -2, -4, -5}, kExact);
}

TEST(MaxPoolTest, BackwardRoutesToFirstMaximumOnTies) {
  // Window (0,0) = {5,5,5,2}: first is (0,0). Window (0,1) = {5,1,2,5}:
  // first is (0,1), not (1,2).
  TensorD x({1, 1, 2, 3}, {5, 5, 1, 5, 2, 5});
  TensorD dy({1, 1, 1, 2}, {1, 10});
  TensorD dx = take(maxPool2dBackward(dy, x, makePool({2, 2}, {1, 1}, {0, 0})));
  testing::expectTensorNear(dx, {1, 10, 0, 0, 0, 0}, kExact);
}

TEST(MaxPoolTest, BackwardAccumulatesOverlappingWindows) {
  TensorD x({1, 1, 1, 3}, {0, 9, 0});
  TensorD dy({1, 1, 1, 2}, {2, 3});
  TensorD dx = take(maxPool2dBackward(dy, x, makePool({1, 2}, {1, 1}, {0, 0})));
  testing::expectTensorNear(dx, {0, 5, 0}, kExact);
}

TEST(MaxPoolTest, NanWins) {
  TensorD x({1, 1, 1, 2}, {1, NAN});
  TensorD y = take(maxPool2d(x, makePool({1, 2}, {1, 1}, {0, 0})));
  EXPECT_TRUE(std::isnan(y.data[0]));
}

struct PoolCase {
  std::vector<int64_t> xShape;
  Pool2dOptions options;
};

/// Readable test parameters in failure messages.
void PrintTo(const PoolCase &c, std::ostream *os) {
  const Pool2dOptions &o = c.options;
  *os << "x" << shapeToString(c.xShape) << " kernel " << o.kernel[0] << "x"
      << o.kernel[1] << " stride " << o.stride[0] << "x" << o.stride[1]
      << " padding " << o.padding[0] << "x" << o.padding[1];
}

class MaxPoolGradTest : public ::testing::TestWithParam<PoolCase> {};

TEST_P(MaxPoolGradTest, BackwardMatchesFiniteDifferences) {
  std::mt19937_64 rng(21);
  // Distinct values 0.01 apart: no ties within the finite-difference step.
  constexpr double kGap = 0.01;
  TensorD x = testing::distinctTensor(GetParam().xShape, rng, kGap, -1.0);
  TensorD y = take(maxPool2d(x, GetParam().options));
  TensorD r = testing::randomTensor(y.shape, rng);
  TensorD dx = take(maxPool2dBackward(r, x, GetParam().options));
  testing::expectGradientMatches(
      "dx", dx,
      [&](const TensorD &p) {
        return testing::dot(take(maxPool2d(p, GetParam().options)), r);
      },
      x);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, MaxPoolGradTest,
    ::testing::Values(PoolCase{{2, 3, 7, 6}, makePool({3, 3}, {2, 2}, {1, 1})},
                      PoolCase{{3, 2, 5, 5}, makePool({2, 2}, {2, 2}, {0, 0})},
                      PoolCase{{2, 2, 6, 7},
                               makePool({3, 2}, {1, 2}, {1, 0})}));

TEST(MaxPoolTest, RejectsOversizedPadding) {
  EXPECT_FALSE(maxPool2d(TensorD::zeros({1, 1, 4, 4}),
                         makePool({2, 2}, {1, 1}, {2, 2})));
  EXPECT_FALSE(
      maxPool2d(TensorD::zeros({1, 4, 4}), makePool({2, 2}, {1, 1}, {0, 0})));
}

TEST(GlobalAvgPoolTest, HandComputed) {
  TensorD x({1, 2, 2, 2}, {1, 2, 3, 4, 10, 20, 30, 40});
  testing::expectTensorNear(take(globalAvgPool(x)), {2.5, 25}, kExact);
}

TEST(GlobalAvgPoolTest, BackwardMatchesFiniteDifferences) {
  std::mt19937_64 rng(4);
  TensorD x = testing::randomTensor({3, 4, 5, 3}, rng);
  TensorD r = testing::randomTensor({3, 4}, rng);
  TensorD dx = take(globalAvgPoolBackward(r, x.shape));
  testing::expectGradientMatches(
      "dx", dx,
      [&](const TensorD &p) { return testing::dot(take(globalAvgPool(p)), r); },
      x);
  EXPECT_FALSE(globalAvgPoolBackward(TensorD::zeros({3, 5}), x.shape));
}

} // namespace
} // namespace simclr::ref
