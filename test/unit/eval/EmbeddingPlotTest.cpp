//===- EmbeddingPlotTest.cpp - PCA against direct eigen-decompositions ----===//
#include "EvalTestUtil.h"
#include "simclr/Eval/EmbeddingPlot.h"
#include "simclr/Support/FileIO.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <vector>

namespace simclr::eval {
namespace {

using Matrix = std::vector<std::vector<double>>;

/// Rows x = R diag(scales) z, z ~ N(0, I), R a fixed rotation: covariance
/// with eigenvalues ~ scales^2.
FeatureMatrix anisotropic(int64_t count, const std::vector<double> &scales,
                          uint32_t seed) {
  const int64_t d = static_cast<int64_t>(scales.size());
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  // A rotation from Gram-Schmidt on a random matrix.
  Matrix r(d, std::vector<double>(d));
  for (auto &row : r)
    for (double &v : row)
      v = normal(rng);
  for (int64_t i = 0; i < d; ++i) {
    for (int64_t j = 0; j < i; ++j) {
      double p = 0;
      for (int64_t k = 0; k < d; ++k)
        p += r[i][k] * r[j][k];
      for (int64_t k = 0; k < d; ++k)
        r[i][k] -= p * r[j][k];
    }
    double norm = 0;
    for (double v : r[i])
      norm += v * v;
    for (double &v : r[i])
      v /= std::sqrt(norm);
  }
  FeatureMatrix f;
  f.count = count;
  f.dim = d;
  for (int64_t n = 0; n < count; ++n) {
    std::vector<double> z(d);
    for (int64_t k = 0; k < d; ++k)
      z[k] = scales[k] * normal(rng);
    for (int64_t i = 0; i < d; ++i) {
      double v = 3.0; // A non-zero mean.
      for (int64_t k = 0; k < d; ++k)
        v += r[k][i] * z[k];
      f.values.push_back(static_cast<float>(v));
    }
    f.labels.push_back(static_cast<int32_t>(n % 3));
  }
  return f;
}

/// Covariance (1 / (N - 1)) by a naive double loop.
Matrix naiveCovariance(const FeatureMatrix &f) {
  const int64_t d = f.dim;
  std::vector<double> mean(d, 0.0);
  for (int64_t n = 0; n < f.count; ++n)
    for (int64_t i = 0; i < d; ++i)
      mean[i] += f.row(n)[i];
  for (double &m : mean)
    m /= f.count;
  Matrix c(d, std::vector<double>(d, 0.0));
  for (int64_t n = 0; n < f.count; ++n)
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j)
        c[i][j] += (f.row(n)[i] - mean[i]) * (f.row(n)[j] - mean[j]) /
                   (f.count - 1);
  return c;
}

/// |<a, b>| for unit vectors: 1 when equal up to sign.
double absCosine(const std::vector<double> &a, const std::vector<double> &b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return std::abs(dot) / std::sqrt(na * nb);
}

TEST(EvalPcaTest, MatchesClosedForm3x3) {
  FeatureMatrix f = anisotropic(500, {3.0, 1.5, 0.5}, 1);
  Matrix a = naiveCovariance(f);
  // Eigenvalues of a symmetric 3x3 in closed form (Smith 1961):
  // A = q I + p B, det(B) / 2 = cos(3 phi).
  double q = (a[0][0] + a[1][1] + a[2][2]) / 3;
  double p1 = a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2];
  double p2 = (a[0][0] - q) * (a[0][0] - q) + (a[1][1] - q) * (a[1][1] - q) +
              (a[2][2] - q) * (a[2][2] - q) + 2 * p1;
  double p = std::sqrt(p2 / 6);
  Matrix b = a;
  for (int i = 0; i < 3; ++i)
    b[i][i] -= q;
  for (auto &row : b)
    for (double &v : row)
      v /= p;
  double detB = b[0][0] * (b[1][1] * b[2][2] - b[1][2] * b[2][1]) -
                b[0][1] * (b[1][0] * b[2][2] - b[1][2] * b[2][0]) +
                b[0][2] * (b[1][0] * b[2][1] - b[1][1] * b[2][0]);
  double phi = std::acos(std::clamp(detB / 2, -1.0, 1.0)) / 3;
  double eigen[3];
  eigen[0] = q + 2 * p * std::cos(phi);
  eigen[2] = q + 2 * p * std::cos(phi + 2 * M_PI / 3);
  eigen[1] = 3 * q - eigen[0] - eigen[2];
  auto pca = computePca(f, 2);
  ASSERT_TRUE(pca) << pca.status().toString();
  EXPECT_NEAR(pca->totalVariance, 3 * q, 1e-9 * 3 * q);
  for (int k = 0; k < 2; ++k) {
    EXPECT_NEAR(pca->variances[k], eigen[k], 1e-8 * eigen[0]) << k;
    // Eigenvector: the cross product of two rows of A - l I.
    Matrix m = a;
    for (int i = 0; i < 3; ++i)
      m[i][i] -= eigen[k];
    std::vector<double> v = {m[0][1] * m[1][2] - m[0][2] * m[1][1],
                             m[0][2] * m[1][0] - m[0][0] * m[1][2],
                             m[0][0] * m[1][1] - m[0][1] * m[1][0]};
    EXPECT_NEAR(absCosine(pca->components[k], v), 1.0, 1e-9) << k;
  }
}

