//===- LinearProbe.h - Multinomial logistic regression on frozen features ===//
//
// The linear evaluation protocol: a softmax classifier on standardized
// features, trained to convergence with L-BFGS, its L2 weight decay chosen on
// a validation split carved out of the training set (never the test set),
// then retrained on the whole training set and scored on the test set.
//
// Model: logits z = W x' + b with x' = (x - mean) / scale, W [C, D], b [C].
// Objective (convex):
//   L(W, b) = (1/N) sum_i -log softmax(z_i)[y_i] + (wd / 2) ||W||_F^2,
// the bias unregularized. Loss and gradient are accumulated in double; the
// two matrix products (X W' and G' X) go through BLAS dgemm on row blocks.
//
// Standardization: mean and standard deviation (population, 1/N) per feature
// from the rows the model is trained on only; scale = max(std, stdFloor), so
// a feature constant in training cannot blow up.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_EVAL_LINEARPROBE_H
#define SIMCLR_EVAL_LINEARPROBE_H

#include "simclr/Eval/Features.h"
#include "simclr/Eval/Lbfgs.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace simclr::eval {

/// Per-feature affine map x' = (x - mean) / scale.
struct Standardization {
  std::vector<double> mean;
  std::vector<double> scale;

  /// Statistics of `features` (every row); scale floored at `stdFloor`.
  static Standardization fit(const FeatureMatrix &features, double stdFloor);
  /// Returns a standardized copy of `features` (labels kept).
  FeatureMatrix apply(const FeatureMatrix &features) const;
};

/// A trained softmax classifier, standardization included.
struct LinearModel {
  int64_t numClasses = 0;
  int64_t dim = 0;
  /// [numClasses, dim], row-major, acting on standardized features.
  std::vector<double> weights;
  std::vector<double> bias;
  Standardization standardization;
};

/// Floor of the per-feature standard deviation (features constant to within
/// this are left unscaled rather than amplified).
inline constexpr double kDefaultStdFloor = 1e-3;

/// A trained model and how its optimization ended.
struct LinearFit {
  LinearModel model;
  double weightDecay = 0;
  /// Final value of the objective above (regularizer included).
  double loss = 0;
  double gradientMaxNorm = 0;
  int iterations = 0;
  LbfgsStop stop = LbfgsStop::kMaxIterations;
};

/// Trains on all rows of `train` (labels in [0, numClasses)). `warmStart`,
/// when given, supplies initial weights and bias of the same shape (the
/// standardization is always refit); otherwise they start at zero.
Expected<LinearFit> trainLinearClassifier(const FeatureMatrix &train,
                                          int64_t numClasses,
                                          double weightDecay,
                                          const LbfgsOptions &lbfgs = {},
                                          double stdFloor = kDefaultStdFloor,
                                          const LinearModel *warmStart = nullptr);

/// Value of the objective above for `model` on `features` (rows standardized
/// with the model's own statistics), in double. For tests and diagnostics.
double linearObjective(const LinearModel &model, const FeatureMatrix &features,
                       double weightDecay);

/// Predicts each row of `test` (argmax of the logits, ties to the lower
/// class) and scores it.
ClassificationResult predictLinear(const LinearModel &model,
                                   const FeatureMatrix &test);

/// Training rows split into fit and validation parts.
struct ValidationSplit {
  std::vector<int64_t> fitRows;
  std::vector<int64_t> validationRows;
};

/// A deterministic random split of rows [0, count): round(fraction * count)
/// rows (at least 1, at most count - 1) go to validation, chosen by a
/// Fisher-Yates shuffle driven by SplitMix64(seed). Both parts are sorted.
/// Requires count >= 2 and 0 < fraction < 1.
Expected<ValidationSplit> splitForValidation(int64_t count, double fraction,
                                             uint64_t seed);

/// The 6 log-spaced decays 1e-6, 1e-5, ..., 1e-1.
std::vector<double> defaultWeightDecayGrid();

struct LinearProbeOptions {
  /// Candidates, tried from the largest down (each warm-starts the next).
  std::vector<double> weightDecays = defaultWeightDecayGrid();
  double validationFraction = 0.1;
  uint64_t splitSeed = 0;
  double stdFloor = kDefaultStdFloor;
  LbfgsOptions lbfgs;
  /// Called after each fit (every candidate, then the final retrain) with
  /// the fit and its validation top-1 (NaN for the final one), e.g. for a
  /// CLI to log progress. May be empty.
  std::function<void(const LinearFit &fit, double validationTop1)> onFit;
};

/// What selectWeightDecay measured.
struct WeightDecaySelection {
  /// The candidate with the best validation top-1; among equals, the
  /// largest (most regularized).
  double chosen = 0;
  /// Validation top-1 of each candidate, in the order of
  /// LinearProbeOptions::weightDecays.
  std::vector<double> validationTop1;
};

/// Chooses the weight decay using `train` alone: fit on the fit rows,
/// score on the validation rows, for every candidate.
Expected<WeightDecaySelection>
selectWeightDecay(const FeatureMatrix &train, int64_t numClasses,
                  const LinearProbeOptions &options = {});

struct LinearProbeResult {
  WeightDecaySelection selection;
  /// Retrained on all of `train` with selection.chosen.
  LinearFit fit;
  ClassificationResult test;
};

/// The whole protocol: selectWeightDecay on `train`, retrain on all of it,
/// score on `test`. Classes are [0, 1 + the largest training label).
Expected<LinearProbeResult> runLinearProbe(const FeatureMatrix &train,
                                           const FeatureMatrix &test,
                                           const LinearProbeOptions &options = {});

} // namespace simclr::eval

#endif // SIMCLR_EVAL_LINEARPROBE_H
