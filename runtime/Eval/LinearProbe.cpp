//===- LinearProbe.cpp - Softmax regression, L-BFGS, weight-decay search --===//
#include "simclr/Eval/LinearProbe.h"

#include "Gemm.h"
#include "Parallel.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace simclr::eval {
namespace {

/// Rows per block of the loss: a 2048 x dim double copy of the block (6 MiB
/// at dim 384) is reused by both products while still in cache.
constexpr int64_t kRowBlock = 2048;
/// Elements (or rows) per thread below which a loop stays on one thread.
constexpr int64_t kElementGrain = 1 << 16;
constexpr int64_t kRowGrain = 256;

/// The objective of LinearProbe.h on standardized features. Parameters are
/// W [C, D] row-major followed by b [C].
class SoftmaxObjective {
public:
  SoftmaxObjective(const FeatureMatrix &standardized, int64_t numClasses,
                   double weightDecay)
      : x_(standardized), numClasses_(numClasses), weightDecay_(weightDecay) {}

  int64_t numParameters() const { return numClasses_ * (x_.dim + 1); }

  double operator()(const std::vector<double> &theta,
                    std::vector<double> &gradient) const {
    const int64_t c = numClasses_, d = x_.dim, n = x_.count;
    const double *w = theta.data();
    const double *b = theta.data() + c * d;
    std::vector<double> gradW(c * d, 0.0), gradB(c, 0.0);
    std::vector<double> block(std::min(kRowBlock, n) * d);
    std::vector<double> logits(std::min(kRowBlock, n) * c);
    std::vector<double> blockGradW(c * d);
    double lossSum = 0;
    for (int64_t r0 = 0; r0 < n; r0 += kRowBlock) {
      const int64_t rows = std::min(kRowBlock, n - r0);
      const float *in = x_.row(r0);
      detail::parallelFor(rows * d, kElementGrain,
                          [&](int64_t, int64_t begin, int64_t end) {
                            std::copy(in + begin, in + end,
                                      block.begin() + begin);
                          });
      detail::gemmNT(rows, c, d, block.data(), d, w, d, logits.data(), c);
      // Logits become dLoss/dlogits (softmax minus one-hot) in place.
      std::vector<double> partialLoss(detail::maxThreads(), 0.0);
      int64_t chunks = detail::parallelFor(
          rows, kRowGrain, [&](int64_t chunk, int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) {
              double *z = logits.data() + i * c;
              double maxLogit = -INFINITY;
              for (int64_t k = 0; k < c; ++k) {
                z[k] += b[k];
                maxLogit = std::max(maxLogit, z[k]);
              }
              double sumExp = 0;
              for (int64_t k = 0; k < c; ++k)
                sumExp += std::exp(z[k] - maxLogit);
              double logSumExp = maxLogit + std::log(sumExp);
              int32_t label = x_.labels[r0 + i];
              partialLoss[chunk] += logSumExp - z[label];
              for (int64_t k = 0; k < c; ++k)
                z[k] = std::exp(z[k] - logSumExp);
              z[label] -= 1.0;
            }
          });
      for (int64_t chunk = 0; chunk < chunks; ++chunk)
        lossSum += partialLoss[chunk];
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t k = 0; k < c; ++k)
          gradB[k] += logits[i * c + k];
      detail::gemmTN(c, d, rows, logits.data(), c, block.data(), d,
                     blockGradW.data(), d);
      for (int64_t i = 0; i < c * d; ++i)
        gradW[i] += blockGradW[i];
    }
    double squaredNorm = 0;
    for (int64_t i = 0; i < c * d; ++i) {
      squaredNorm += w[i] * w[i];
      gradient[i] = gradW[i] / n + weightDecay_ * w[i];
    }
    for (int64_t k = 0; k < c; ++k)
      gradient[c * d + k] = gradB[k] / n;
    return lossSum / n + 0.5 * weightDecay_ * squaredNorm;
  }

private:
  const FeatureMatrix &x_;
  int64_t numClasses_;
  double weightDecay_;
};

std::vector<double> packParameters(const LinearModel &model) {
  std::vector<double> theta = model.weights;
  theta.insert(theta.end(), model.bias.begin(), model.bias.end());
  return theta;
}

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny generator whose output is
/// fixed by its definition, unlike std::shuffle's use of a URBG.
uint64_t splitMix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

} // namespace

