//===- Norm.cpp - Reference batch norm, standardization and L2 norm -------===//
#include "Checks.h"
#include "simclr/Reference/Kernels.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace simclr::ref {

namespace {

/// x[N,C] or x[N,C,H,W] viewed as [N,C,S] with S = H*W (1 for rank 2).
struct ChannelView {
  int64_t n, c, s;
  int64_t index(int64_t in, int64_t ic, int64_t is) const {
    return (in * c + ic) * s + is;
  }
  int64_t count() const { return n * s; }
};

template <typename T>
Expected<ChannelView> checkBatchNormInput(const char *kernel,
                                          const Tensor<T> &x) {
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "x", x, detail::kAnyRank));
  if (x.rank() != 2 && x.rank() != 4)
    return detail::operandError(kernel, "x", x, "expected [N,C] or [N,C,H,W]");
  ChannelView view{x.dim(0), x.dim(1), x.rank() == 4 ? x.dim(2) * x.dim(3) : 1};
  return view;
}

} // namespace

template <typename T>
Expected<BatchNormTrainResult<T>>
batchNormTrain(const Tensor<T> &x, const Tensor<T> &gamma,
               const Tensor<T> &beta, double eps) {
  const char *kernel = "batchNormTrain";
  Expected<ChannelView> viewOr = checkBatchNormInput(kernel, x);
  if (!viewOr)
    return viewOr.takeStatus();
  ChannelView v = *viewOr;
  SIMCLR_RETURN_IF_ERROR(detail::checkShape(kernel, "gamma", gamma, {v.c}));
  SIMCLR_RETURN_IF_ERROR(detail::checkShape(kernel, "beta", beta, {v.c}));
  if (v.count() < 2)
    return detail::operandError(
        kernel, "x", x, "training needs more than one value per channel");

  BatchNormTrainResult<T> result;
  result.y = Tensor<T>::zeros(x.shape);
  result.batchMean = Tensor<T>::zeros({v.c});
  result.batchVar = Tensor<T>::zeros({v.c});
  T count = static_cast<T>(v.count());
  for (int64_t c = 0; c < v.c; ++c) {
    // Two passes (mean, then squared deviations) avoid the cancellation of
    // E[x^2] - E[x]^2.
    T sum = 0;
    for (int64_t n = 0; n < v.n; ++n)
      for (int64_t s = 0; s < v.s; ++s)
        sum += x.data[v.index(n, c, s)];
    T mean = sum / count;
    T squares = 0;
    for (int64_t n = 0; n < v.n; ++n)
      for (int64_t s = 0; s < v.s; ++s) {
        T deviation = x.data[v.index(n, c, s)] - mean;
        squares += deviation * deviation;
      }
    T var = squares / count;
    T invStd = T(1) / std::sqrt(var + static_cast<T>(eps));
    for (int64_t n = 0; n < v.n; ++n)
      for (int64_t s = 0; s < v.s; ++s) {
        int64_t i = v.index(n, c, s);
        result.y.data[i] =
            (x.data[i] - mean) * invStd * gamma.at(c) + beta.at(c);
      }
    result.batchMean.at(c) = mean;
    result.batchVar.at(c) = var;
  }
  return result;
}

template <typename T>
Expected<BatchNormGrads<T>>
batchNormTrainBackward(const Tensor<T> &dy, const Tensor<T> &x,
                       const Tensor<T> &gamma, const Tensor<T> &batchMean,
                       const Tensor<T> &batchVar, double eps) {
  const char *kernel = "batchNormTrainBackward";
  Expected<ChannelView> viewOr = checkBatchNormInput(kernel, x);
  if (!viewOr)
    return viewOr.takeStatus();
  ChannelView v = *viewOr;
  SIMCLR_RETURN_IF_ERROR(detail::checkShape(kernel, "dy", dy, x.shape));
  SIMCLR_RETURN_IF_ERROR(detail::checkShape(kernel, "gamma", gamma, {v.c}));
  SIMCLR_RETURN_IF_ERROR(
      detail::checkShape(kernel, "batchMean", batchMean, {v.c}));
  SIMCLR_RETURN_IF_ERROR(
      detail::checkShape(kernel, "batchVar", batchVar, {v.c}));

  BatchNormGrads<T> grads;
  grads.dx = Tensor<T>::zeros(x.shape);
  grads.dgamma = Tensor<T>::zeros({v.c});
  grads.dbeta = Tensor<T>::zeros({v.c});
  T count = static_cast<T>(v.count());
  for (int64_t c = 0; c < v.c; ++c) {
    T mean = batchMean.at(c);
    T invStd = T(1) / std::sqrt(batchVar.at(c) + static_cast<T>(eps));
    T sumDy = 0;
    T sumDyXhat = 0;
    for (int64_t n = 0; n < v.n; ++n)
      for (int64_t s = 0; s < v.s; ++s) {
        int64_t i = v.index(n, c, s);
        T xhat = (x.data[i] - mean) * invStd;
        sumDy += dy.data[i];
        sumDyXhat += dy.data[i] * xhat;
      }
    grads.dbeta.at(c) = sumDy;
    grads.dgamma.at(c) = sumDyXhat;
    // Differentiating xhat through mean and var (Ioffe & Szegedy 2015, sec. 3):
    // dx = gamma*invStd/count * (count*dy - sum(dy) - xhat*sum(dy*xhat)).
    for (int64_t n = 0; n < v.n; ++n)
      for (int64_t s = 0; s < v.s; ++s) {
        int64_t i = v.index(n, c, s);
        T xhat = (x.data[i] - mean) * invStd;
        grads.dx.data[i] = gamma.at(c) * invStd / count *
                           (count * dy.data[i] - sumDy - xhat * sumDyXhat);
      }
  }
  return grads;
}

