//===- KnnTest.cpp - kNN against a brute-force double reference -----------===//
#include "EvalTestUtil.h"
#include "simclr/Eval/Knn.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace simclr::eval {
namespace {

/// Rows whose answer depends on float rounding are left out of the exact
/// comparison: similarities closer than this (float GEMM on unit vectors of
/// dim 16 is accurate to ~1e-7) ...
constexpr double kSimilarityAmbiguity = 1e-5;
/// ... or weighted vote totals closer than this, relatively.
constexpr double kScoreAmbiguity = 1e-6;

struct ReferenceAnswer {
  int32_t prediction = 0;
  bool ambiguous = false;
};

/// Brute force in double: every similarity, a full sort, the vote written
/// out directly.
ReferenceAnswer referenceKnn(const FeatureMatrix &train,
                             const FeatureMatrix &test, int64_t row,
                             const KnnOptions &options, int64_t numClasses) {
  auto unit = [](const float *v, int64_t dim) {
    std::vector<double> out(v, v + dim);
    double norm = 0;
    for (double e : out)
      norm += e * e;
    norm = std::max(std::sqrt(norm), 1e-12);
    for (double &e : out)
      e /= norm;
    return out;
  };
  std::vector<double> query = unit(test.row(row), test.dim);
  std::vector<double> sims(train.count);
  for (int64_t i = 0; i < train.count; ++i) {
    std::vector<double> key = unit(train.row(i), train.dim);
    sims[i] = std::inner_product(query.begin(), query.end(), key.begin(), 0.0);
  }
  std::vector<int64_t> order(train.count);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return sims[a] > sims[b] || (sims[a] == sims[b] && a < b);
  });
  int64_t k = std::min(options.k, train.count);
  ReferenceAnswer answer;
  if (k < train.count &&
      sims[order[k - 1]] - sims[order[k]] < kSimilarityAmbiguity)
    answer.ambiguous = true;
  std::vector<double> scores(numClasses, 0.0);
  for (int64_t j = 0; j < k; ++j)
    scores[train.labels[order[j]]] +=
        options.vote == KnnVote::kWeighted
            ? std::exp(sims[order[j]] / options.temperature)
            : 1.0;
  double best = *std::max_element(scores.begin(), scores.end());
  // Winner: the nearest neighbour whose class has the best total.
  int64_t winner = -1, runnerUp = -1;
  for (int64_t j = 0; j < k; ++j) {
    int32_t label = train.labels[order[j]];
    bool top = options.vote == KnnVote::kWeighted
                   ? best - scores[label] <= kScoreAmbiguity * best
                   : scores[label] == best;
    if (!top)
      continue;
    if (winner < 0) {
      winner = j;
    } else if (train.labels[order[j]] != train.labels[order[winner]] &&
               runnerUp < 0) {
      runnerUp = j;
    }
  }
  answer.prediction = train.labels[order[winner]];
  if (runnerUp >= 0) {
    if (options.vote == KnnVote::kWeighted)
      answer.ambiguous = true; // Totals within rounding of each other.
    else if (sims[order[winner]] - sims[order[runnerUp]] < kSimilarityAmbiguity)
      answer.ambiguous = true; // A count tie decided by a near-tied distance.
  }
  return answer;
}

void expectMatchesReference(const FeatureMatrix &train,
                            const FeatureMatrix &test,
                            const std::vector<KnnOptions> &configs,
                            const KnnTiling &tiling) {
  auto results = knnClassifyMany(train, test, configs, tiling);
  ASSERT_TRUE(results) << results.status().toString();
  const int64_t numClasses = countClasses(train, test);
  for (size_t c = 0; c < configs.size(); ++c) {
    int64_t ambiguous = 0, correct = 0;
    for (int64_t row = 0; row < test.count; ++row) {
      ReferenceAnswer expected =
          referenceKnn(train, test, row, configs[c], numClasses);
      if (expected.ambiguous) {
        ++ambiguous;
        continue;
      }
      EXPECT_EQ((*results)[c].predictions[row], expected.prediction)
          << "config " << c << " (k = " << configs[c].k << "), row " << row;
      correct += expected.prediction == test.labels[row];
    }
    // The exclusion must stay rare or the comparison would mean little.
    EXPECT_LE(ambiguous, test.count / 50) << "config " << c;
    EXPECT_GE((*results)[c].correct, correct);
    EXPECT_LE((*results)[c].correct, correct + ambiguous);
  }
}

TEST(EvalKnnTest, MatchesBruteForceReference) {
  // Overlapping clusters, so votes are contested and the classes matter.
  FeatureMatrix train = testing::gaussianClusters(600, 16, 5, 1.5, 1);
  FeatureMatrix test = testing::gaussianClusters(150, 16, 5, 1.5, 2);
  std::vector<KnnOptions> configs = {
      KnnOptions::weighted(), KnnOptions::majority(),
      KnnOptions::weighted(7, 0.5), KnnOptions::majority(1),
      KnnOptions::majority(4)};
  expectMatchesReference(train, test, configs, KnnTiling{});
}

