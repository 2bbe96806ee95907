//===- Pool.cuh - CUDA max pooling and global average pooling -------------===//
//
// The CUDA forms of simclr/Kernels/Cpu/Pool.h, one phase each, one thread
// per output element (grid-stride). The max-pool backward gathers instead
// of scattering: each input element adds the gradients of the windows that
// select it, in (oy, ox) order from 0, which is the CPU's order of
// additions into that element, so the result is the CPU's bit for bit and
// needs no atomics. Conventions are in Common.cuh.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CUDA_POOL_CUH
#define SIMCLR_KERNELS_CUDA_POOL_CUH

#include "simclr/Kernels/Cuda/Common.cuh"

namespace simclr {
namespace cuda {
namespace detail {

/// Cpu/Pool.h's poolArgmax: the first strict maximum of the in-bounds
/// window in row-major order; a NaN always takes over.
__device__ inline int64_t poolArgmax(const float *plane, int64_t h, int64_t w,
                                     int64_t kh, int64_t kw, int64_t sh,
                                     int64_t sw, int64_t ph, int64_t pw,
                                     int64_t oy, int64_t ox) {
  const int64_t h0 = oy * sh - ph, w0 = ox * sw - pw;
  const int64_t hBegin = maxIndex(h0, 0), wBegin = maxIndex(w0, 0);
  const int64_t hEnd = minIndex(h0 + kh, h), wEnd = minIndex(w0 + kw, w);
  int64_t best = hBegin * w + wBegin;
  float bestValue = -floatInfinity();
  for (int64_t iy = hBegin; iy < hEnd; ++iy)
    for (int64_t ix = wBegin; ix < wEnd; ++ix) {
      const float value = plane[iy * w + ix];
      if (value > bestValue || value != value) {
        bestValue = value;
        best = iy * w + ix;
      }
    }
  return best;
}

/// Floor-mode output extent: (in + 2*pad - kernel) / stride + 1.
__device__ inline int64_t poolOutputSize(int64_t in, int64_t kernel,
                                         int64_t stride, int64_t pad) {
  return (in + 2 * pad - kernel) / stride + 1;
}

} // namespace detail

/// max_pool2d (Cpu/Pool.h), NCHW, one phase.
__device__ inline void maxPool2dForward(int phase, int64_t n, int64_t c,
                                        int64_t h, int64_t w, int64_t kh,
                                        int64_t kw, int64_t sh, int64_t sw,
                                        int64_t ph, int64_t pw, const float *x,
                                        float *y) {
  (void)phase;
  const int64_t oh = detail::poolOutputSize(h, kh, sh, ph);
  const int64_t ow = detail::poolOutputSize(w, kw, sw, pw);
  const int64_t count = n * c * oh * ow;
  for (int64_t o = globalThreadIndex(); o < count; o += globalThreadCount()) {
    const int64_t plane = o / (oh * ow);
    const int64_t oy = (o / ow) % oh, ox = o % ow;
    const float *in = x + plane * h * w;
    y[o] = in[detail::poolArgmax(in, h, w, kh, kw, sh, sw, ph, pw, oy, ox)];
  }
}

/// max_pool2d_backward (Cpu/Pool.h), NCHW, one phase, one thread per input
/// element.
__device__ inline void
maxPool2dBackward(int phase, int64_t n, int64_t c, int64_t h, int64_t w,
                  int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
                  int64_t pw, const float *dy, const float *x, float *dx) {
  (void)phase;
  const int64_t oh = detail::poolOutputSize(h, kh, sh, ph);
  const int64_t ow = detail::poolOutputSize(w, kw, sw, pw);
  const int64_t count = n * c * h * w;
  for (int64_t i = globalThreadIndex(); i < count; i += globalThreadCount()) {
    const int64_t plane = i / (h * w);
    const int64_t offset = i % (h * w);
    const int64_t iy = offset / w, ix = offset % w;
    // Windows oy with oy*sh - ph <= iy < oy*sh - ph + kh, likewise ox.
    const int64_t oyBegin =
        iy + ph >= kh ? kernels::ceilDiv(iy + ph - kh + 1, sh) : 0;
    const int64_t oyEnd = detail::minIndex((iy + ph) / sh + 1, oh);
    const int64_t oxBegin =
        ix + pw >= kw ? kernels::ceilDiv(ix + pw - kw + 1, sw) : 0;
    const int64_t oxEnd = detail::minIndex((ix + pw) / sw + 1, ow);
    const float *in = x + plane * h * w;
    const float *grad = dy + plane * oh * ow;
    float sum = 0.0f;
    for (int64_t oy = oyBegin; oy < oyEnd; ++oy)
      for (int64_t ox = oxBegin; ox < oxEnd; ++ox)
        if (detail::poolArgmax(in, h, w, kh, kw, sh, sw, ph, pw, oy, ox) ==
            offset)
          sum += grad[oy * ow + ox];
    dx[i] = sum;
  }
}

/// global_avg_pool (Cpu/Pool.h), one phase, one thread per (row, channel)
/// summing its hw elements in order in double (the CPU's order): in NHWC
/// neighbouring threads read neighbouring channels.
template <int64_t X, typename Pro, typename Epi>
__device__ inline void globalAvgPoolForward(int phase, int64_t n, int64_t c,
                                            int64_t hw, Pro x, float *y,
                                            Epi epi) {
  (void)phase;
  const double area = static_cast<double>(hw);
  for (int64_t o = globalThreadIndex(); o < n * c; o += globalThreadCount()) {
    const int64_t r = o / c, ch = o % c;
    const int64_t base = ((r * (c / X) + ch / X) * hw) * X + ch % X;
    double sum = 0;
    for (int64_t s = 0; s < hw; ++s)
      sum += static_cast<double>(x(base + s * X));
    y[o] = epi(o, static_cast<float>(sum / area));
  }
}

/// global_avg_pool_backward (Cpu/Pool.h), one phase, one thread per dx
/// element.
template <int64_t X, typename Pro, typename Epi>
__device__ inline void globalAvgPoolBackward(int phase, int64_t n, int64_t c,
                                             int64_t hw, Pro dy, float *dx,
                                             Epi epiOnDx) {
  (void)phase;
  const float area = static_cast<float>(hw);
  const int64_t count = n * c * hw;
  for (int64_t i = globalThreadIndex(); i < count; i += globalThreadCount()) {
    const int64_t r = i / (c * hw);
    const int64_t ch = ((i / (hw * X)) % (c / X)) * X + i % X;
    dx[i] = epiOnDx(i, dy(r * c + ch) / area);
  }
}

} // namespace cuda
} // namespace simclr

#endif // SIMCLR_KERNELS_CUDA_POOL_CUH
