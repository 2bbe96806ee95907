//===- EmbeddingPlot.h - 2-D PCA scatter plot of embeddings as SVG --------===//
//
// A picture of a representation: test embeddings projected on their top two
// principal components, one dot per sample coloured by class (matplotlib's
// tab10 palette, cycled beyond 10 classes), with a legend of class names.
//
// PCA: the covariance (1/(N-1), double) of all rows, its leading eigenpairs
// by orthogonal (subspace) iteration with Rayleigh-Ritz on a small block,
// the Ritz problem solved by cyclic Jacobi rotations. Sign convention: each
// component's largest-magnitude entry (lowest index among equals) is
// positive, so the picture is deterministic.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_EVAL_EMBEDDINGPLOT_H
#define SIMCLR_EVAL_EMBEDDINGPLOT_H

#include "simclr/Eval/Features.h"

#include <string>
#include <vector>

namespace simclr::eval {

/// The leading principal components of a feature matrix.
struct PcaResult {
  int64_t dim = 0;
  /// Column means, dim values.
  std::vector<double> mean;
  /// components[k] is the k-th unit eigenvector (dim values) of the
  /// covariance, by decreasing eigenvalue.
  std::vector<std::vector<double>> components;
  /// Eigenvalue of each component (variance along it).
  std::vector<double> variances;
  /// Trace of the covariance: variances[k] / totalVariance is the fraction
  /// explained.
  double totalVariance = 0;
};

/// PCA of `features` (count >= 2) keeping numComponents <= dim components.
Expected<PcaResult> computePca(const FeatureMatrix &features,
                               int64_t numComponents = 2);

/// Matplotlib's tab10 colours, "#1f77b4" ... "#17becf".
const std::vector<std::string> &tab10Palette();

struct EmbeddingPlotOptions {
  /// At most this many points are drawn: a seeded random subset (the PCA
  /// itself uses every row).
  int64_t maxPoints = 2000;
  uint64_t seed = 0;
  /// Legend text per class; "class <i>" where missing.
  std::vector<std::string> classNames;
  std::string title = "PCA of embeddings";
};

/// The SVG document: one <circle> per drawn point, one legend entry (a
/// <rect> swatch and a <text>) per class in [0, countClasses).
Expected<std::string> renderEmbeddingPlotSvg(const FeatureMatrix &features,
                                             const EmbeddingPlotOptions &options = {});

/// Renders and writes the SVG to `path` atomically (writeFileAtomically).
Status writeEmbeddingPlotSvg(const std::string &path,
                             const FeatureMatrix &features,
                             const EmbeddingPlotOptions &options = {});

} // namespace simclr::eval

#endif // SIMCLR_EVAL_EMBEDDINGPLOT_H
