//===- Pool.h - CPU max pooling and global average pooling ----------------===//
//
// Pooling kernels with the semantics of simclr.max_pool2d,
// max_pool2d_backward (NCHW), global_avg_pool and global_avg_pool_backward
// (channels in blocks of X, as Channel.h) (lib/Reference/Pool.cpp).
// Conventions are in Common.h.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CPU_POOL_H
#define SIMCLR_KERNELS_CPU_POOL_H

#include "simclr/Kernels/Cpu/Common.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace simclr {
namespace cpu {
namespace detail {

/// Offset within one [h, w] plane of the element max pooling selects for
/// output (oy, ox): the in-bounds part of the window scanned in row-major
/// order from its first element, keeping the FIRST strict maximum; a NaN
/// always takes over (PyTorch CPU, and the reference's argmaxInWindow).
inline int64_t poolArgmax(const float *plane, int64_t h, int64_t w,
                          int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                          int64_t ph, int64_t pw, int64_t oy, int64_t ox) {
  const int64_t h0 = oy * sh - ph, w0 = ox * sw - pw;
  const int64_t hBegin = std::max<int64_t>(h0, 0);
  const int64_t wBegin = std::max<int64_t>(w0, 0);
  const int64_t hEnd = std::min(h0 + kh, h);
  const int64_t wEnd = std::min(w0 + kw, w);
  int64_t best = hBegin * w + wBegin;
  float bestValue = -std::numeric_limits<float>::infinity();
  for (int64_t iy = hBegin; iy < hEnd; ++iy)
    for (int64_t ix = wBegin; ix < wEnd; ++ix) {
      const float value = plane[iy * w + ix];
      if (value > bestValue || std::isnan(value)) {
        bestValue = value;
        best = iy * w + ix;
      }
    }
  return best;
}

/// Output extent of a floor-mode pooling window along one axis (no
/// dilation): (in + 2*pad - kernel) / stride + 1.
inline int64_t poolOutputSize(int64_t in, int64_t kernel, int64_t stride,
                              int64_t pad) {
  return (in + 2 * pad - kernel) / stride + 1;
}

} // namespace detail

/// max_pool2d of x[n,c,h,w] into y[n,c,oh,ow] with kernel (kh, kw), stride
/// (sh, sw), implicit -inf padding (ph, pw) <= half the kernel, floor mode,
/// no dilation; oh = (h + 2ph - kh)/sh + 1, ow likewise. NaN wins.
inline void maxPool2dForward(int64_t n, int64_t c, int64_t h, int64_t w,
                             int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                             int64_t ph, int64_t pw, const float *x, float *y) {
  const int64_t oh = detail::poolOutputSize(h, kh, sh, ph);
  const int64_t ow = detail::poolOutputSize(w, kw, sw, pw);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t p = 0; p < n * c; ++p)
    for (int64_t oy = 0; oy < oh; ++oy) {
      const float *plane = x + p * h * w;
      float *row = y + (p * oh + oy) * ow;
      for (int64_t ox = 0; ox < ow; ++ox)
        row[ox] = plane[detail::poolArgmax(plane, h, w, kh, kw, sh, sw, ph,
                                           pw, oy, ox)];
    }
}

/// max_pool2d_backward: dx[n,c,h,w] = 0 except that each dy[n,c,oy,ox] is
/// added to the first maximum of its window in x (same rule as the
/// forward), accumulating over overlapping windows in (oy, ox) order.
/// Arguments as maxPool2dForward, then dy[n,c,oh,ow], x, dx.
inline void maxPool2dBackward(int64_t n, int64_t c, int64_t h, int64_t w,
                              int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                              int64_t ph, int64_t pw, const float *dy,
                              const float *x, float *dx) {
  const int64_t oh = detail::poolOutputSize(h, kh, sh, ph);
  const int64_t ow = detail::poolOutputSize(w, kw, sw, pw);
  // One plane per task: the scatter into a plane stays in one thread, in a
  // fixed order, so the sums are deterministic.
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < n * c; ++p) {
    const float *plane = x + p * h * w;
    const float *grad = dy + p * oh * ow;
    float *out = dx + p * h * w;
    std::fill(out, out + h * w, 0.0f);
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        out[detail::poolArgmax(plane, h, w, kh, kw, sh, sw, ph, pw, oy, ox)] +=
            grad[oy * ow + ox];
  }
}

/// global_avg_pool of x[n, c, hw] in channel blocks of X (Channel.h's
/// layout): y[r*c + ch] = epi(r*c + ch, sum_s x(r, ch, s) / hw), each sum
/// accumulated in double over s in order.
template <int64_t X, typename Pro, typename Epi>
inline void globalAvgPoolForward(int64_t n, int64_t c, int64_t hw, Pro x,
                                 float *y, Epi epi) {
  const double area = static_cast<double>(hw);
  const int64_t blocks = c / X;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t r = 0; r < n; ++r)
    for (int64_t cb = 0; cb < blocks; ++cb) {
      const int64_t base = (r * blocks + cb) * hw * X;
      double sum[X];
      for (int64_t lane = 0; lane < X; ++lane)
        sum[lane] = 0;
      for (int64_t s = 0; s < hw; ++s) {
#pragma omp simd
        for (int64_t lane = 0; lane < X; ++lane)
          sum[lane] += static_cast<double>(x(base + s * X + lane));
      }
      for (int64_t lane = 0; lane < X; ++lane) {
        const int64_t out = r * c + cb * X + lane;
        y[out] = epi(out, static_cast<float>(sum[lane] / area));
      }
    }
}

/// global_avg_pool_backward: element (r, ch, s) of dx[n, c, hw] (channel
/// blocks of X) = epiOnDx(its flat index, dy(r*c + ch) / hw), dy the [n, c]
/// gradient (through a prologue).
template <int64_t X, typename Pro, typename Epi>
inline void globalAvgPoolBackward(int64_t n, int64_t c, int64_t hw, Pro dy,
                                  float *dx, Epi epiOnDx) {
  const float area = static_cast<float>(hw);
  const int64_t blocks = c / X;
  float *out = dx;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t r = 0; r < n; ++r)
    for (int64_t cb = 0; cb < blocks; ++cb) {
      const int64_t base = (r * blocks + cb) * hw * X;
      float grad[X];
      for (int64_t lane = 0; lane < X; ++lane)
        grad[lane] = dy(r * c + cb * X + lane) / area;
      for (int64_t s = 0; s < hw; ++s) {
#pragma omp simd
        for (int64_t lane = 0; lane < X; ++lane)
          out[base + s * X + lane] = epiOnDx(base + s * X + lane, grad[lane]);
      }
    }
}

} // namespace cpu
} // namespace simclr

#endif // SIMCLR_KERNELS_CPU_POOL_H
