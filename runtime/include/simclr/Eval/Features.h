//===- Features.h - Labelled feature matrices and classification results -===//
//
// The evaluation library (runtime/Eval) measures how good a frozen encoder's
// representations are: kNN classification, a linear probe, raw-pixel
// baselines, a PCA picture and a report. Everything works on the types here.
//
// Layout: a FeatureMatrix is row-major float32 [count, dim] with one int32
// label per row; labels are class indices in [0, numClasses).
//
// Ownership: every struct owns its vectors; functions take inputs by const
// reference and return fresh values. Nothing keeps a pointer past a call.
//
// Errors: fallible functions return Status/Expected (simclr/Support/Status.h)
// with kInvalidArgument and a one-line message naming the argument, e.g.
// "test features: 10 labels for 12 rows". No exception crosses the API.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_EVAL_FEATURES_H
#define SIMCLR_EVAL_FEATURES_H

#include "simclr/Support/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace simclr::eval {

/// Row-major float32 features [count, dim] with one label per row.
struct FeatureMatrix {
  int64_t count = 0;
  int64_t dim = 0;
  /// count * dim values; row i starts at i * dim.
  std::vector<float> values;
  /// count labels in [0, numClasses).
  std::vector<int32_t> labels;

  const float *row(int64_t i) const { return values.data() + i * dim; }
};

/// Checks sizes (count * dim values, count labels, count >= 1, dim >= 1),
/// non-negative labels and finite values. `what` names the matrix in the
/// message ("train features").
Status validateFeatures(const FeatureMatrix &features, const std::string &what);

/// 1 + the largest label in either matrix (0 if both are empty).
int64_t countClasses(const FeatureMatrix &a, const FeatureMatrix &b);

/// Copies rows `rows` (each in [0, count)) of `features`, in that order.
FeatureMatrix selectRows(const FeatureMatrix &features,
                         const std::vector<int64_t> &rows);

/// Predictions for a labelled test set and what they score.
struct ClassificationResult {
  int64_t numClasses = 0;
  /// One predicted class per test row.
  std::vector<int32_t> predictions;
  /// [numClasses, numClasses], row-major: confusion[t * numClasses + p]
  /// counts test rows of true class t predicted as p.
  std::vector<int64_t> confusion;
  int64_t correct = 0;

  /// Fraction of test rows predicted correctly (top-1 accuracy), 0 if empty.
  double top1() const {
    return predictions.empty()
               ? 0.0
               : static_cast<double>(correct) / predictions.size();
  }
};

/// Scores `predictions` against `labels` (same length; labels and predictions
/// in [0, numClasses)).
ClassificationResult scorePredictions(std::vector<int32_t> predictions,
                                      const std::vector<int32_t> &labels,
                                      int64_t numClasses);

} // namespace simclr::eval

#endif // SIMCLR_EVAL_FEATURES_H
