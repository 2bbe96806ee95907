//===- EvalTestUtil.h - Synthetic feature matrices for Eval tests ---------===//
#ifndef SIMCLR_TEST_EVAL_EVALTESTUTIL_H
#define SIMCLR_TEST_EVAL_EVALTESTUTIL_H

#include "simclr/Eval/Features.h"

#include <random>

namespace simclr::eval::testing {

/// `count` rows of `dim` features: class c = i % numClasses, centred at
/// `separation` * e_(c mod dim) (+- alternating per wrap), plus N(0, 1)
/// noise. Deterministic in `seed`.
inline FeatureMatrix gaussianClusters(int64_t count, int64_t dim,
                                      int32_t numClasses, double separation,
                                      uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  FeatureMatrix features;
  features.count = count;
  features.dim = dim;
  features.values.resize(count * dim);
  features.labels.resize(count);
  for (int64_t i = 0; i < count; ++i) {
    int32_t label = static_cast<int32_t>(i % numClasses);
    features.labels[i] = label;
    for (int64_t j = 0; j < dim; ++j)
      features.values[i * dim + j] = static_cast<float>(noise(rng));
    double sign = (label / dim) % 2 == 0 ? 1.0 : -1.0;
    features.values[i * dim + label % dim] +=
        static_cast<float>(sign * separation);
  }
  return features;
}

} // namespace simclr::eval::testing

#endif // SIMCLR_TEST_EVAL_EVALTESTUTIL_H