Standardization Standardization::fit(const FeatureMatrix &features,
                                     double stdFloor) {
  const int64_t d = features.dim;
  Standardization s;
  s.mean.assign(d, 0.0);
  s.scale.assign(d, 0.0);
  for (int64_t i = 0; i < features.count; ++i)
    for (int64_t j = 0; j < d; ++j)
      s.mean[j] += features.row(i)[j];
  for (double &m : s.mean)
    m /= std::max<int64_t>(features.count, 1);
  // Two passes: sum of squared deviations, not E[x^2] - E[x]^2.
  for (int64_t i = 0; i < features.count; ++i)
    for (int64_t j = 0; j < d; ++j) {
      double deviation = features.row(i)[j] - s.mean[j];
      s.scale[j] += deviation * deviation;
    }
  for (double &v : s.scale)
    v = std::max(std::sqrt(v / std::max<int64_t>(features.count, 1)),
                 stdFloor);
  return s;
}

FeatureMatrix Standardization::apply(const FeatureMatrix &features) const {
  FeatureMatrix out = features;
  const int64_t d = features.dim;
  detail::parallelFor(features.count, kRowGrain,
                      [&](int64_t, int64_t begin, int64_t end) {
                        for (int64_t i = begin; i < end; ++i)
                          for (int64_t j = 0; j < d; ++j)
                            out.values[i * d + j] = static_cast<float>(
                                (features.values[i * d + j] - mean[j]) /
                                scale[j]);
                      });
  return out;
}

Expected<LinearFit> trainLinearClassifier(const FeatureMatrix &train,
                                          int64_t numClasses,
                                          double weightDecay,
                                          const LbfgsOptions &lbfgs,
                                          double stdFloor,
                                          const LinearModel *warmStart) {
  SIMCLR_RETURN_IF_ERROR(validateFeatures(train, "linear probe train features"));
  if (numClasses < 1)
    return invalidArgument("linear probe: need at least one class");
  for (int32_t label : train.labels)
    if (label >= numClasses)
      return invalidArgument("linear probe: label " + std::to_string(label) +
                             " outside [0, " + std::to_string(numClasses) +
                             ")");
  if (!(weightDecay >= 0) || !(stdFloor > 0))
    return invalidArgument("linear probe: weight decay must be >= 0 and the "
                           "std floor > 0");
  if (warmStart && (warmStart->numClasses != numClasses ||
                    warmStart->dim != train.dim))
    return invalidArgument("linear probe: warm start has the wrong shape");

  LinearFit fit;
  fit.weightDecay = weightDecay;
  LinearModel &model = fit.model;
  model.numClasses = numClasses;
  model.dim = train.dim;
  model.standardization = Standardization::fit(train, stdFloor);
  FeatureMatrix standardized = model.standardization.apply(train);
  SoftmaxObjective objective(standardized, numClasses, weightDecay);

  std::vector<double> theta(objective.numParameters(), 0.0);
  if (warmStart)
    theta = packParameters(*warmStart);
  auto result = minimizeLbfgs(
      [&](const std::vector<double> &x, std::vector<double> &g) {
        return objective(x, g);
      },
      std::move(theta), lbfgs);
  if (!result)
    return result.status().withContext("linear probe");
  const int64_t weightCount = numClasses * train.dim;
  model.weights.assign(result->x.begin(), result->x.begin() + weightCount);
  model.bias.assign(result->x.begin() + weightCount, result->x.end());
  fit.loss = result->loss;
  fit.gradientMaxNorm = result->gradientMaxNorm;
  fit.iterations = result->iterations;
  fit.stop = result->stop;
  return fit;
}

double linearObjective(const LinearModel &model, const FeatureMatrix &features,
                       double weightDecay) {
  FeatureMatrix standardized = model.standardization.apply(features);
  SoftmaxObjective objective(standardized, model.numClasses, weightDecay);
  std::vector<double> gradient(objective.numParameters());
  return objective(packParameters(model), gradient);
}

ClassificationResult predictLinear(const LinearModel &model,
                                   const FeatureMatrix &test) {
  const int64_t c = model.numClasses, d = model.dim;
  std::vector<int32_t> predictions(test.count);
  detail::parallelFor(test.count, kRowGrain, [&](int64_t, int64_t begin,
                                                  int64_t end) {
    std::vector<double> x(d);
    for (int64_t i = begin; i < end; ++i) {
      for (int64_t j = 0; j < d; ++j)
        x[j] = (test.row(i)[j] - model.standardization.mean[j]) /
               model.standardization.scale[j];
      int32_t best = 0;
      double bestLogit = -INFINITY;
      for (int64_t k = 0; k < c; ++k) {
        double z = model.bias[k];
        for (int64_t j = 0; j < d; ++j)
          z += model.weights[k * d + j] * x[j];
        if (z > bestLogit) {
          bestLogit = z;
          best = static_cast<int32_t>(k);
        }
      }
      predictions[i] = best;
    }
  });
  // Test labels beyond the model's classes still count as errors.
  int64_t numClasses = c;
  for (int32_t label : test.labels)
    numClasses = std::max<int64_t>(numClasses, label + 1);
  return scorePredictions(std::move(predictions), test.labels, numClasses);
}

