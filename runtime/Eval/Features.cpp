//===- Features.cpp - Feature matrix checks and scoring -------------------===//
#include "simclr/Eval/Features.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace simclr::eval {

Status validateFeatures(const FeatureMatrix &features,
                        const std::string &what) {
  if (features.count < 1 || features.dim < 1)
    return invalidArgument(what + ": shape [" + std::to_string(features.count) +
                           ", " + std::to_string(features.dim) +
                           "] is empty");
  if (static_cast<int64_t>(features.values.size()) !=
      features.count * features.dim)
    return invalidArgument(what + ": " + std::to_string(features.values.size()) +
                           " values for shape [" +
                           std::to_string(features.count) + ", " +
                           std::to_string(features.dim) + "]");
  if (static_cast<int64_t>(features.labels.size()) != features.count)
    return invalidArgument(what + ": " + std::to_string(features.labels.size()) +
                           " labels for " + std::to_string(features.count) +
                           " rows");
  for (int64_t i = 0; i < features.count; ++i)
    if (features.labels[i] < 0)
      return invalidArgument(what + ": row " + std::to_string(i) +
                             " has negative label " +
                             std::to_string(features.labels[i]));
  for (size_t i = 0; i < features.values.size(); ++i)
    if (!std::isfinite(features.values[i]))
      return invalidArgument(what + ": row " +
                             std::to_string(i / features.dim) +
                             " has a non-finite value");
  return Status::ok();
}

int64_t countClasses(const FeatureMatrix &a, const FeatureMatrix &b) {
  int32_t maxLabel = -1;
  for (int32_t label : a.labels)
    maxLabel = std::max(maxLabel, label);
  for (int32_t label : b.labels)
    maxLabel = std::max(maxLabel, label);
  return static_cast<int64_t>(maxLabel) + 1;
}

FeatureMatrix selectRows(const FeatureMatrix &features,
                         const std::vector<int64_t> &rows) {
  FeatureMatrix out;
  out.count = static_cast<int64_t>(rows.size());
  out.dim = features.dim;
  out.values.resize(out.count * out.dim);
  out.labels.resize(out.count);
  for (int64_t i = 0; i < out.count; ++i) {
    assert(rows[i] >= 0 && rows[i] < features.count && "row out of range");
    std::copy(features.row(rows[i]), features.row(rows[i]) + features.dim,
              out.values.begin() + i * out.dim);
    out.labels[i] = features.labels[rows[i]];
  }
  return out;
}

ClassificationResult scorePredictions(std::vector<int32_t> predictions,
                                      const std::vector<int32_t> &labels,
                                      int64_t numClasses) {
  assert(predictions.size() == labels.size() && "one prediction per label");
  ClassificationResult result;
  result.numClasses = numClasses;
  result.confusion.assign(numClasses * numClasses, 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    assert(labels[i] >= 0 && labels[i] < numClasses && "label out of range");
    assert(predictions[i] >= 0 && predictions[i] < numClasses &&
           "prediction out of range");
    ++result.confusion[labels[i] * numClasses + predictions[i]];
    if (predictions[i] == labels[i])
      ++result.correct;
  }
  result.predictions = std::move(predictions);
  return result;
}

} // namespace simclr::eval
