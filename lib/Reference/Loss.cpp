//===- Loss.cpp - Reference NT-Xent loss and the primitives it splits into ===//
#include "Checks.h"
#include "simclr/Reference/Kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace simclr::ref {

namespace {

/// Checks m is [M,M] with M even and >= 2, as the positive pairing needs.
template <typename T>
Status checkPairedSquare(const char *kernel, const char *name,
                         const Tensor<T> &m) {
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, name, m, 2));
  if (m.dim(0) != m.dim(1) || m.dim(0) < 2 || m.dim(0) % 2 != 0)
    return detail::operandError(kernel, name, m,
                                "expected [2N,2N] with N >= 1");
  return Status::ok();
}

/// Index of row i's positive among 2N rows: the other view of the same image.
int64_t positiveOf(int64_t i, int64_t rows) { return (i + rows / 2) % rows; }

/// Checks z is [2N,D] with N >= 1 and the temperature is positive.
template <typename T>
Status checkNtXent(const char *kernel, const Tensor<T> &z, double temperature) {
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "z", z, 2));
  if (z.dim(0) < 2 || z.dim(0) % 2 != 0)
    return detail::operandError(kernel, "z", z, "expected [2N,D] with N >= 1");
  if (!(temperature > 0))
    return invalidArgument(std::string(kernel) + ": temperature " +
                           std::to_string(temperature) + " must be positive");
  return Status::ok();
}

/// s = zn zn^T / temperature.
template <typename T>
Tensor<T> similarities(const Tensor<T> &zn, double temperature) {
  int64_t rows = zn.dim(0);
  Tensor<T> s = Tensor<T>::zeros({rows, rows});
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t k = 0; k < rows; ++k) {
      T dot = 0;
      for (int64_t d = 0; d < zn.dim(1); ++d)
        dot += zn.at(i, d) * zn.at(k, d);
      s.at(i, k) = dot / static_cast<T>(temperature);
    }
  return s;
}

/// logsumexp over row i of `s` excluding column i. Subtracting the row
/// maximum keeps exp() <= 1, so small temperatures cannot overflow.
template <typename T> T maskedLogSumExp(const Tensor<T> &s, int64_t i) {
  int64_t cols = s.dim(1);
  T maxValue = -std::numeric_limits<T>::infinity();
  for (int64_t k = 0; k < cols; ++k)
    if (k != i)
      maxValue = std::max(maxValue, s.at(i, k));
  T sum = 0;
  for (int64_t k = 0; k < cols; ++k)
    if (k != i)
      sum += std::exp(s.at(i, k) - maxValue);
  return maxValue + std::log(sum);
}

} // namespace

template <typename T>
Expected<Tensor<T>> ntXent(const Tensor<T> &z, double temperature) {
  SIMCLR_RETURN_IF_ERROR(checkNtXent("ntXent", z, temperature));
  Expected<Tensor<T>> zn = l2Normalize(z);
  if (!zn)
    return zn.takeStatus();
  Tensor<T> s = similarities(*zn, temperature);
  int64_t rows = z.dim(0);
  T total = 0;
  for (int64_t i = 0; i < rows; ++i)
    total += maskedLogSumExp(s, i) - s.at(i, positiveOf(i, rows));
  return Tensor<T>::scalar(total / static_cast<T>(rows));
}

template <typename T>
Expected<Tensor<T>> ntXentBackward(const Tensor<T> &dloss, const Tensor<T> &z,
                                   double temperature) {
  const char *kernel = "ntXentBackward";
  SIMCLR_RETURN_IF_ERROR(checkNtXent(kernel, z, temperature));
  SIMCLR_RETURN_IF_ERROR(detail::checkShape(kernel, "dloss", dloss, {}));
  Expected<Tensor<T>> znOr = l2Normalize(z);
  if (!znOr)
    return znOr.takeStatus();
  const Tensor<T> &zn = *znOr;
  Tensor<T> s = similarities(zn, temperature);
  int64_t rows = z.dim(0);
  T perRow = dloss.at() / static_cast<T>(rows);
  T invTemperature = T(1) / static_cast<T>(temperature);
  Tensor<T> dzn = Tensor<T>::zeros(zn.shape);
  for (int64_t i = 0; i < rows; ++i) {
    T lse = maskedLogSumExp(s, i);
    for (int64_t k = 0; k < rows; ++k) {
      // s[i,i] is masked out of the loss, so it gets no gradient.
      if (k == i)
        continue;
      T softmax = std::exp(s.at(i, k) - lse);
      T target = k == positiveOf(i, rows) ? T(1) : T(0);
      T ds = perRow * (softmax - target);
      // s[i,k] = zn_i . zn_k / temperature feeds both rows.
      for (int64_t d = 0; d < zn.dim(1); ++d) {
        dzn.at(i, d) += ds * zn.at(k, d) * invTemperature;
        dzn.at(k, d) += ds * zn.at(i, d) * invTemperature;
      }
    }
  }
  return l2NormalizeBackward(dzn, z);
}

