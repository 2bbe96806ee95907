//===- Optimizers.cpp - Reference SGD, AdamW, LARS and the LR schedule ----===//
#include "Checks.h"
#include "simclr/Reference/Kernels.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <utility>

namespace simclr::ref {

namespace {

/// pi to double precision; M_PI is a POSIX extension, not standard C++.
constexpr double kPi = 3.14159265358979323846;

/// Checks that every state tensor has the parameter's shape.
template <typename T>
Status checkOptimizer(
    const char *kernel, const Tensor<T> &param, const Tensor<T> &grad,
    std::initializer_list<std::pair<const char *, const Tensor<T> *>> state) {
  SIMCLR_RETURN_IF_ERROR(
      detail::checkRank(kernel, "param", param, detail::kAnyRank));
  SIMCLR_RETURN_IF_ERROR(detail::checkShape(kernel, "grad", grad, param.shape));
  for (const auto &[name, tensor] : state)
    SIMCLR_RETURN_IF_ERROR(
        detail::checkShape(kernel, name, *tensor, param.shape));
  return Status::ok();
}

template <typename T> T l2Norm(const std::vector<T> &values) {
  T squares = 0;
  for (T value : values)
    squares += value * value;
  return std::sqrt(squares);
}

} // namespace

template <typename T>
Status sgdStep(Tensor<T> &param, const Tensor<T> &grad,
               Tensor<T> &momentumBuffer, const SgdOptions &options) {
  SIMCLR_RETURN_IF_ERROR(checkOptimizer("sgdStep", param, grad,
                                        {{"momentumBuffer", &momentumBuffer}}));
  T lr = static_cast<T>(options.learningRate);
  T momentum = static_cast<T>(options.momentum);
  T weightDecay = static_cast<T>(options.weightDecay);
  for (size_t i = 0; i < param.data.size(); ++i) {
    T g = grad.data[i] + weightDecay * param.data[i];
    momentumBuffer.data[i] = momentum * momentumBuffer.data[i] + g;
    param.data[i] -= lr * momentumBuffer.data[i];
  }
  return Status::ok();
}

template <typename T>
Status adamWStep(Tensor<T> &param, const Tensor<T> &grad, Tensor<T> &expAvg,
                 Tensor<T> &expAvgSq, int64_t step,
                 const AdamWOptions &options) {
  const char *kernel = "adamWStep";
  SIMCLR_RETURN_IF_ERROR(checkOptimizer(
      kernel, param, grad, {{"expAvg", &expAvg}, {"expAvgSq", &expAvgSq}}));
  if (step < 1)
    return invalidArgument(std::string(kernel) + ": step " +
                           std::to_string(step) + " must be >= 1 (1-based)");
  T lr = static_cast<T>(options.learningRate);
  T beta1 = static_cast<T>(options.beta1);
  T beta2 = static_cast<T>(options.beta2);
  T epsilon = static_cast<T>(options.epsilon);
  T decay = T(1) - lr * static_cast<T>(options.weightDecay);
  T biasCorrection1 = T(1) - std::pow(beta1, static_cast<T>(step));
  T biasCorrection2 = T(1) - std::pow(beta2, static_cast<T>(step));
  for (size_t i = 0; i < param.data.size(); ++i) {
    T g = grad.data[i];
    // Decoupled weight decay (Loshchilov & Hutter): applied to p, not to g.
    param.data[i] *= decay;
    expAvg.data[i] = beta1 * expAvg.data[i] + (T(1) - beta1) * g;
    expAvgSq.data[i] = beta2 * expAvgSq.data[i] + (T(1) - beta2) * g * g;
    T mHat = expAvg.data[i] / biasCorrection1;
    T vHat = expAvgSq.data[i] / biasCorrection2;
    param.data[i] -= lr * mHat / (std::sqrt(vHat) + epsilon);
  }
  return Status::ok();
}

template <typename T>
Status larsStep(Tensor<T> &param, const Tensor<T> &grad, Tensor<T> &velocity,
                const LarsOptions &options) {
  SIMCLR_RETURN_IF_ERROR(
      checkOptimizer("larsStep", param, grad, {{"velocity", &velocity}}));
  std::vector<T> g = grad.data;
  T trust = 1;
  if (options.layerAdaptation) {
    for (size_t i = 0; i < g.size(); ++i)
      g[i] += static_cast<T>(options.weightDecay) * param.data[i];
    T paramNorm = l2Norm(param.data);
    T gradNorm = l2Norm(g);
    // lars_optimizer.py falls back to 1 when either norm is zero.
    if (paramNorm > 0 && gradNorm > 0)
      trust = static_cast<T>(options.eta) * paramNorm / gradNorm;
  }
  T scaledLr = static_cast<T>(options.learningRate) * trust;
  T momentum = static_cast<T>(options.momentum);
  for (size_t i = 0; i < g.size(); ++i) {
    velocity.data[i] = momentum * velocity.data[i] + scaledLr * g[i];
    param.data[i] -= velocity.data[i];
  }
  return Status::ok();
}

Expected<double> lrWarmupCosine(int64_t step, double baseLr, double finalLr,
                                int64_t warmupSteps, int64_t totalSteps) {
  if (step < 0 || warmupSteps < 0 || totalSteps < warmupSteps)
    return invalidArgument(
        "lrWarmupCosine: need 0 <= step and 0 <= warmupSteps <= totalSteps, "
        "got step " +
        std::to_string(step) + ", warmupSteps " + std::to_string(warmupSteps) +
        ", totalSteps " + std::to_string(totalSteps));
  if (step < warmupSteps)
    return baseLr * static_cast<double>(step) /
           static_cast<double>(warmupSteps);
  int64_t decaySteps = totalSteps - warmupSteps;
  if (decaySteps == 0)
    return baseLr;
  int64_t progress = std::min(step - warmupSteps, decaySteps);
  double cosine = std::cos(kPi * static_cast<double>(progress) /
                           static_cast<double>(decaySteps));
  return finalLr + (baseLr - finalLr) * 0.5 * (1.0 + cosine);
}

#define SIMCLR_INSTANTIATE_OPTIMIZERS(T)                                       \
  template Status sgdStep(Tensor<T> &, const Tensor<T> &, Tensor<T> &,         \
                          const SgdOptions &);                                 \
  template Status adamWStep(Tensor<T> &, const Tensor<T> &, Tensor<T> &,       \
                            Tensor<T> &, int64_t, const AdamWOptions &);       \
  template Status larsStep(Tensor<T> &, const Tensor<T> &, Tensor<T> &,        \
                           const LarsOptions &);
SIMCLR_INSTANTIATE_OPTIMIZERS(float)
SIMCLR_INSTANTIATE_OPTIMIZERS(double)
#undef SIMCLR_INSTANTIATE_OPTIMIZERS

} // namespace simclr::ref
