//===- LinearProbeTest.cpp - L-BFGS, softmax probe, decay selection -------===//
#include "EvalTestUtil.h"
#include "simclr/Eval/LinearProbe.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>

namespace simclr::eval {
namespace {

TEST(EvalLbfgsTest, MinimizesRosenbrock) {
  // f = (1 - a)^2 + 100 (b - a^2)^2, minimum 0 at (1, 1).
  Objective rosenbrock = [](const std::vector<double> &x,
                            std::vector<double> &g) {
    double a = x[0], b = x[1];
    g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
    g[1] = 200 * (b - a * a);
    return (1 - a) * (1 - a) + 100 * (b - a * a) * (b - a * a);
  };
  LbfgsOptions options;
  options.gradientTolerance = 1e-9;
  auto result = minimizeLbfgs(rosenbrock, {-1.2, 1.0}, options);
  ASSERT_TRUE(result) << result.status().toString();
  EXPECT_EQ(result->stop, LbfgsStop::kGradientTolerance)
      << lbfgsStopName(result->stop);
  EXPECT_NEAR(result->x[0], 1.0, 1e-7);
  EXPECT_NEAR(result->x[1], 1.0, 1e-7);
  EXPECT_LE(result->gradientMaxNorm, 1e-9);
  EXPECT_LT(result->iterations, 100);
}

TEST(EvalLbfgsTest, RejectsNonFiniteStart) {
  Objective bad = [](const std::vector<double> &, std::vector<double> &g) {
    g[0] = 0;
    return NAN;
  };
  EXPECT_FALSE(minimizeLbfgs(bad, {0.0}));
}

/// The probe's objective written out naively in double, with its own
/// standardization (population std, floored), for parameters
/// theta = [W (C x D), b (C)].
struct NaiveProblem {
  int64_t n, d, c;
  double weightDecay;
  std::vector<std::vector<double>> x; // standardized rows
  std::vector<int32_t> y;

  NaiveProblem(const FeatureMatrix &f, int64_t classes, double wd,
               double stdFloor)
      : n(f.count), d(f.dim), c(classes), weightDecay(wd), y(f.labels) {
    std::vector<double> mean(d, 0.0), var(d, 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j)
        mean[j] += static_cast<double>(f.row(i)[j]) / n;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j)
        var[j] += (f.row(i)[j] - mean[j]) * (f.row(i)[j] - mean[j]) / n;
    for (int64_t i = 0; i < n; ++i) {
      std::vector<double> row(d);
      for (int64_t j = 0; j < d; ++j)
        row[j] = (f.row(i)[j] - mean[j]) / std::max(std::sqrt(var[j]), stdFloor);
      x.push_back(row);
    }
  }

  double loss(const std::vector<double> &theta, std::vector<double> &grad) const {
    std::fill(grad.begin(), grad.end(), 0.0);
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      std::vector<double> z(c);
      for (int64_t k = 0; k < c; ++k) {
        z[k] = theta[c * d + k];
        for (int64_t j = 0; j < d; ++j)
          z[k] += theta[k * d + j] * x[i][j];
      }
      double m = *std::max_element(z.begin(), z.end());
      double s = 0;
      for (double v : z)
        s += std::exp(v - m);
      total += m + std::log(s) - z[y[i]];
      for (int64_t k = 0; k < c; ++k) {
        double p = std::exp(z[k] - m) / s - (k == y[i] ? 1.0 : 0.0);
        for (int64_t j = 0; j < d; ++j)
          grad[k * d + j] += p * x[i][j] / n;
        grad[c * d + k] += p / n;
      }
    }
    double reg = 0;
    for (int64_t i = 0; i < c * d; ++i) {
      reg += theta[i] * theta[i];
      grad[i] += weightDecay * theta[i];
    }
    return total / n + 0.5 * weightDecay * reg;
  }
};

