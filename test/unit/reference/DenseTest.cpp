//===- DenseTest.cpp - Tests for dense, element-wise and data movement ---===//
#include "TestUtil.h"

namespace simclr::ref {
namespace {

using testing::take;
using testing::TensorD;

constexpr double kExact = 1e-12;

TEST(LinearTest, HandComputed) {
  TensorD x({1, 2}, {1, 2});
  TensorD w({3, 2}, {1, 0, 0, 1, 1, 1});
  TensorD b({3}, {0.5, 0.5, 0.5});
  testing::expectTensorNear(take(linear(x, w, &b)), {1.5, 2.5, 3.5}, kExact);
  testing::expectTensorNear(take(linear(x, w, nullptr)), {1, 2, 3}, kExact);
}

TEST(LinearTest, BackwardMatchesFiniteDifferences) {
  std::mt19937_64 rng(9);
  TensorD x = testing::randomTensor({4, 5}, rng);
  TensorD w = testing::randomTensor({3, 5}, rng);
  TensorD b = testing::randomTensor({3}, rng);
  TensorD r = testing::randomTensor({4, 3}, rng);
  LinearGrads<double> grads = take(linearBackward(r, x, w, true));
  testing::expectGradientMatches(
      "dx", grads.dx,
      [&](const TensorD &p) { return testing::dot(take(linear(p, w, &b)), r); },
      x);
  testing::expectGradientMatches(
      "dw", grads.dw,
      [&](const TensorD &p) { return testing::dot(take(linear(x, p, &b)), r); },
      w);
  testing::expectGradientMatches(
      "db", grads.db,
      [&](const TensorD &p) { return testing::dot(take(linear(x, w, &p)), r); },
      b);
  EXPECT_TRUE(take(linearBackward(r, x, w, false)).db.data.empty());
}

TEST(LinearTest, RejectsMismatchedWeight) {
  Expected<TensorD> y =
      linear(TensorD::zeros({2, 4}), TensorD::zeros({3, 5}), nullptr);
  ASSERT_FALSE(y);
  EXPECT_NE(y.status().message().find("linear"), std::string::npos);
  EXPECT_NE(y.status().message().find("[3, 5]"), std::string::npos);
}

TEST(MatmulTest, AllTransposeCombinations) {
  TensorD a({2, 2}, {1, 2, 3, 4});
  TensorD b({2, 2}, {5, 6, 7, 8});
  testing::expectTensorNear(take(matmul(a, b, false, false)), {19, 22, 43, 50},
                            kExact);
  testing::expectTensorNear(take(matmul(a, b, true, false)), {26, 30, 38, 44},
                            kExact);
  testing::expectTensorNear(take(matmul(a, b, false, true)), {17, 23, 39, 53},
                            kExact);
  testing::expectTensorNear(take(matmul(a, b, true, true)), {23, 31, 34, 46},
                            kExact);
}

class MatmulGradTest : public ::testing::TestWithParam<std::tuple<bool, bool>> {
};

TEST_P(MatmulGradTest, BackwardMatchesFiniteDifferences) {
  auto [transposeA, transposeB] = GetParam();
  std::mt19937_64 rng(10);
  // op(a) is [3,4] and op(b) is [4,5].
  TensorD a = testing::randomTensor(transposeA ? std::vector<int64_t>{4, 3}
                                               : std::vector<int64_t>{3, 4},
                                    rng);
  TensorD b = testing::randomTensor(transposeB ? std::vector<int64_t>{5, 4}
                                               : std::vector<int64_t>{4, 5},
                                    rng);
  TensorD r = testing::randomTensor({3, 5}, rng);
  BinaryGrads<double> grads =
      take(matmulBackward(r, a, b, transposeA, transposeB));
  testing::expectGradientMatches(
      "da", grads.da,
      [&](const TensorD &p) {
        return testing::dot(take(matmul(p, b, transposeA, transposeB)), r);
      },
      a);
  testing::expectGradientMatches(
      "db", grads.db,
      [&](const TensorD &p) {
        return testing::dot(take(matmul(a, p, transposeA, transposeB)), r);
      },
      b);
}

INSTANTIATE_TEST_SUITE_P(Transposes, MatmulGradTest,
                         ::testing::Combine(::testing::Bool(),
                                            ::testing::Bool()));

TEST(MatmulTest, RejectsContractionMismatch) {
  Expected<TensorD> c =
      matmul(TensorD::zeros({2, 3}), TensorD::zeros({2, 3}), false, false);
  ASSERT_FALSE(c);
  EXPECT_NE(c.status().message().find("matmul"), std::string::npos);
  EXPECT_TRUE(
      matmul(TensorD::zeros({2, 3}), TensorD::zeros({2, 3}), false, true));
}

TEST(ReluTest, ForwardAndNan) {
  TensorD x({4}, {-1, 0, 2, NAN});
  TensorD y = take(relu(x));
  EXPECT_EQ(y.data[0], 0);
  EXPECT_EQ(y.data[1], 0);
  EXPECT_EQ(y.data[2], 2);
  EXPECT_TRUE(std::isnan(y.data[3]));
}

TEST(ReluTest, BackwardIsZeroAtTheKink) {
  TensorD y({3}, {0, 1, 0});
  TensorD dy({3}, {5, 6, 7});
  testing::expectTensorNear(take(reluBackward(dy, y)), {0, 6, 0}, kExact);
}

TEST(ReluTest, BackwardMatchesFiniteDifferences) {
  std::mt19937_64 rng(12);
  TensorD x = testing::randomTensor({3, 4, 2, 3}, rng);
  // Keep every input at least 0.05 from the kink at 0.
  constexpr double kKinkMargin = 0.05;
  for (double &v : x.data)
    v += v >= 0 ? kKinkMargin : -kKinkMargin;
  TensorD r = testing::randomTensor(x.shape, rng);
  TensorD dx = take(reluBackward(r, take(relu(x))));
  testing::expectGradientMatches(
      "dx", dx,
      [&](const TensorD &p) { return testing::dot(take(relu(p)), r); }, x);
}

TEST(AddTest, ForwardBackwardAndMismatch) {
  TensorD a({2}, {1, 2});
  TensorD b({2}, {10, 20});
  testing::expectTensorNear(take(add(a, b)), {11, 22}, kExact);
  std::mt19937_64 rng(13);
  TensorD r = testing::randomTensor({2}, rng);
  BinaryGrads<double> grads = take(addBackward(r));
  testing::expectGradientMatches(
      "da", grads.da,
      [&](const TensorD &p) { return testing::dot(take(add(p, b)), r); }, a);
  testing::expectGradientMatches(
      "db", grads.db,
      [&](const TensorD &p) { return testing::dot(take(add(a, p)), r); }, b);
  Expected<TensorD> bad = add(a, TensorD::zeros({3}));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("[3]"), std::string::npos);
}

TEST(ScaleTest, ForwardAndBackward) {
  constexpr double kFactor = -2.5;
  TensorD x({2}, {1, -4});
  testing::expectTensorNear(scale(x, kFactor), {-2.5, 10}, kExact);
  std::mt19937_64 rng(14);
  TensorD r = testing::randomTensor({2}, rng);
  testing::expectGradientMatches(
      "dx", scaleBackward(r, kFactor),
      [&](const TensorD &p) { return testing::dot(scale(p, kFactor), r); }, x);
}

TEST(ImageToFloatTest, DividesBy255AndRejectsNonPixels) {
  TensorD x({1, 1, 1, 3}, {0, 51, 255});
  testing::expectTensorNear(take(imageToFloat(x)), {0, 0.2, 1}, kExact);
  EXPECT_FALSE(imageToFloat(TensorD({1}, {256})));
  EXPECT_FALSE(imageToFloat(TensorD({1}, {-1})));
  EXPECT_FALSE(imageToFloat(TensorD({1}, {0.5})));
}

TEST(BroadcastTest, CopiesTheScalar) {
  TensorD y = take(broadcast(TensorD::scalar(2.5), {2, 3}));
  EXPECT_EQ(y.shape, (std::vector<int64_t>{2, 3}));
  testing::expectTensorNear(y, {2.5, 2.5, 2.5, 2.5, 2.5, 2.5}, kExact);
  EXPECT_FALSE(broadcast(TensorD({1}, {1}), {2})) << "input must be rank 0";
  EXPECT_FALSE(broadcast(TensorD::scalar(1), {-1}));
}

TEST(ReshapeTest, KeepsRowMajorOrder) {
  TensorD y = take(reshape(TensorD({2, 3}, {1, 2, 3, 4, 5, 6}), {3, 1, 2}));
  EXPECT_EQ(y.shape, (std::vector<int64_t>{3, 1, 2}));
  testing::expectTensorNear(y, {1, 2, 3, 4, 5, 6}, kExact);
  Expected<TensorD> bad = reshape(TensorD::zeros({2, 3}), {4});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("[4]"), std::string::npos);
}

