//===- EmbeddingPlot.cpp - PCA and the SVG scatter plot -------------------===//
//
// PCA algorithm:
//  1. Column means; covariance C = Xc' Xc / (N - 1) accumulated in double
//     over row blocks (DGEMM).
//  2. Orthogonal iteration on a block Q of p = min(D, K + kOversample) rows,
//     each step Y = Q C, Rayleigh-Ritz T = Y Q' solved by cyclic Jacobi
//     (T = V L V'), rotated Y <- V' Y, Q <- V' Q. Converged when each of
//     the K leading Ritz pairs has residual |C q - l q| <= kResidualTolerance
//     * l_max; otherwise Q <- orthonormalize(Y). The oversampled block
//     makes the leading K converge at rate l_{p+1} / l_K, not l_2 / l_1.
//  3. Sign: largest-magnitude entry positive.
//
//===----------------------------------------------------------------------===//
#include "simclr/Eval/EmbeddingPlot.h"

#include "Gemm.h"
#include "simclr/Support/FileIO.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace simclr::eval {
namespace {

/// Extra block vectors beyond the wanted components.
constexpr int64_t kOversample = 6;
constexpr int kMaxIterations = 3000;
constexpr double kResidualTolerance = 1e-10;
constexpr int kMaxJacobiSweeps = 100;
/// Jacobi stops when the off-diagonal mass is this small relative to the
/// diagonal's: below double rounding of the eigenvalues.
constexpr double kJacobiOffDiagonalTolerance = 1e-30;
/// Gram-Schmidt treats a row that shrank below this fraction as dependent.
constexpr double kDependentRowRatio = 1e-10;
/// Rows of the centered double copy used per covariance update.
constexpr int64_t kCovarianceBlock = 2048;

uint64_t splitMix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// Uniform in [-1, 1).
double uniformSigned(uint64_t &state) {
  return (splitMix64(state) >> 11) * 0x1.0p-52 - 1.0;
}

/// Eigen-decomposition of the symmetric n x n matrix `a` (destroyed) by
/// cyclic Jacobi rotations (Numerical Recipes 3rd ed., Sec. 11.1). Returns
/// eigenvalues; `vectors` gets eigenvector k in column k.
std::vector<double> jacobiEigen(std::vector<double> &a, int64_t n,
                                std::vector<double> &vectors) {
  vectors.assign(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    vectors[i * n + i] = 1.0;
  for (int sweep = 0; sweep < kMaxJacobiSweeps; ++sweep) {
    double off = 0, diagonal = 0;
    for (int64_t i = 0; i < n; ++i) {
      diagonal += a[i * n + i] * a[i * n + i];
      for (int64_t j = i + 1; j < n; ++j)
        off += a[i * n + j] * a[i * n + j];
    }
    if (off <= kJacobiOffDiagonalTolerance * diagonal || off == 0)
      break;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        double apq = a[p * n + q];
        if (apq == 0)
          continue;
        double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        double t = std::copysign(1.0, theta) /
                   (std::abs(theta) + std::sqrt(theta * theta + 1));
        double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < n; ++k) {
          double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (int64_t k = 0; k < n; ++k) {
          double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < n; ++k) {
          double vkp = vectors[k * n + p], vkq = vectors[k * n + q];
          vectors[k * n + p] = c * vkp - s * vkq;
          vectors[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  std::vector<double> values(n);
  for (int64_t i = 0; i < n; ++i)
    values[i] = a[i * n + i];
  return values;
}

/// Modified Gram-Schmidt, applied twice, on the p rows of `q` (length d).
/// A row that vanishes (rank deficiency) is replaced by a random one.
void orthonormalizeRows(std::vector<double> &q, int64_t p, int64_t d,
                        uint64_t &rng) {
  for (int64_t i = 0; i < p; ++i) {
    double *row = q.data() + i * d;
    for (int attempt = 0;; ++attempt) {
      double before = std::sqrt(std::inner_product(row, row + d, row, 0.0));
      for (int pass = 0; pass < 2; ++pass)
        for (int64_t j = 0; j < i; ++j) {
          const double *other = q.data() + j * d;
          double projection = std::inner_product(row, row + d, other, 0.0);
          for (int64_t k = 0; k < d; ++k)
            row[k] -= projection * other[k];
        }
      double norm = std::sqrt(std::inner_product(row, row + d, row, 0.0));
      if (norm > kDependentRowRatio * before && norm > 0) {
        for (int64_t k = 0; k < d; ++k)
          row[k] /= norm;
        break;
      }
      for (int64_t k = 0; k < d; ++k)
        row[k] = uniformSigned(rng);
    }
  }
}

std::string escapeXml(const std::string &text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string formatNumber(const char *format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

} // namespace

Expected<PcaResult> computePca(const FeatureMatrix &features,
                               int64_t numComponents) {
  if (features.count < 2 || features.dim < 1 ||
      static_cast<int64_t>(features.values.size()) !=
          features.count * features.dim)
    return invalidArgument("PCA: need at least 2 rows of consistent shape");
  if (numComponents < 1 || numComponents > features.dim)
    return invalidArgument("PCA: " + std::to_string(numComponents) +
                           " components requested of dim " +
                           std::to_string(features.dim));
  const int64_t n = features.count, d = features.dim;
  PcaResult result;
  result.dim = d;
  result.mean.assign(d, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j)
      result.mean[j] += features.row(i)[j];
  for (double &m : result.mean)
    m /= n;

  // 1. Covariance.
  std::vector<double> covariance(d * d, 0.0), blockProduct(d * d);
  std::vector<double> centered(std::min(kCovarianceBlock, n) * d);
  for (int64_t r0 = 0; r0 < n; r0 += kCovarianceBlock) {
    int64_t rows = std::min(kCovarianceBlock, n - r0);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < d; ++j)
        centered[i * d + j] = features.row(r0 + i)[j] - result.mean[j];
    detail::gemmTN(d, d, rows, centered.data(), d, centered.data(), d,
                   blockProduct.data(), d);
    for (int64_t i = 0; i < d * d; ++i)
      covariance[i] += blockProduct[i];
  }
  for (double &c : covariance)
    c /= (n - 1);
  for (int64_t j = 0; j < d; ++j)
    result.totalVariance += covariance[j * d + j];

  // 2. Orthogonal iteration with Rayleigh-Ritz.
  const int64_t p = std::min(d, numComponents + kOversample);
  uint64_t rng = 0;
  std::vector<double> q(p * d), y(p * d), rotated(p * d), ritz(p * p), v;
  for (double &e : q)
    e = uniformSigned(rng);
  orthonormalizeRows(q, p, d, rng);
  std::vector<double> values;
  std::vector<int64_t> order(p);
  for (int iteration = 0; iteration < kMaxIterations; ++iteration) {
    detail::gemmNT(p, d, d, q.data(), d, covariance.data(), d, y.data(), d);
    detail::gemmNT(p, p, d, y.data(), d, q.data(), d, ritz.data(), p);
    for (int64_t i = 0; i < p; ++i) // Symmetrize rounding.
      for (int64_t j = i + 1; j < p; ++j)
        ritz[i * p + j] = ritz[j * p + i] =
            0.5 * (ritz[i * p + j] + ritz[j * p + i]);
    values = jacobiEigen(ritz, p, v);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return values[a] > values[b];
    });
    // Row k of the rotated bases: sum_i V[i, order[k]] * row i.
    auto rotate = [&](const std::vector<double> &in, std::vector<double> &out) {
      std::fill(out.begin(), out.end(), 0.0);
      for (int64_t k = 0; k < p; ++k)
        for (int64_t i = 0; i < p; ++i) {
          double coefficient = v[i * p + order[k]];
          for (int64_t j = 0; j < d; ++j)
            out[k * d + j] += coefficient * in[i * d + j];
        }
    };
    rotate(q, rotated);
    q.swap(rotated);
    rotate(y, rotated);
    y.swap(rotated);
    double scale = std::max(std::abs(values[order[0]]), 1e-300);
    double worstResidual = 0;
    for (int64_t k = 0; k < numComponents; ++k) {
      double sum = 0;
      for (int64_t j = 0; j < d; ++j) {
        double r = y[k * d + j] - values[order[k]] * q[k * d + j];
        sum += r * r;
      }
      worstResidual = std::max(worstResidual, std::sqrt(sum));
    }
    if (worstResidual <= kResidualTolerance * scale ||
        result.totalVariance == 0)
      break;
    q = y;
    orthonormalizeRows(q, p, d, rng);
  }

  // 3. Components with a deterministic sign.
  for (int64_t k = 0; k < numComponents; ++k) {
    std::vector<double> component(q.begin() + k * d, q.begin() + (k + 1) * d);
    int64_t largest = 0;
    for (int64_t j = 1; j < d; ++j)
      if (std::abs(component[j]) > std::abs(component[largest]))
        largest = j;
    if (component[largest] < 0)
      for (double &e : component)
        e = -e;
    result.components.push_back(std::move(component));
    result.variances.push_back(std::max(values[order[k]], 0.0));
  }
  return result;
}

const std::vector<std::string> &tab10Palette() {
  static const std::vector<std::string> palette = {
      "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return palette;
}

Expected<std::string>
renderEmbeddingPlotSvg(const FeatureMatrix &features,
                       const EmbeddingPlotOptions &options) {
  SIMCLR_RETURN_IF_ERROR(validateFeatures(features, "embedding plot features"));
  if (options.maxPoints < 1)
    return invalidArgument("embedding plot: maxPoints must be positive");
  const int64_t components = std::min<int64_t>(2, features.dim);
  auto pca = computePca(features, components);
  if (!pca)
    return pca.takeStatus();

  // Seeded subset, drawn in row order.
  std::vector<int64_t> rows(features.count);
  std::iota(rows.begin(), rows.end(), 0);
  if (features.count > options.maxPoints) {
    uint64_t state = options.seed;
    for (int64_t i = 0; i < options.maxPoints; ++i)
      std::swap(rows[i],
                rows[i + splitMix64(state) % (features.count - i)]);
    rows.resize(options.maxPoints);
    std::sort(rows.begin(), rows.end());
  }
  std::vector<double> xs, ys;
  for (int64_t row : rows) {
    double coordinates[2] = {0, 0};
    for (int64_t k = 0; k < components; ++k)
      for (int64_t j = 0; j < features.dim; ++j)
        coordinates[k] += (features.row(row)[j] - pca->mean[j]) *
                          pca->components[k][j];
    xs.push_back(coordinates[0]);
    ys.push_back(coordinates[1]);
  }

  // Layout, in SVG user units.
  constexpr double kPlotSize = 560, kMargin = 60, kLegendWidth = 170;
  constexpr double kWidth = kMargin * 2 + kPlotSize + kLegendWidth;
  constexpr double kHeight = kMargin * 2 + kPlotSize;
  constexpr double kPad = 0.05; // Fraction of the data range left empty.
  constexpr const char *kDotRadius = "2.5";
  auto range = [](const std::vector<double> &v) {
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    double width = std::max(*hi - *lo, 1e-12);
    return std::make_pair(*lo - kPad * width, *hi + kPad * width);
  };
  auto [xLo, xHi] = range(xs);
  auto [yLo, yHi] = range(ys);

  const auto &palette = tab10Palette();
  auto percent = [&](int64_t k) {
    return k < components && pca->totalVariance > 0
               ? formatNumber("%.1f", 100 * pca->variances[k] /
                                          pca->totalVariance)
               : std::string("0.0");
  };
  std::string svg;
  svg += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
         formatNumber("%.0f", kWidth) + "\" height=\"" +
         formatNumber("%.0f", kHeight) + "\" viewBox=\"0 0 " +
         formatNumber("%.0f", kWidth) + " " + formatNumber("%.0f", kHeight) +
         "\" font-family=\"sans-serif\" font-size=\"13\">\n";
  svg += "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" "
         "fill=\"white\"/>\n";
  svg += "<text x=\"" + formatNumber("%.1f", kMargin + kPlotSize / 2) +
         "\" y=\"30\" text-anchor=\"middle\" font-size=\"16\">" +
         escapeXml(options.title) + "</text>\n";
  svg += "<rect x=\"" + formatNumber("%.1f", kMargin) + "\" y=\"" +
         formatNumber("%.1f", kMargin) + "\" width=\"" +
         formatNumber("%.1f", kPlotSize) + "\" height=\"" +
         formatNumber("%.1f", kPlotSize) +
         "\" fill=\"none\" stroke=\"#444\"/>\n";
  svg += "<text x=\"" + formatNumber("%.1f", kMargin + kPlotSize / 2) +
         "\" y=\"" + formatNumber("%.1f", kHeight - 20) +
         "\" text-anchor=\"middle\">PC1 (" + percent(0) +
         "% of variance)</text>\n";
  svg += "<text x=\"20\" y=\"" + formatNumber("%.1f", kMargin + kPlotSize / 2) +
         "\" text-anchor=\"middle\" transform=\"rotate(-90 20 " +
         formatNumber("%.1f", kMargin + kPlotSize / 2) + ")\">PC2 (" +
         percent(1) + "% of variance)</text>\n";
  svg += "<g fill-opacity=\"0.7\">\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    double cx = kMargin + (xs[i] - xLo) / (xHi - xLo) * kPlotSize;
    double cy = kMargin + kPlotSize - (ys[i] - yLo) / (yHi - yLo) * kPlotSize;
    int32_t label = features.labels[rows[i]];
    svg += "<circle cx=\"" + formatNumber("%.2f", cx) + "\" cy=\"" +
           formatNumber("%.2f", cy) + "\" r=\"" + kDotRadius + "\" fill=\"" +
           palette[label % palette.size()] + "\"/>\n";
  }
  svg += "</g>\n";
  const int64_t numClasses = countClasses(features, FeatureMatrix());
  constexpr double kLegendLine = 22;
  double legendX = kMargin * 2 + kPlotSize - 20;
  for (int64_t k = 0; k < numClasses; ++k) {
    double top = kMargin + k * kLegendLine;
    std::string name = k < static_cast<int64_t>(options.classNames.size())
                           ? options.classNames[k]
                           : "class " + std::to_string(k);
    svg += "<g class=\"legend-entry\"><rect x=\"" +
           formatNumber("%.1f", legendX) + "\" y=\"" +
           formatNumber("%.1f", top) + "\" width=\"12\" height=\"12\" fill=\"" +
           palette[k % palette.size()] + "\"/><text x=\"" +
           formatNumber("%.1f", legendX + 18) + "\" y=\"" +
           formatNumber("%.1f", top + 11) + "\">" + escapeXml(name) +
           "</text></g>\n";
  }
  svg += "</svg>\n";
  return svg;
}

Status writeEmbeddingPlotSvg(const std::string &path,
                             const FeatureMatrix &features,
                             const EmbeddingPlotOptions &options) {
  auto svg = renderEmbeddingPlotSvg(features, options);
  if (!svg)
    return svg.status().withContext(path);
  return writeFileAtomically(path, svg->data(), svg->size());
}

} // namespace simclr::eval