TEST(EvalLinearProbeTest, LbfgsOptimumMatchesLongGradientDescent) {
  // Overlapping clusters: a finite optimum even with little decay.
  FeatureMatrix train = testing::gaussianClusters(60, 5, 3, 1.0, 11);
  constexpr double kDecay = 1e-2;
  // A gradient of 1e-7 changes the loss (~0.7) by ~1e-14 per step, still
  // above its rounding (1e-16); much smaller ones are invisible to the line
  // search's sufficient-decrease test.
  constexpr double kGradientTolerance = 1e-7;
  LbfgsOptions lbfgs;
  lbfgs.gradientTolerance = kGradientTolerance;
  lbfgs.lossTolerance = 0; // Only the gradient decides.
  auto fit = trainLinearClassifier(train, 3, kDecay, lbfgs);
  ASSERT_TRUE(fit) << fit.status().toString();
  EXPECT_EQ(fit->stop, LbfgsStop::kGradientTolerance)
      << lbfgsStopName(fit->stop);
  EXPECT_LE(fit->gradientMaxNorm, kGradientTolerance);

  NaiveProblem problem(train, 3, kDecay, kDefaultStdFloor);
  std::vector<double> theta = fit->model.weights, grad(3 * 6);
  theta.insert(theta.end(), fit->model.bias.begin(), fit->model.bias.end());
  double lbfgsLoss = problem.loss(theta, grad);
  // The naive gradient at the library's optimum: float-standardized inputs
  // differ from the naive double ones by ~1e-7 relative.
  for (double g : grad)
    EXPECT_LE(std::abs(g), 1e-5);
  EXPECT_NEAR(fit->loss, lbfgsLoss, 1e-6 * lbfgsLoss);

  // Plain gradient descent with step 1/L, L = (1/2) mean |(x, 1)|^2 + decay
  // bounding the Hessian (softmax's is at most 1/2 per logit direction);
  // strongly convex with mu >= decay, so 1e5 steps contract the error by
  // (1 - mu / L)^1e5, far below double precision.
  double meanSquaredNorm = 0;
  for (const auto &row : problem.x) {
    double s = 1;
    for (double v : row)
      s += v * v;
    meanSquaredNorm += s / problem.n;
  }
  double step = 1.0 / (0.5 * meanSquaredNorm + kDecay);
  std::vector<double> gd(theta.size(), 0.0);
  double gdLoss = 0;
  for (int iteration = 0; iteration < 100000; ++iteration) {
    gdLoss = problem.loss(gd, grad);
    for (size_t i = 0; i < gd.size(); ++i)
      gd[i] -= step * grad[i];
  }
  EXPECT_NEAR(lbfgsLoss, gdLoss, 1e-4 * gdLoss);
  std::printf("L-BFGS loss %.12f, gradient descent %.12f (relative %.2e)\n",
              lbfgsLoss, gdLoss, std::abs(lbfgsLoss - gdLoss) / gdLoss);
  // Parameters agree to the conditioning (1 / mu = 100) times the float
  // rounding of the library's standardized inputs (~1e-7).
  for (size_t i = 0; i < gd.size(); ++i)
    EXPECT_NEAR(theta[i], gd[i], 1e-4) << "parameter " << i;
}

TEST(EvalLinearProbeTest, SeparableClustersReachFullAccuracy) {
  FeatureMatrix train = testing::gaussianClusters(400, 8, 4, 8.0, 21);
  FeatureMatrix test = testing::gaussianClusters(200, 8, 4, 8.0, 22);
  auto probe = runLinearProbe(train, test);
  ASSERT_TRUE(probe) << probe.status().toString();
  EXPECT_GE(probe->test.top1(), 0.995);
  EXPECT_EQ(probe->selection.validationTop1.size(), 6u);
  EXPECT_EQ(probe->test.numClasses, 4);
  int64_t confusionTotal = 0;
  for (int64_t v : probe->test.confusion)
    confusionTotal += v;
  EXPECT_EQ(confusionTotal, 200);
}

TEST(EvalLinearProbeTest, ValidationSplitIsDeterministicAndDisjoint) {
  auto a = splitForValidation(1000, 0.1, 7);
  auto b = splitForValidation(1000, 0.1, 7);
  auto c = splitForValidation(1000, 0.1, 8);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->validationRows.size(), 100u);
  EXPECT_EQ(a->fitRows.size(), 900u);
  EXPECT_EQ(a->validationRows, b->validationRows);
  EXPECT_NE(a->validationRows, c->validationRows);
  std::set<int64_t> all(a->fitRows.begin(), a->fitRows.end());
  all.insert(a->validationRows.begin(), a->validationRows.end());
  EXPECT_EQ(all.size(), 1000u);
  EXPECT_EQ(*all.begin(), 0);
  EXPECT_EQ(*all.rbegin(), 999);
  EXPECT_FALSE(splitForValidation(1, 0.1, 0));
  EXPECT_FALSE(splitForValidation(10, 1.0, 0));
}