template <typename T>
Status runningStatsUpdate(Tensor<T> &runningMean, Tensor<T> &runningVar,
                          const Tensor<T> &batchMean, const Tensor<T> &batchVar,
                          int64_t count, double momentum) {
  const char *kernel = "runningStatsUpdate";
  SIMCLR_RETURN_IF_ERROR(
      detail::checkRank(kernel, "runningMean", runningMean, 1));
  std::vector<int64_t> shape = runningMean.shape;
  SIMCLR_RETURN_IF_ERROR(
      detail::checkShape(kernel, "runningVar", runningVar, shape));
  SIMCLR_RETURN_IF_ERROR(
      detail::checkShape(kernel, "batchMean", batchMean, shape));
  SIMCLR_RETURN_IF_ERROR(
      detail::checkShape(kernel, "batchVar", batchVar, shape));
  if (count < 2)
    return invalidArgument(std::string(kernel) + ": count " +
                           std::to_string(count) +
                           " must be >= 2 for the unbiased correction");
  T m = static_cast<T>(momentum);
  T correction = static_cast<T>(count) / static_cast<T>(count - 1);
  for (size_t i = 0; i < runningMean.data.size(); ++i) {
    runningMean.data[i] =
        (T(1) - m) * runningMean.data[i] + m * batchMean.data[i];
    runningVar.data[i] =
        (T(1) - m) * runningVar.data[i] + m * batchVar.data[i] * correction;
  }
  return Status::ok();
}

template <typename T>
Expected<Tensor<T>>
batchNormInference(const Tensor<T> &x, const Tensor<T> &gamma,
                   const Tensor<T> &beta, const Tensor<T> &mean,
                   const Tensor<T> &var, double eps) {
  const char *kernel = "batchNormInference";
  Expected<ChannelView> viewOr = checkBatchNormInput(kernel, x);
  if (!viewOr)
    return viewOr.takeStatus();
  ChannelView v = *viewOr;
  SIMCLR_RETURN_IF_ERROR(detail::checkShape(kernel, "gamma", gamma, {v.c}));
  SIMCLR_RETURN_IF_ERROR(detail::checkShape(kernel, "beta", beta, {v.c}));
  SIMCLR_RETURN_IF_ERROR(detail::checkShape(kernel, "mean", mean, {v.c}));
  SIMCLR_RETURN_IF_ERROR(detail::checkShape(kernel, "var", var, {v.c}));

  Tensor<T> y = Tensor<T>::zeros(x.shape);
  for (int64_t n = 0; n < v.n; ++n)
    for (int64_t c = 0; c < v.c; ++c) {
      T invStd = T(1) / std::sqrt(var.at(c) + static_cast<T>(eps));
      for (int64_t s = 0; s < v.s; ++s) {
        int64_t i = v.index(n, c, s);
        y.data[i] =
            (x.data[i] - mean.at(c)) * invStd * gamma.at(c) + beta.at(c);
      }
    }
  return y;
}

template <typename T>
Expected<Tensor<T>> normalize(const Tensor<T> &x,
                              const std::vector<double> &mean,
                              const std::vector<double> &stddev) {
  const char *kernel = "normalize";
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "x", x, 4));
  size_t channels = static_cast<size_t>(x.dim(1));
  if (mean.size() != channels || stddev.size() != channels)
    return detail::operandError(kernel, "x", x,
                                "expected " + std::to_string(channels) +
                                    " channel means and deviations, got " +
                                    std::to_string(mean.size()) + " and " +
                                    std::to_string(stddev.size()));
  for (double deviation : stddev)
    if (!(deviation > 0))
      return invalidArgument("normalize: every stddev must be positive, got " +
                             std::to_string(deviation));
  ChannelView v{x.dim(0), x.dim(1), x.dim(2) * x.dim(3)};
  Tensor<T> y = Tensor<T>::zeros(x.shape);
  for (int64_t n = 0; n < v.n; ++n)
    for (int64_t c = 0; c < v.c; ++c) {
      T channelMean = static_cast<T>(mean[static_cast<size_t>(c)]);
      T channelStd = static_cast<T>(stddev[static_cast<size_t>(c)]);
      for (int64_t s = 0; s < v.s; ++s) {
        int64_t i = v.index(n, c, s);
        y.data[i] = (x.data[i] - channelMean) / channelStd;
      }
    }
  return y;
}