Expected<ValidationSplit> splitForValidation(int64_t count, double fraction,
                                             uint64_t seed) {
  if (count < 2 || !(fraction > 0 && fraction < 1))
    return invalidArgument("validation split: need count >= 2 and a fraction "
                           "in (0, 1), got count " +
                           std::to_string(count) + ", fraction " +
                           std::to_string(fraction));
  int64_t validationCount = std::clamp<int64_t>(
      std::llround(fraction * count), 1, count - 1);
  std::vector<int64_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  uint64_t state = seed;
  // Fisher-Yates; the modulo bias (< count / 2^64) is irrelevant here.
  for (int64_t i = count - 1; i > 0; --i)
    std::swap(order[i], order[splitMix64(state) % (i + 1)]);
  ValidationSplit split;
  split.validationRows.assign(order.begin(), order.begin() + validationCount);
  split.fitRows.assign(order.begin() + validationCount, order.end());
  std::sort(split.validationRows.begin(), split.validationRows.end());
  std::sort(split.fitRows.begin(), split.fitRows.end());
  return split;
}

std::vector<double> defaultWeightDecayGrid() {
  return {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1};
}

Expected<WeightDecaySelection>
selectWeightDecay(const FeatureMatrix &train, int64_t numClasses,
                  const LinearProbeOptions &options) {
  if (options.weightDecays.empty())
    return invalidArgument("linear probe: empty weight-decay grid");
  SIMCLR_RETURN_IF_ERROR(validateFeatures(train, "linear probe train features"));
  auto split = splitForValidation(train.count, options.validationFraction,
                                  options.splitSeed);
  if (!split)
    return split.takeStatus();
  FeatureMatrix fitSet = selectRows(train, split->fitRows);
  FeatureMatrix validationSet = selectRows(train, split->validationRows);

  // Largest decay first: its solution is the easiest to reach and a good
  // start for the next, weaker one.
  std::vector<size_t> order(options.weightDecays.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return options.weightDecays[a] > options.weightDecays[b];
  });
  WeightDecaySelection selection;
  selection.validationTop1.assign(options.weightDecays.size(), 0.0);
  double bestTop1 = -1;
  LinearModel previous;
  bool havePrevious = false;
  for (size_t index : order) {
    double decay = options.weightDecays[index];
    auto fit = trainLinearClassifier(fitSet, numClasses, decay, options.lbfgs,
                                     options.stdFloor,
                                     havePrevious ? &previous : nullptr);
    if (!fit)
      return fit.takeStatus();
    double top1 = predictLinear(fit->model, validationSet).top1();
    selection.validationTop1[index] = top1;
    if (options.onFit)
      options.onFit(*fit, top1);
    // Strictly better only: among equal accuracies the larger decay,
    // visited first, stays.
    if (top1 > bestTop1) {
      bestTop1 = top1;
      selection.chosen = decay;
    }
    previous = std::move(fit->model);
    havePrevious = true;
  }
  return selection;
}

Expected<LinearProbeResult> runLinearProbe(const FeatureMatrix &train,
                                           const FeatureMatrix &test,
                                           const LinearProbeOptions &options) {
  SIMCLR_RETURN_IF_ERROR(validateFeatures(test, "linear probe test features"));
  if (train.dim != test.dim)
    return invalidArgument("linear probe: train features have dim " +
                           std::to_string(train.dim) + ", test features " +
                           std::to_string(test.dim));
  // Classes come from the training labels alone, so nothing about the test
  // set is read before the final scoring (a test label the model never saw
  // only widens the confusion matrix).
  const int64_t numClasses = countClasses(train, FeatureMatrix());
  LinearProbeResult result;
  auto selection = selectWeightDecay(train, numClasses, options);
  if (!selection)
    return selection.takeStatus();
  result.selection = std::move(*selection);
  auto fit = trainLinearClassifier(train, numClasses, result.selection.chosen,
                                   options.lbfgs, options.stdFloor);
  if (!fit)
    return fit.takeStatus();
  if (options.onFit)
    options.onFit(*fit, std::nan(""));
  result.fit = std::move(*fit);
  result.test = predictLinear(result.fit.model, test);
  return result;
}

} // namespace simclr::eval
