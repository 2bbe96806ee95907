//===- Pool.cpp - Reference max pooling and global average pooling --------===//
#include "Checks.h"
#include "simclr/Reference/Kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace simclr::ref {

namespace {

struct PoolGeometry {
  int64_t n, c, h, w, oh, ow;
};

template <typename T>
Expected<PoolGeometry> checkPool(const char *kernel, const Tensor<T> &x,
                                 const Pool2dOptions &options) {
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "x", x, 4));
  for (int axis = 0; axis < 2; ++axis) {
    if (options.kernel[axis] < 1 || options.stride[axis] < 1 ||
        options.padding[axis] < 0)
      return invalidArgument(std::string(kernel) +
                             ": kernel and stride must be >= 1, padding >= 0");
    // PyTorch's rule; it guarantees every window holds a real element.
    if (options.padding[axis] > options.kernel[axis] / 2)
      return invalidArgument(std::string(kernel) +
                             ": padding must be at most half the kernel");
  }
  PoolGeometry g{x.dim(0), x.dim(1), x.dim(2), x.dim(3), 0, 0};
  g.oh = convOutputSize(g.h, options.kernel[0], options.stride[0],
                        options.padding[0], 1);
  g.ow = convOutputSize(g.w, options.kernel[1], options.stride[1],
                        options.padding[1], 1);
  if (g.oh < 1 || g.ow < 1)
    return detail::operandError(kernel, "x", x,
                                "smaller than the pooling window");
  return g;
}

/// Offset (within one [H,W] plane) of the element maxPool2d selects for
/// output (oh, ow): PyTorch CPU's scan over the in-bounds part of the window
/// in row-major order, starting from its first element, keeping the first
/// strict maximum; a NaN always takes over.
template <typename T>
int64_t argmaxInWindow(const T *plane, const PoolGeometry &g, int64_t oh,
                       int64_t ow, const Pool2dOptions &options) {
  int64_t h0 = oh * options.stride[0] - options.padding[0];
  int64_t w0 = ow * options.stride[1] - options.padding[1];
  int64_t hBegin = std::max<int64_t>(h0, 0);
  int64_t wBegin = std::max<int64_t>(w0, 0);
  int64_t hEnd = std::min(h0 + options.kernel[0], g.h);
  int64_t wEnd = std::min(w0 + options.kernel[1], g.w);
  int64_t best = hBegin * g.w + wBegin;
  T bestValue = -std::numeric_limits<T>::infinity();
  for (int64_t ih = hBegin; ih < hEnd; ++ih)
    for (int64_t iw = wBegin; iw < wEnd; ++iw) {
      T value = plane[ih * g.w + iw];
      if (value > bestValue || std::isnan(value)) {
        bestValue = value;
        best = ih * g.w + iw;
      }
    }
  return best;
}

} // namespace

template <typename T>
Expected<Tensor<T>> maxPool2d(const Tensor<T> &x,
                              const Pool2dOptions &options) {
  Expected<PoolGeometry> geometry = checkPool("maxPool2d", x, options);
  if (!geometry)
    return geometry.takeStatus();
  const PoolGeometry &g = *geometry;
  Tensor<T> y = Tensor<T>::zeros({g.n, g.c, g.oh, g.ow});
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t c = 0; c < g.c; ++c) {
      const T *plane = &x.at(n, c, 0, 0);
      for (int64_t oh = 0; oh < g.oh; ++oh)
        for (int64_t ow = 0; ow < g.ow; ++ow)
          y.at(n, c, oh, ow) = plane[argmaxInWindow(plane, g, oh, ow, options)];
    }
  return y;
}

template <typename T>
Expected<Tensor<T>> maxPool2dBackward(const Tensor<T> &dy, const Tensor<T> &x,
                                      const Pool2dOptions &options) {
  const char *kernel = "maxPool2dBackward";
  Expected<PoolGeometry> geometry = checkPool(kernel, x, options);
  if (!geometry)
    return geometry.takeStatus();
  const PoolGeometry &g = *geometry;
  SIMCLR_RETURN_IF_ERROR(
      detail::checkShape(kernel, "dy", dy, {g.n, g.c, g.oh, g.ow}));
  Tensor<T> dx = Tensor<T>::zeros(x.shape);
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t c = 0; c < g.c; ++c) {
      const T *plane = &x.at(n, c, 0, 0);
      T *dplane = &dx.at(n, c, 0, 0);
      for (int64_t oh = 0; oh < g.oh; ++oh)
        for (int64_t ow = 0; ow < g.ow; ++ow)
          dplane[argmaxInWindow(plane, g, oh, ow, options)] +=
              dy.at(n, c, oh, ow);
    }
  return dx;
}

template <typename T> Expected<Tensor<T>> globalAvgPool(const Tensor<T> &x) {
  SIMCLR_RETURN_IF_ERROR(detail::checkRank("globalAvgPool", "x", x, 4));
  int64_t area = x.dim(2) * x.dim(3);
  if (area < 1)
    return detail::operandError("globalAvgPool", "x", x, "has no pixels");
  Tensor<T> y = Tensor<T>::zeros({x.dim(0), x.dim(1)});
  for (int64_t n = 0; n < x.dim(0); ++n)
    for (int64_t c = 0; c < x.dim(1); ++c) {
      T sum = 0;
      for (int64_t h = 0; h < x.dim(2); ++h)
        for (int64_t w = 0; w < x.dim(3); ++w)
          sum += x.at(n, c, h, w);
      y.at(n, c) = sum / static_cast<T>(area);
    }
  return y;
}

template <typename T>
Expected<Tensor<T>>
globalAvgPoolBackward(const Tensor<T> &dy,
                      const std::vector<int64_t> &inputShape) {
  const char *kernel = "globalAvgPoolBackward";
  if (inputShape.size() != 4 || inputShape[2] * inputShape[3] < 1)
    return invalidArgument(std::string(kernel) + ": input shape " +
                           shapeToString(inputShape) +
                           " is not a non-empty [N,C,H,W]");
  SIMCLR_RETURN_IF_ERROR(
      detail::checkShape(kernel, "dy", dy, {inputShape[0], inputShape[1]}));
  Tensor<T> dx = Tensor<T>::zeros(inputShape);
  T area = static_cast<T>(inputShape[2] * inputShape[3]);
  for (int64_t n = 0; n < inputShape[0]; ++n)
    for (int64_t c = 0; c < inputShape[1]; ++c)
      for (int64_t h = 0; h < inputShape[2]; ++h)
        for (int64_t w = 0; w < inputShape[3]; ++w)
          dx.at(n, c, h, w) = dy.at(n, c) / area;
  return dx;
}

#define SIMCLR_INSTANTIATE_POOL(T)                                             \
  template Expected<Tensor<T>> maxPool2d(const Tensor<T> &,                    \
                                         const Pool2dOptions &);               \
  template Expected<Tensor<T>> maxPool2dBackward(                              \
      const Tensor<T> &, const Tensor<T> &, const Pool2dOptions &);            \
  template Expected<Tensor<T>> globalAvgPool(const Tensor<T> &);               \
  template Expected<Tensor<T>> globalAvgPoolBackward(                          \
      const Tensor<T> &, const std::vector<int64_t> &);
SIMCLR_INSTANTIATE_POOL(float)
SIMCLR_INSTANTIATE_POOL(double)
#undef SIMCLR_INSTANTIATE_POOL

} // namespace simclr::ref