template <typename T> Expected<Tensor<T>> sumToChannels(const Tensor<T> &x) {
  Expected<ChannelView> viewOr = checkBatchNormInput("sumToChannels", x);
  if (!viewOr)
    return viewOr.takeStatus();
  ChannelView v = *viewOr;
  Tensor<T> y = Tensor<T>::zeros({v.c});
  for (int64_t n = 0; n < v.n; ++n)
    for (int64_t c = 0; c < v.c; ++c)
      for (int64_t s = 0; s < v.s; ++s)
        y.data[c] += x.data[v.index(n, c, s)];
  return y;
}

template <typename T>
Expected<Tensor<T>> l2Normalize(const Tensor<T> &x, double eps) {
  SIMCLR_RETURN_IF_ERROR(detail::checkRank("l2Normalize", "x", x, 2));
  Tensor<T> y = Tensor<T>::zeros(x.shape);
  for (int64_t i = 0; i < x.dim(0); ++i) {
    T squares = 0;
    for (int64_t j = 0; j < x.dim(1); ++j)
      squares += x.at(i, j) * x.at(i, j);
    T denom = std::max(std::sqrt(squares), static_cast<T>(eps));
    for (int64_t j = 0; j < x.dim(1); ++j)
      y.at(i, j) = x.at(i, j) / denom;
  }
  return y;
}

template <typename T>
Expected<Tensor<T>> l2NormalizeBackward(const Tensor<T> &dy, const Tensor<T> &x,
                                        double eps) {
  const char *kernel = "l2NormalizeBackward";
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "x", x, 2));
  SIMCLR_RETURN_IF_ERROR(detail::checkShape(kernel, "dy", dy, x.shape));
  Tensor<T> dx = Tensor<T>::zeros(x.shape);
  T clamp = static_cast<T>(eps);
  for (int64_t i = 0; i < x.dim(0); ++i) {
    T squares = 0;
    for (int64_t j = 0; j < x.dim(1); ++j)
      squares += x.at(i, j) * x.at(i, j);
    T norm = std::sqrt(squares);
    if (norm < clamp) {
      // The denominator is the constant eps, so y = x / eps is linear.
      for (int64_t j = 0; j < x.dim(1); ++j)
        dx.at(i, j) = dy.at(i, j) / clamp;
      continue;
    }
    // y = x/||x||: dy/dx = (I - y y^T) / ||x||.
    T dot = 0;
    for (int64_t j = 0; j < x.dim(1); ++j)
      dot += dy.at(i, j) * (x.at(i, j) / norm);
    for (int64_t j = 0; j < x.dim(1); ++j)
      dx.at(i, j) = (dy.at(i, j) - (x.at(i, j) / norm) * dot) / norm;
  }
  return dx;
}

#define SIMCLR_INSTANTIATE_NORM(T)                                             \
  template Expected<BatchNormTrainResult<T>> batchNormTrain(                   \
      const Tensor<T> &, const Tensor<T> &, const Tensor<T> &, double);        \
  template Expected<BatchNormGrads<T>> batchNormTrainBackward(                 \
      const Tensor<T> &, const Tensor<T> &, const Tensor<T> &,                 \
      const Tensor<T> &, const Tensor<T> &, double);                           \
  template Status runningStatsUpdate(Tensor<T> &, Tensor<T> &,                 \
                                     const Tensor<T> &, const Tensor<T> &,     \
                                     int64_t, double);                         \
  template Expected<Tensor<T>> batchNormInference(                             \
      const Tensor<T> &, const Tensor<T> &, const Tensor<T> &,                 \
      const Tensor<T> &, const Tensor<T> &, double);                           \
  template Expected<Tensor<T>> normalize(const Tensor<T> &,                    \
                                         const std::vector<double> &,          \
                                         const std::vector<double> &);         \
  template Expected<Tensor<T>> sumToChannels(const Tensor<T> &);               \
  template Expected<Tensor<T>> l2Normalize(const Tensor<T> &, double);         \
  template Expected<Tensor<T>> l2NormalizeBackward(const Tensor<T> &,          \
                                                   const Tensor<T> &, double);
SIMCLR_INSTANTIATE_NORM(float)
SIMCLR_INSTANTIATE_NORM(double)
#undef SIMCLR_INSTANTIATE_NORM

} // namespace simclr::ref
