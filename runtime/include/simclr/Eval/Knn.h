//===- Knn.h - k-nearest-neighbour classification by cosine similarity ----===//
//
// The standard kNN monitor of self-supervised learning: both feature sets are
// L2-normalized, each test feature finds its k most cosine-similar training
// features, and they vote.
//
//  * Weighted vote (InstDisc, Wu et al. 2018, Sec. 3.4; lightly's
//    knn_predict): k = 200, neighbour j adds exp(s_j / T) to its class,
//    T = 0.07.
//  * Majority vote: k = 20, one vote per neighbour.
//
// Neighbour order is similarity descending, ties by lower training index.
// Ties between classes (equal vote totals) go to the class of the nearest
// neighbour among the tied classes. A zero feature normalizes to zero (norm
// clamped at 1e-12, as torch.nn.functional.normalize). k larger than the
// training set is clamped to it.
//
// Memory: similarities are computed one [testBlock, trainBlock] tile at a
// time (single-precision GEMM) and folded into a running top-k per test row;
// the full [test, train] matrix never exists.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_EVAL_KNN_H
#define SIMCLR_EVAL_KNN_H

#include "simclr/Eval/Features.h"

#include <vector>

namespace simclr::eval {

/// How the k neighbours of a test feature choose its class.
enum class KnnVote {
  /// Each neighbour adds exp(similarity / temperature) to its class.
  kWeighted,
  /// Each neighbour adds 1 to its class.
  kMajority,
};

/// InstDisc's k and temperature for the weighted vote.
inline constexpr int64_t kDefaultWeightedK = 200;
inline constexpr double kDefaultKnnTemperature = 0.07;
/// The usual k of the majority-vote monitor.
inline constexpr int64_t kDefaultMajorityK = 20;

/// One kNN classifier configuration.
struct KnnOptions {
  int64_t k = kDefaultWeightedK;
  KnnVote vote = KnnVote::kWeighted;
  /// Used by the weighted vote only; must be > 0.
  double temperature = kDefaultKnnTemperature;

  static KnnOptions weighted(int64_t k = kDefaultWeightedK,
                             double temperature = kDefaultKnnTemperature) {
    return {k, KnnVote::kWeighted, temperature};
  }
  static KnnOptions majority(int64_t k = kDefaultMajorityK) {
    return {k, KnnVote::kMajority, kDefaultKnnTemperature};
  }
};

/// Tile sizes of the similarity computation. The default tile is 512 x 8192
/// floats (16 MiB).
struct KnnTiling {
  int64_t testBlock = 512;
  int64_t trainBlock = 8192;
};

/// Classifies every row of `test` by its neighbours among `train` (same dim)
/// under each configuration in `configs`; the neighbours are found once, for
/// the largest k. Classes are [0, countClasses(train, test)). Returns one
/// result per configuration, in order.
Expected<std::vector<ClassificationResult>>
knnClassifyMany(const FeatureMatrix &train, const FeatureMatrix &test,
                const std::vector<KnnOptions> &configs,
                const KnnTiling &tiling = {});

/// knnClassifyMany with a single configuration.
Expected<ClassificationResult> knnClassify(const FeatureMatrix &train,
                                           const FeatureMatrix &test,
                                           const KnnOptions &options = {},
                                           const KnnTiling &tiling = {});

} // namespace simclr::eval

#endif // SIMCLR_EVAL_KNN_H