TEST(EvalPcaTest, MatchesPowerIterationWithDeflation5x5) {
  FeatureMatrix f = anisotropic(800, {4.0, 2.5, 1.5, 1.0, 0.5}, 2);
  Matrix a = naiveCovariance(f);
  auto pca = computePca(f, 3);
  ASSERT_TRUE(pca);
  double trace = 0;
  for (int i = 0; i < 5; ++i)
    trace += a[i][i];
  EXPECT_NEAR(pca->totalVariance, trace, 1e-9 * trace);
  // Reference: plain power iteration, deflating each found pair.
  std::mt19937 rng(3);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (int k = 0; k < 3; ++k) {
    std::vector<double> v(5);
    for (double &e : v)
      e = normal(rng);
    double lambda = 0;
    for (int iteration = 0; iteration < 20000; ++iteration) {
      std::vector<double> w(5, 0.0);
      for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 5; ++j)
          w[i] += a[i][j] * v[j];
      double norm = 0;
      for (double e : w)
        norm += e * e;
      norm = std::sqrt(norm);
      lambda = norm;
      for (int i = 0; i < 5; ++i)
        v[i] = w[i] / norm;
    }
    EXPECT_NEAR(pca->variances[k], lambda, 1e-9 * lambda) << k;
    EXPECT_NEAR(absCosine(pca->components[k], v), 1.0, 1e-9) << k;
    EXPECT_NEAR(pca->variances[k] / pca->totalVariance, lambda / trace, 1e-9);
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 5; ++j)
        a[i][j] -= lambda * v[i] * v[j];
  }
}

TEST(EvalPcaTest, ComponentsAreUnitOrthogonalAndSignFixed) {
  FeatureMatrix f = testing::gaussianClusters(300, 12, 4, 3.0, 4);
  auto pca = computePca(f, 2);
  ASSERT_TRUE(pca);
  for (const auto &c : pca->components) {
    double norm = 0;
    size_t largest = 0;
    for (size_t j = 0; j < c.size(); ++j) {
      norm += c[j] * c[j];
      if (std::abs(c[j]) > std::abs(c[largest]))
        largest = j;
    }
    EXPECT_NEAR(norm, 1.0, 1e-12);
    EXPECT_GT(c[largest], 0.0);
  }
  EXPECT_NEAR(absCosine(pca->components[0], pca->components[1]), 0.0, 1e-10);
  EXPECT_GE(pca->variances[0], pca->variances[1]);
  EXPECT_FALSE(computePca(f, 13));
}

/// Checks that every element opened is closed in order (<a/>, <a>...</a>),
/// ignoring the XML declaration; enough to catch broken markup we emit.
bool wellFormed(const std::string &xml) {
  std::vector<std::string> open;
  size_t pos = 0;
  while ((pos = xml.find('<', pos)) != std::string::npos) {
    size_t end = xml.find('>', pos);
    if (end == std::string::npos)
      return false;
    std::string tag = xml.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    if (tag.empty())
      return false;
    if (tag[0] == '?')
      continue;
    if (tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1))
        return false;
      open.pop_back();
    } else if (tag.back() != '/') {
      open.push_back(tag.substr(0, tag.find(' ')));
    }
  }
  return open.empty();
}

int64_t countOf(const std::string &text, const std::string &needle) {
  int64_t count = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + 1))
    ++count;
  return count;
}

TEST(EvalEmbeddingPlotTest, SvgHasOneCirclePerPointAndALegend) {
  FeatureMatrix f = testing::gaussianClusters(300, 8, 10, 4.0, 5);
  EmbeddingPlotOptions options;
  options.maxPoints = 120;
  options.classNames = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                        "Coat",        "Sandal",  "Shirt",    "Sneaker",
                        "Bag",         "Ankle boot"};
  options.title = "raw <pixels> & PCA";
  auto svg = renderEmbeddingPlotSvg(f, options);
  ASSERT_TRUE(svg) << svg.status().toString();
  EXPECT_TRUE(wellFormed(*svg));
  EXPECT_EQ(svg->rfind("<?xml", 0), 0u);
  EXPECT_EQ(countOf(*svg, "<circle"), 120);
  EXPECT_EQ(countOf(*svg, "class=\"legend-entry\""), 10);
  for (const std::string &name : options.classNames)
    EXPECT_NE(svg->find(">" + name + "</text>"), std::string::npos) << name;
  EXPECT_NE(svg->find("raw &lt;pixels&gt; &amp; PCA"), std::string::npos);
  for (const std::string &colour : tab10Palette())
    EXPECT_NE(svg->find("fill=\"" + colour + "\""), std::string::npos);

  // Fewer points than the cap: all are drawn; missing names get a default.
  options.maxPoints = 1000;
  options.classNames.resize(3);
  auto all = renderEmbeddingPlotSvg(f, options);
  ASSERT_TRUE(all);
  EXPECT_EQ(countOf(*all, "<circle"), 300);
  EXPECT_NE(all->find(">class 9</text>"), std::string::npos);
  // Deterministic.
  auto again = renderEmbeddingPlotSvg(f, options);
  ASSERT_TRUE(again);
  EXPECT_EQ(*all, *again);
}

TEST(EvalEmbeddingPlotTest, WritesTheFile) {
  const char *dir = std::getenv("SIMCLR_TEST_TMPDIR");
  ASSERT_NE(dir, nullptr);
  std::string path = std::string(dir) + "/embedding.svg";
  FeatureMatrix f = testing::gaussianClusters(50, 4, 3, 4.0, 6);
  ASSERT_TRUE(writeEmbeddingPlotSvg(path, f));
  auto bytes = readFile(path);
  ASSERT_TRUE(bytes);
  auto svg = renderEmbeddingPlotSvg(f);
  ASSERT_TRUE(svg);
  EXPECT_EQ(std::string(bytes->begin(), bytes->end()), *svg);
  EXPECT_FALSE(writeEmbeddingPlotSvg(std::string(dir) + "/no/such/dir/x.svg", f));
}

} // namespace
} // namespace simclr::eval