TEST(ConcatSliceTest, MiddleDimensionRoundTrip) {
  // a[2,1,2] and b[2,2,2] joined along dim 1: each outer row interleaves.
  TensorD a({2, 1, 2}, {1, 2, 3, 4});
  TensorD b({2, 2, 2}, {10, 11, 12, 13, 14, 15, 16, 17});
  TensorD c = take(concat<double>({&a, &b}, 1));
  EXPECT_EQ(c.shape, (std::vector<int64_t>{2, 3, 2}));
  testing::expectTensorNear(c, {1, 2, 10, 11, 12, 13, 3, 4, 14, 15, 16, 17},
                            kExact);
  TensorD first = take(slice(c, 1, 0, 1));
  TensorD rest = take(slice(c, 1, 1, 2));
  EXPECT_EQ(first.shape, a.shape);
  EXPECT_EQ(first.data, a.data);
  EXPECT_EQ(rest.shape, b.shape);
  EXPECT_EQ(rest.data, b.data);
  TensorD rows = take(concat<double>({&a, &a}, 0));
  testing::expectTensorNear(rows, {1, 2, 3, 4, 1, 2, 3, 4}, kExact);
}

TEST(ConcatSliceTest, RejectMismatches) {
  TensorD a = TensorD::zeros({2, 3});
  TensorD b = TensorD::zeros({2, 4});
  EXPECT_FALSE(concat<double>({&a, &b}, 0)) << "dim 1 differs";
  EXPECT_TRUE(concat<double>({&a, &b}, 1));
  EXPECT_FALSE(concat<double>({&a}, 2));
  EXPECT_FALSE(concat<double>({}, 0));
  EXPECT_FALSE(slice(a, 1, 2, 2)) << "range [2, 4) exceeds extent 3";
  EXPECT_FALSE(slice(a, 2, 0, 1));
  EXPECT_TRUE(slice(a, 1, 3, 0));
}

} // namespace
} // namespace simclr::ref
