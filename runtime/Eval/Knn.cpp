//===- Knn.cpp - Cosine kNN classification with tiled similarities --------===//
//
// Algorithm:
//  1. L2-normalize copies of both feature sets.
//  2. For each block of test rows, for each block of training rows, compute
//     the similarity tile with one SGEMM and fold each tile row into that
//     test row's running top-K (a min-heap on (similarity, -index), so a
//     candidate enters only if it beats the current K-th best; for random
//     order that is O(K log(N/K)) heap operations per row).
//  3. Sort each row's K neighbours (similarity descending, index ascending)
//     and vote once per configuration using the first k of them.
//
//===----------------------------------------------------------------------===//
#include "simclr/Eval/Knn.h"

#include "Gemm.h"
#include "Parallel.h"

#include <algorithm>
#include <cmath>

namespace simclr::eval {
namespace {

/// torch.nn.functional.normalize's eps: zero rows stay zero.
constexpr double kNormEpsilon = 1e-12;
/// Rows per thread below which a loop stays on one thread.
constexpr int64_t kRowGrain = 16;

struct Neighbour {
  float similarity;
  int64_t index;
};

/// True when `a` is a nearer neighbour than `b`.
bool nearer(const Neighbour &a, const Neighbour &b) {
  return a.similarity > b.similarity ||
         (a.similarity == b.similarity && a.index < b.index);
}

std::vector<float> normalizedRows(const FeatureMatrix &features) {
  std::vector<float> out(features.values.size());
  detail::parallelFor(features.count, kRowGrain, [&](int64_t, int64_t begin,
                                                    int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float *in = features.row(i);
      double sumSquares = 0;
      for (int64_t j = 0; j < features.dim; ++j)
        sumSquares += static_cast<double>(in[j]) * in[j];
      double inverse = 1.0 / std::max(std::sqrt(sumSquares), kNormEpsilon);
      for (int64_t j = 0; j < features.dim; ++j)
        out[i * features.dim + j] = static_cast<float>(in[j] * inverse);
    }
  });
  return out;
}

/// The class of `neighbours[0..k)`'s vote under `options`; ties between
/// classes go to the class of the nearest neighbour among the tied ones.
int32_t vote(const Neighbour *neighbours, int64_t k,
             const std::vector<int32_t> &trainLabels, const KnnOptions &options,
             std::vector<double> &scores) {
  std::fill(scores.begin(), scores.end(), 0.0);
  for (int64_t j = 0; j < k; ++j) {
    double weight = options.vote == KnnVote::kWeighted
                        ? std::exp(neighbours[j].similarity / options.temperature)
                        : 1.0;
    scores[trainLabels[neighbours[j].index]] += weight;
  }
  double best = *std::max_element(scores.begin(), scores.end());
  for (int64_t j = 0; j < k; ++j) {
    int32_t label = trainLabels[neighbours[j].index];
    if (scores[label] == best)
      return label;
  }
  return 0; // Unreachable: the best class has at least one neighbour.
}

} // namespace

Expected<std::vector<ClassificationResult>>
knnClassifyMany(const FeatureMatrix &train, const FeatureMatrix &test,
                const std::vector<KnnOptions> &configs,
                const KnnTiling &tiling) {
  SIMCLR_RETURN_IF_ERROR(validateFeatures(train, "kNN train features"));
  SIMCLR_RETURN_IF_ERROR(validateFeatures(test, "kNN test features"));
  if (train.dim != test.dim)
    return invalidArgument("kNN: train features have dim " +
                           std::to_string(train.dim) + ", test features " +
                           std::to_string(test.dim));
  if (configs.empty())
    return invalidArgument("kNN: no configuration given");
  int64_t maxK = 0;
  for (const KnnOptions &config : configs) {
    if (config.k < 1)
      return invalidArgument("kNN: k = " + std::to_string(config.k) +
                             " must be at least 1");
    if (config.vote == KnnVote::kWeighted && !(config.temperature > 0))
      return invalidArgument("kNN: temperature must be positive");
    maxK = std::max(maxK, std::min(config.k, train.count));
  }
  if (tiling.testBlock < 1 || tiling.trainBlock < 1)
    return invalidArgument("kNN: tile sizes must be positive");

  const int64_t numClasses = countClasses(train, test);
  const int64_t dim = train.dim;
  std::vector<float> trainUnit = normalizedRows(train);
  std::vector<float> testUnit = normalizedRows(test);

  const int64_t testBlock = std::min(tiling.testBlock, test.count);
  const int64_t trainBlock = std::min(tiling.trainBlock, train.count);
  std::vector<float> tile(testBlock * trainBlock);
  // Row r's heap is heaps[r * maxK, r * maxK + sizes[r]); its front is the
  // worst kept neighbour.
  std::vector<Neighbour> heaps(testBlock * maxK);
  std::vector<int64_t> sizes(testBlock);
  std::vector<std::vector<int32_t>> predictions(
      configs.size(), std::vector<int32_t>(test.count));
  auto worseFirst = [](const Neighbour &a, const Neighbour &b) {
    return nearer(a, b);
  };

  for (int64_t t0 = 0; t0 < test.count; t0 += testBlock) {
    const int64_t rows = std::min(testBlock, test.count - t0);
    std::fill(sizes.begin(), sizes.end(), 0);
    for (int64_t n0 = 0; n0 < train.count; n0 += trainBlock) {
      const int64_t cols = std::min(trainBlock, train.count - n0);
      detail::gemmNT(rows, cols, dim, testUnit.data() + t0 * dim, dim,
                     trainUnit.data() + n0 * dim, dim, tile.data(), cols);
      detail::parallelFor(rows, kRowGrain, [&](int64_t, int64_t begin,
                                               int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          Neighbour *heap = heaps.data() + r * maxK;
          int64_t &size = sizes[r];
          const float *sims = tile.data() + r * cols;
          for (int64_t c = 0; c < cols; ++c) {
            Neighbour candidate{sims[c], n0 + c};
            if (size < maxK) {
              heap[size++] = candidate;
              std::push_heap(heap, heap + size, worseFirst);
            } else if (nearer(candidate, heap[0])) {
              std::pop_heap(heap, heap + size, worseFirst);
              heap[size - 1] = candidate;
              std::push_heap(heap, heap + size, worseFirst);
            }
          }
        }
      });
    }
    detail::parallelFor(rows, kRowGrain, [&](int64_t, int64_t begin,
                                             int64_t end) {
      std::vector<double> scores(numClasses);
      for (int64_t r = begin; r < end; ++r) {
        Neighbour *heap = heaps.data() + r * maxK;
        std::sort(heap, heap + sizes[r], nearer);
        for (size_t i = 0; i < configs.size(); ++i)
          predictions[i][t0 + r] =
              vote(heap, std::min(configs[i].k, sizes[r]), train.labels,
                   configs[i], scores);
      }
    });
  }

  std::vector<ClassificationResult> results;
  for (auto &predicted : predictions)
    results.push_back(
        scorePredictions(std::move(predicted), test.labels, numClasses));
  return results;
}

Expected<ClassificationResult> knnClassify(const FeatureMatrix &train,
                                           const FeatureMatrix &test,
                                           const KnnOptions &options,
                                           const KnnTiling &tiling) {
  auto results = knnClassifyMany(train, test, {options}, tiling);
  if (!results)
    return results.takeStatus();
  return std::move(results->front());
}

} // namespace simclr::eval