template <typename T>
Expected<Tensor<T>> maskedScaledLogSoftmax(const Tensor<T> &s, double scale) {
  const char *kernel = "maskedScaledLogSoftmax";
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "s", s, 2));
  if (s.dim(0) != s.dim(1) || s.dim(0) < 2)
    return detail::operandError(kernel, "s", s, "expected [M,M] with M >= 2");
  Tensor<T> scaled = s;
  for (T &value : scaled.data)
    value *= static_cast<T>(scale);
  Tensor<T> out = Tensor<T>::zeros(s.shape);
  for (int64_t i = 0; i < s.dim(0); ++i) {
    T lse = maskedLogSumExp(scaled, i);
    for (int64_t j = 0; j < s.dim(1); ++j)
      out.at(i, j) = j == i ? T(0) : scaled.at(i, j) - lse;
  }
  return out;
}

template <typename T>
Expected<Tensor<T>> maskedScaledLogSoftmaxBackward(const Tensor<T> &dout,
                                                   const Tensor<T> &out,
                                                   double scale) {
  const char *kernel = "maskedScaledLogSoftmaxBackward";
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "out", out, 2));
  if (out.dim(0) != out.dim(1) || out.dim(0) < 2)
    return detail::operandError(kernel, "out", out,
                                "expected [M,M] with M >= 2");
  SIMCLR_RETURN_IF_ERROR(detail::checkShape(kernel, "dout", dout, out.shape));
  Tensor<T> ds = Tensor<T>::zeros(out.shape);
  for (int64_t i = 0; i < out.dim(0); ++i) {
    T rowSum = 0;
    for (int64_t k = 0; k < out.dim(1); ++k)
      if (k != i)
        rowSum += dout.at(i, k);
    for (int64_t j = 0; j < out.dim(1); ++j)
      if (j != i)
        ds.at(i, j) = static_cast<T>(scale) *
                      (dout.at(i, j) - std::exp(out.at(i, j)) * rowSum);
  }
  return ds;
}

template <typename T> Expected<Tensor<T>> gatherPositives(const Tensor<T> &m) {
  SIMCLR_RETURN_IF_ERROR(checkPairedSquare("gatherPositives", "m", m));
  int64_t rows = m.dim(0);
  Tensor<T> v = Tensor<T>::zeros({rows});
  for (int64_t i = 0; i < rows; ++i)
    v.at(i) = m.at(i, positiveOf(i, rows));
  return v;
}

template <typename T>
Expected<Tensor<T>> gatherPositivesBackward(const Tensor<T> &dv) {
  const char *kernel = "gatherPositivesBackward";
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "dv", dv, 1));
  int64_t rows = dv.dim(0);
  if (rows < 2 || rows % 2 != 0)
    return detail::operandError(kernel, "dv", dv, "expected [2N] with N >= 1");
  Tensor<T> dm = Tensor<T>::zeros({rows, rows});
  for (int64_t i = 0; i < rows; ++i)
    dm.at(i, positiveOf(i, rows)) = dv.at(i);
  return dm;
}

template <typename T> Expected<Tensor<T>> reduceMean(const Tensor<T> &x) {
  SIMCLR_RETURN_IF_ERROR(
      detail::checkRank("reduceMean", "x", x, detail::kAnyRank));
  if (x.numElements() < 1)
    return detail::operandError("reduceMean", "x", x, "has no elements");
  T sum = 0;
  for (T value : x.data)
    sum += value;
  return Tensor<T>::scalar(sum / static_cast<T>(x.numElements()));
}

template <typename T>
Expected<Tensor<T>> reduceMeanBackward(const Tensor<T> &dy,
                                       const std::vector<int64_t> &inputShape) {
  const char *kernel = "reduceMeanBackward";
  SIMCLR_RETURN_IF_ERROR(detail::checkShape(kernel, "dy", dy, {}));
  int64_t count = shapeNumElements(inputShape);
  if (count < 1)
    return invalidArgument(std::string(kernel) + ": input shape " +
                           shapeToString(inputShape) + " has no elements");
  return Tensor<T>::full(inputShape, dy.at() / static_cast<T>(count));
}

#define SIMCLR_INSTANTIATE_LOSS(T)                                             \
  template Expected<Tensor<T>> ntXent(const Tensor<T> &, double);              \
  template Expected<Tensor<T>> ntXentBackward(const Tensor<T> &,               \
                                              const Tensor<T> &, double);      \
  template Expected<Tensor<T>> maskedScaledLogSoftmax(const Tensor<T> &,       \
                                                      double);                 \
  template Expected<Tensor<T>> maskedScaledLogSoftmaxBackward(                 \
      const Tensor<T> &, const Tensor<T> &, double);                           \
  template Expected<Tensor<T>> gatherPositives(const Tensor<T> &);             \
  template Expected<Tensor<T>> gatherPositivesBackward(const Tensor<T> &);     \
  template Expected<Tensor<T>> reduceMean(const Tensor<T> &);                  \
  template Expected<Tensor<T>> reduceMeanBackward(                             \
      const Tensor<T> &, const std::vector<int64_t> &);
SIMCLR_INSTANTIATE_LOSS(float)
SIMCLR_INSTANTIATE_LOSS(double)
#undef SIMCLR_INSTANTIATE_LOSS

} // namespace simclr::ref