TEST(EvalLinearProbeTest, TestSetNeverInfluencesTheChosenDecay) {
  FeatureMatrix train = testing::gaussianClusters(300, 6, 3, 1.2, 31);
  FeatureMatrix test = testing::gaussianClusters(100, 6, 3, 1.2, 32);
  // Garbage of the same shape: huge random values and shuffled labels.
  FeatureMatrix garbage = test;
  std::mt19937 rng(33);
  std::uniform_real_distribution<float> wild(-1e3f, 1e3f);
  for (float &v : garbage.values)
    v = wild(rng);
  std::shuffle(garbage.labels.begin(), garbage.labels.end(), rng);

  auto real = runLinearProbe(train, test);
  auto fake = runLinearProbe(train, garbage);
  ASSERT_TRUE(real && fake);
  EXPECT_EQ(real->selection.chosen, fake->selection.chosen);
  EXPECT_EQ(real->selection.validationTop1, fake->selection.validationTop1);
  EXPECT_EQ(real->fit.model.weights, fake->fit.model.weights);
  EXPECT_EQ(real->fit.model.bias, fake->fit.model.bias);
  // Overlapping clusters: real accuracy is well above chance, garbage's not.
  EXPECT_GT(real->test.top1(), 0.6);
}

TEST(EvalLinearProbeTest, StandardizationUsesTrainingStatisticsOnly) {
  FeatureMatrix train = testing::gaussianClusters(200, 4, 2, 2.0, 41);
  for (int64_t i = 0; i < train.count; ++i)
    train.values[i * 4 + 3] = 5.0f; // Constant: its std is floored.
  FeatureMatrix test = testing::gaussianClusters(50, 4, 2, 2.0, 42);
  for (float &v : test.values)
    v += 100.0f; // Would move the mean if the test set were looked at.
  auto probe = runLinearProbe(train, test);
  ASSERT_TRUE(probe);
  const Standardization &s = probe->fit.model.standardization;
  for (int64_t j = 0; j < 4; ++j) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < train.count; ++i)
      mean += static_cast<double>(train.row(i)[j]) / train.count;
    for (int64_t i = 0; i < train.count; ++i)
      var += (train.row(i)[j] - mean) * (train.row(i)[j] - mean) / train.count;
    EXPECT_NEAR(s.mean[j], mean, 1e-9 * (1 + std::abs(mean))) << j;
    EXPECT_NEAR(s.scale[j], std::max(std::sqrt(var), kDefaultStdFloor),
                1e-9)
        << j;
  }
  EXPECT_EQ(s.scale[3], kDefaultStdFloor);

  // Standardization::apply maps the training rows to mean 0, std 1.
  FeatureMatrix z = s.apply(train);
  double mean0 = 0, var0 = 0;
  for (int64_t i = 0; i < z.count; ++i)
    mean0 += static_cast<double>(z.row(i)[0]) / z.count;
  for (int64_t i = 0; i < z.count; ++i)
    var0 += (z.row(i)[0] - mean0) * (z.row(i)[0] - mean0) / z.count;
  EXPECT_NEAR(mean0, 0.0, 1e-6);
  EXPECT_NEAR(var0, 1.0, 1e-5);
}

TEST(EvalLinearProbeTest, TieInValidationAccuracyPicksTheLargestDecay) {
  // Perfectly separable: every decay scores 100% on validation.
  FeatureMatrix train = testing::gaussianClusters(200, 4, 2, 20.0, 51);
  auto selection = selectWeightDecay(train, 2);
  ASSERT_TRUE(selection);
  for (double top1 : selection->validationTop1)
    EXPECT_EQ(top1, 1.0);
  EXPECT_EQ(selection->chosen, 1e-1);
}

TEST(EvalLinearProbeTest, RejectsBadArguments) {
  FeatureMatrix train = testing::gaussianClusters(20, 3, 2, 1.0, 61);
  EXPECT_FALSE(trainLinearClassifier(train, 1, 1e-3)); // label 1 >= 1 class
  EXPECT_FALSE(trainLinearClassifier(train, 2, -1.0));
  FeatureMatrix other = testing::gaussianClusters(20, 4, 2, 1.0, 62);
  EXPECT_FALSE(runLinearProbe(train, other));
  LinearProbeOptions empty;
  empty.weightDecays.clear();
  EXPECT_FALSE(runLinearProbe(train, train, empty));
}

} // namespace
} // namespace simclr::eval
