//===- TensorTest.cpp - Tests for the reference tensor and test helpers ---===//
#include "TestUtil.h"

namespace simclr::ref {
namespace {

using testing::TensorD;

TEST(TensorTest, RowMajorIndexing) {
  TensorD t = TensorD::zeros({2, 3, 4});
  EXPECT_EQ(t.numElements(), 24);
  EXPECT_EQ(t.offset(1, 2, 3), 23);
  EXPECT_EQ(t.offset(1, 0, 0), 12);
  EXPECT_EQ(t.offset(0, 1, 0), 4);
  t.at(1, 2, 0) = 7;
  EXPECT_EQ(t.data[20], 7);
}

TEST(TensorTest, ScalarHasOneElement) {
  TensorD s = TensorD::scalar(2.5);
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.numElements(), 1);
  EXPECT_EQ(s.at(), 2.5);
  EXPECT_EQ(shapeToString(s.shape), "[]");
}

TEST(TensorTest, CastAndConsistency) {
  TensorD t({2}, {0.1, 3});
  Tensor<float> f = t.cast<float>();
  EXPECT_EQ(f.shape, t.shape);
  EXPECT_EQ(f.data[0], 0.1f);
  EXPECT_EQ(f.cast<double>().data[1], 3.0);
  TensorD broken;
  broken.shape = {2, 2};
  broken.data = {1, 2, 3};
  EXPECT_FALSE(broken.isConsistent());
  EXPECT_EQ(shapeToString(broken.shape), "[2, 2]");
}

TEST(TensorTest, KernelsRejectInconsistentTensors) {
  TensorD broken;
  broken.shape = {2, 2};
  broken.data = {1, 2, 3};
  Expected<TensorD> y = relu(broken);
  ASSERT_FALSE(y);
  EXPECT_NE(y.status().message().find("relu"), std::string::npos);
}

TEST(GradCheckTest, DetectsAWrongGradient) {
  std::mt19937_64 rng(1);
  TensorD x = testing::randomTensor({3, 4}, rng);
  TensorD w = testing::randomTensor({2, 4}, rng);
  TensorD r = testing::randomTensor({3, 2}, rng);
  auto loss = [&](const TensorD &p) {
    return testing::dot(testing::take(linear(p, w, nullptr)), r);
  };
  TensorD numeric = testing::numericGradient(loss, x);
  TensorD analytic = testing::take(linearBackward(r, x, w, false)).dx;
  EXPECT_LT(testing::relativeError(analytic, numeric), testing::kGradTolerance);
  // A 1e-4 relative error in one element must be caught.
  analytic.data[5] += 1e-4 * std::sqrt(testing::dot(numeric, numeric));
  EXPECT_GT(testing::relativeError(analytic, numeric), testing::kGradTolerance);
}

} // namespace
} // namespace simclr::ref
