//===- Conv.cpp - Reference 2-D convolution, forward and backward ---------===//
#include "Checks.h"
#include "simclr/Reference/Kernels.h"

namespace simclr::ref {

int64_t convOutputSize(int64_t in, int64_t kernel, int64_t stride,
                       int64_t padding, int64_t dilation) {
  int64_t span = in + 2 * padding - dilation * (kernel - 1) - 1;
  // C++ division truncates toward zero; a negative span means no window fits.
  if (span < 0)
    return 0;
  return span / stride + 1;
}

namespace {

/// Validated conv2d geometry.
struct ConvGeometry {
  int64_t n, c, h, w;
  int64_t f, kh, kw;
  int64_t oh, ow;
  /// Input channels per group and output channels per group.
  int64_t cPerGroup, fPerGroup;
};

template <typename T>
Expected<ConvGeometry> checkConv(const char *kernel, const Tensor<T> &x,
                                 const Tensor<T> &w,
                                 const Conv2dOptions &options) {
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "x", x, 4));
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "w", w, 4));
  for (int axis = 0; axis < 2; ++axis) {
    if (options.stride[axis] < 1 || options.dilation[axis] < 1 ||
        options.padding[axis] < 0)
      return invalidArgument(std::string(kernel) +
                             ": stride and dilation must be >= 1 and padding "
                             ">= 0");
  }
  ConvGeometry g;
  g.n = x.dim(0), g.c = x.dim(1), g.h = x.dim(2), g.w = x.dim(3);
  g.f = w.dim(0), g.kh = w.dim(2), g.kw = w.dim(3);
  int64_t groups = options.groups;
  if (groups < 1 || g.c % groups != 0 || g.f % groups != 0)
    return invalidArgument(
        std::string(kernel) + ": groups " + std::to_string(groups) +
        " must be >= 1 and divide x channels of " + shapeToString(x.shape) +
        " and w filters of " + shapeToString(w.shape));
  g.cPerGroup = g.c / groups;
  g.fPerGroup = g.f / groups;
  if (w.dim(1) != g.cPerGroup)
    return detail::operandError(
        kernel, "w", w,
        "expected " + std::to_string(g.cPerGroup) +
            " input channels per group for x of shape " +
            shapeToString(x.shape));
  g.oh = convOutputSize(g.h, g.kh, options.stride[0], options.padding[0],
                        options.dilation[0]);
  g.ow = convOutputSize(g.w, g.kw, options.stride[1], options.padding[1],
                        options.dilation[1]);
  if (g.oh < 1 || g.ow < 1)
    return invalidArgument(
        std::string(kernel) + ": kernel of w " + shapeToString(w.shape) +
        " does not fit the padded input of x " + shapeToString(x.shape));
  return g;
}

} // namespace

template <typename T>
Expected<Tensor<T>> conv2d(const Tensor<T> &x, const Tensor<T> &w,
                           const NoDeduce<Tensor<T>> *bias,
                           const Conv2dOptions &options) {
  const char *kernel = "conv2d";
  Expected<ConvGeometry> geometry = checkConv(kernel, x, w, options);
  if (!geometry)
    return geometry.takeStatus();
  const ConvGeometry &g = *geometry;
  if (bias)
    SIMCLR_RETURN_IF_ERROR(detail::checkShape(kernel, "bias", *bias, {g.f}));

  Tensor<T> y = Tensor<T>::zeros({g.n, g.f, g.oh, g.ow});
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t f = 0; f < g.f; ++f)
      for (int64_t oh = 0; oh < g.oh; ++oh)
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          T sum = bias ? bias->at(f) : T(0);
          int64_t group = f / g.fPerGroup;
          for (int64_t cg = 0; cg < g.cPerGroup; ++cg)
            for (int64_t kh = 0; kh < g.kh; ++kh)
              for (int64_t kw = 0; kw < g.kw; ++kw) {
                int64_t ih = oh * options.stride[0] - options.padding[0] +
                             kh * options.dilation[0];
                int64_t iw = ow * options.stride[1] - options.padding[1] +
                             kw * options.dilation[1];
                // Zero padding: out-of-bounds taps contribute nothing.
                if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w)
                  continue;
                sum += x.at(n, group * g.cPerGroup + cg, ih, iw) *
                       w.at(f, cg, kh, kw);
              }
          y.at(n, f, oh, ow) = sum;
        }
  return y;
}

template <typename T>
Expected<Conv2dGrads<T>> conv2dBackward(const Tensor<T> &dy, const Tensor<T> &x,
                                        const Tensor<T> &w, bool hasBias,
                                        const Conv2dOptions &options) {
  const char *kernel = "conv2dBackward";
  Expected<ConvGeometry> geometry = checkConv(kernel, x, w, options);
  if (!geometry)
    return geometry.takeStatus();
  const ConvGeometry &g = *geometry;
  SIMCLR_RETURN_IF_ERROR(
      detail::checkShape(kernel, "dy", dy, {g.n, g.f, g.oh, g.ow}));

  Conv2dGrads<T> grads;
  grads.dx = Tensor<T>::zeros(x.shape);
  grads.dw = Tensor<T>::zeros(w.shape);
  if (hasBias)
    grads.dbias = Tensor<T>::zeros({g.f});
  // The forward loop nest, with every multiply-add turned into the two
  // accumulations of its partial derivatives.
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t f = 0; f < g.f; ++f)
      for (int64_t oh = 0; oh < g.oh; ++oh)
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          T upstream = dy.at(n, f, oh, ow);
          if (hasBias)
            grads.dbias.at(f) += upstream;
          int64_t group = f / g.fPerGroup;
          for (int64_t cg = 0; cg < g.cPerGroup; ++cg)
            for (int64_t kh = 0; kh < g.kh; ++kh)
              for (int64_t kw = 0; kw < g.kw; ++kw) {
                int64_t ih = oh * options.stride[0] - options.padding[0] +
                             kh * options.dilation[0];
                int64_t iw = ow * options.stride[1] - options.padding[1] +
                             kw * options.dilation[1];
                if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w)
                  continue;
                int64_t c = group * g.cPerGroup + cg;
                grads.dx.at(n, c, ih, iw) += w.at(f, cg, kh, kw) * upstream;
                grads.dw.at(f, cg, kh, kw) += x.at(n, c, ih, iw) * upstream;
              }
        }
  return grads;
}

#define SIMCLR_INSTANTIATE_CONV(T)                                             \
  template Expected<Tensor<T>> conv2d(const Tensor<T> &, const Tensor<T> &,    \
                                      const Tensor<T> *,                       \
                                      const Conv2dOptions &);                  \
  template Expected<Conv2dGrads<T>> conv2dBackward(                            \
      const Tensor<T> &, const Tensor<T> &, const Tensor<T> &, bool,           \
      const Conv2dOptions &);
SIMCLR_INSTANTIATE_CONV(float)
SIMCLR_INSTANTIATE_CONV(double)
#undef SIMCLR_INSTANTIATE_CONV

} // namespace simclr::ref
