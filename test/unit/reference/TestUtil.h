//===- TestUtil.h - Helpers for reference-kernel tests ----------*- C++ -*-===//
//
// Gradient checks use float64 central differences on loss = sum(y * r) for a
// fixed random r, so one scalar function exercises every output element.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_TEST_UNIT_REFERENCE_TESTUTIL_H
#define SIMCLR_TEST_UNIT_REFERENCE_TESTUTIL_H

#include "simclr/Reference/Kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace simclr::ref::testing {

using TensorD = Tensor<double>;

/// Central-difference step. Truncation error is O(h^2 * f''') ~ 1e-12 and
/// rounding error O(ulp(f) / h) ~ 1e-10 for the O(1..100) losses here, both
/// far below kGradTolerance.
constexpr double kFiniteDifferenceStep = 1e-6;
/// Bound on ||analytic - numeric|| / ||numeric||. A wrong term in a gradient
/// rule gives an O(1) error (GradCheck.DetectsAWrongGradient shows this).
constexpr double kGradTolerance = 1e-6;
/// Keeps relativeError finite when the numeric gradient is exactly zero.
constexpr double kTinyNorm = 1e-300;

/// Unwraps an Expected in tests; an error becomes an exception, which
/// GoogleTest reports as a failure of the running test.
template <typename V> V take(Expected<V> expected) {
  if (!expected)
    throw std::runtime_error(expected.status().toString());
  return std::move(*expected);
}

/// A tensor of `shape` with elements uniform in [lo, hi).
inline TensorD randomTensor(std::vector<int64_t> shape, std::mt19937_64 &rng,
                            double lo = -1.0, double hi = 1.0) {
  std::uniform_real_distribution<double> dist(lo, hi);
  TensorD t = TensorD::zeros(std::move(shape));
  for (double &value : t.data)
    value = dist(rng);
  return t;
}

/// A tensor whose elements are a random permutation of 0..n-1 times `gap`
/// (plus `offset`), so maxima are unique and separated by `gap`, far beyond
/// the finite-difference step: no max-pool ties.
inline TensorD distinctTensor(std::vector<int64_t> shape, std::mt19937_64 &rng,
                              double gap, double offset) {
  TensorD t = TensorD::zeros(std::move(shape));
  for (size_t i = 0; i < t.data.size(); ++i)
    t.data[i] = static_cast<double>(i) * gap + offset;
  std::shuffle(t.data.begin(), t.data.end(), rng);
  return t;
}

/// sum(a * b) over equal shapes; the scalar loss of every gradient check.
inline double dot(const TensorD &a, const TensorD &b) {
  EXPECT_EQ(a.shape, b.shape);
  double sum = 0;
  for (size_t i = 0; i < std::min(a.data.size(), b.data.size()); ++i)
    sum += a.data[i] * b.data[i];
  return sum;
}

/// ||analytic - numeric||_2 / max(||numeric||_2, kTinyNorm); infinite when
/// the shapes differ.
inline double relativeError(const TensorD &analytic, const TensorD &numeric) {
  if (analytic.shape != numeric.shape ||
      analytic.data.size() != numeric.data.size())
    return INFINITY;
  double diff = 0, norm = 0;
  for (size_t i = 0; i < numeric.data.size(); ++i) {
    diff += (analytic.data[i] - numeric.data[i]) *
            (analytic.data[i] - numeric.data[i]);
    norm += numeric.data[i] * numeric.data[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), kTinyNorm);
}

/// d loss / d x by central differences, perturbing one element at a time.
template <typename LossFn>
TensorD numericGradient(LossFn &&loss, const TensorD &x) {
  TensorD grad = TensorD::zeros(x.shape);
  TensorD probe = x;
  for (size_t i = 0; i < x.data.size(); ++i) {
    probe.data[i] = x.data[i] + kFiniteDifferenceStep;
    double plus = loss(probe);
    probe.data[i] = x.data[i] - kFiniteDifferenceStep;
    double minus = loss(probe);
    probe.data[i] = x.data[i];
    grad.data[i] = (plus - minus) / (2 * kFiniteDifferenceStep);
  }
  return grad;
}

/// Expects `analytic` to match the finite-difference gradient of `loss` at x.
template <typename LossFn>
void expectGradientMatches(const char *what, const TensorD &analytic,
                           LossFn &&loss, const TensorD &x) {
  TensorD numeric = numericGradient(loss, x);
  EXPECT_GT(std::sqrt(dot(numeric, numeric)), 0.0)
      << what << ": a zero gradient would make the check vacuous";
  EXPECT_LT(relativeError(analytic, numeric), kGradTolerance) << what;
}

/// Expects every element of `actual` within `tolerance` of `expected`.
template <typename T>
void expectTensorNear(const Tensor<T> &actual,
                      const std::vector<double> &expected, double tolerance) {
  ASSERT_EQ(actual.data.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(actual.data[i], expected[i], tolerance) << "element " << i;
}

} // namespace simclr::ref::testing

#endif // SIMCLR_TEST_UNIT_REFERENCE_TESTUTIL_H