TEST(EvalKnnTest, SmallTilesGiveTheSameAnswer) {
  FeatureMatrix train = testing::gaussianClusters(600, 16, 5, 1.5, 3);
  FeatureMatrix test = testing::gaussianClusters(150, 16, 5, 1.5, 4);
  std::vector<KnnOptions> configs = {KnnOptions::weighted(),
                                     KnnOptions::majority()};
  // Tiles that divide nothing evenly: heaps must carry across train tiles.
  expectMatchesReference(train, test, configs, KnnTiling{7, 33});
  auto big = knnClassifyMany(train, test, configs);
  auto small = knnClassifyMany(train, test, configs, KnnTiling{7, 33});
  ASSERT_TRUE(big && small);
  for (size_t c = 0; c < configs.size(); ++c)
    EXPECT_EQ((*big)[c].predictions, (*small)[c].predictions);
}

/// Unit vector at `degrees` on the circle.
void addPoint(FeatureMatrix &m, double degrees, int32_t label) {
  double radians = degrees * M_PI / 180;
  m.values.push_back(static_cast<float>(std::cos(radians)));
  m.values.push_back(static_cast<float>(std::sin(radians)));
  m.labels.push_back(label);
  m.dim = 2;
  ++m.count;
}

TEST(EvalKnnTest, HandMadeVotes) {
  // Query at 0 degrees; neighbours by angle: 10 (class 0), 20 (1), 30 (1),
  // 40 (0); 170 (2) is far.
  FeatureMatrix train, test;
  addPoint(train, 40, 0);
  addPoint(train, 170, 2);
  addPoint(train, 20, 1);
  addPoint(train, 10, 0);
  addPoint(train, 30, 1);
  addPoint(test, 0, 0);

  auto predict = [&](const KnnOptions &options) {
    auto result = knnClassify(train, test, options);
    EXPECT_TRUE(result) << result.status().toString();
    return result ? result->predictions[0] : -1;
  };
  // k = 3: classes 1, 1 vs 0.
  EXPECT_EQ(predict(KnnOptions::majority(3)), 1);
  // k = 4: 2 votes each; the nearest of the tied (10 degrees) is class 0.
  EXPECT_EQ(predict(KnnOptions::majority(4)), 0);
  // Weighted, k = 4. T = 0.07: class 0 gets exp(cos10/T) + exp(cos40/T) =
  // 1.29e6 + 5.6e4, class 1 exp(cos20/T) + exp(cos30/T) = 6.8e5 + 2.4e5.
  EXPECT_EQ(predict(KnnOptions::weighted(4, 0.07)), 0);
  // T = 1: class 0 gets e^0.985 + e^0.766 = 4.83, class 1 e^0.940 +
  // e^0.866 = 4.94.
  EXPECT_EQ(predict(KnnOptions::weighted(4, 1.0)), 1);
  // k beyond the training set is clamped: all 5 vote, 2 + 2 + 1; tie
  // between 0 and 1 goes to the nearest (class 0).
  EXPECT_EQ(predict(KnnOptions::majority(100)), 0);
}

TEST(EvalKnnTest, ExactTieGoesToTheNearestByIndex) {
  // Mirror images at +-20 degrees are exactly equally similar to 0 degrees;
  // the lower training index (class 1) counts as nearer, in both modes.
  FeatureMatrix train, test;
  addPoint(train, -20, 1);
  addPoint(train, 20, 0);
  addPoint(test, 0, 0);
  for (const KnnOptions &options :
       {KnnOptions::majority(2), KnnOptions::weighted(2)}) {
    auto result = knnClassify(train, test, options);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->predictions[0], 1);
    EXPECT_EQ(result->correct, 0);
    EXPECT_EQ(result->confusion, (std::vector<int64_t>{0, 1, 0, 0}));
  }
}

TEST(EvalKnnTest, ZeroFeatureDoesNotBreakTheVote) {
  FeatureMatrix train, test;
  addPoint(train, 0, 1);
  addPoint(train, 90, 0);
  test.count = 1;
  test.dim = 2;
  test.values = {0.0f, 0.0f};
  test.labels = {1};
  // All similarities are 0: the lowest index wins.
  auto result = knnClassify(train, test, KnnOptions::majority(1));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->predictions[0], 1);
}

TEST(EvalKnnTest, RejectsBadArguments) {
  FeatureMatrix train = testing::gaussianClusters(10, 4, 2, 1.0, 5);
  FeatureMatrix test = testing::gaussianClusters(5, 3, 2, 1.0, 6);
  auto mismatch = knnClassify(train, test);
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mismatch.status().message().find("dim"), std::string::npos);

  FeatureMatrix good = testing::gaussianClusters(5, 4, 2, 1.0, 6);
  EXPECT_FALSE(knnClassify(train, good, KnnOptions::majority(0)));
  EXPECT_FALSE(knnClassify(train, good, KnnOptions::weighted(5, 0.0)));
  good.labels.pop_back();
  EXPECT_FALSE(knnClassify(train, good));
}

} // namespace
} // namespace simclr::eval
