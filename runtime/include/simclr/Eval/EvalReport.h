//===- EvalReport.h - One row of evaluation numbers per encoder -----------===//
//
// Collects kNN and linear-probe accuracies per encoder (or baseline) and
// prints them as an aligned table or JSON. Accuracies are fractions in
// [0, 1]; a NaN field means "not measured" (printed "-", JSON null).
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_EVAL_EVALREPORT_H
#define SIMCLR_EVAL_EVALREPORT_H

#include "simclr/Eval/Features.h"
#include "simclr/Eval/LinearProbe.h"

#include <limits>
#include <string>
#include <vector>

namespace simclr::eval {

inline constexpr double kNotMeasured = std::numeric_limits<double>::quiet_NaN();

/// The evaluation of one representation.
struct EncoderEval {
  std::string name;
  /// kNN, weighted vote, k = 200, T = 0.07.
  double knnWeightedTop1 = kNotMeasured;
  /// kNN, majority vote, k = 20.
  double knnMajorityTop1 = kNotMeasured;
  double linearTop1 = kNotMeasured;
  /// The weight decay the linear probe chose on its validation split.
  double linearWeightDecay = kNotMeasured;
  /// Wall-clock seconds of the kNN pair and of the linear probe.
  double knnSeconds = kNotMeasured;
  double linearSeconds = kNotMeasured;
};

/// Runs both kNN monitors (one neighbour search) and, unless `withLinear`
/// is false, the linear probe on one train/test pair of features.
Expected<EncoderEval> evaluateFeatures(const std::string &name,
                                       const FeatureMatrix &train,
                                       const FeatureMatrix &test,
                                       bool withLinear = true,
                                       const LinearProbeOptions &linear = {});

/// A fixed-width table, one header line and one line per row; accuracies in
/// percent with two decimals, the decay in %g.
std::string formatEvalTable(const std::vector<EncoderEval> &rows);

/// {"encoders": [{"name": ..., "knn_weighted_top1": ..., ...}, ...]},
/// fractions as numbers, NaN as null, pretty-printed with 2 spaces.
std::string evalReportJson(const std::vector<EncoderEval> &rows);

/// Writes evalReportJson(rows) plus a newline to `path` atomically.
Status writeEvalReportJson(const std::string &path,
                           const std::vector<EncoderEval> &rows);

} // namespace simclr::eval

#endif // SIMCLR_EVAL_EVALREPORT_H
