//===- Loss.h - CPU NT-Xent, its primitives and row-wise L2 normalization -===//
//
// Semantics of simclr.l2_normalize(_backward), nt_xent(_backward),
// masked_scaled_log_softmax(_backward), gather_positives(_backward) and
// reduce_mean (lib/Reference/Norm.cpp, Loss.cpp). Rows of the 2N x D
// embeddings: [0, N) first views, [N, 2N) second views; the positive of
// anchor i is (i + N) mod 2N. Conventions are in Common.h.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CPU_LOSS_H
#define SIMCLR_KERNELS_CPU_LOSS_H

#include "simclr/Kernels/Cpu/Common.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace simclr {
namespace cpu {

/// torch.nn.functional.normalize's eps, fixed by nt_xent's definition.
constexpr double kNtXentNormalizeEps = 1e-12;

//===----------------------------------------------------------------------===//
// L2 normalization
//===----------------------------------------------------------------------===//

/// l2_normalize of x[rows, cols]: y = epi(i, x / max(||x_row||_2, eps)); the
/// squared norm is accumulated in double.
template <typename Pro, typename Epi>
inline void l2NormalizeForward(int64_t rows, int64_t cols, double eps, Pro x,
                               float *y, Epi epi) {
  const float clamp = static_cast<float>(eps);
  float *out = y;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t base = r * cols;
    double squares = 0;
#pragma omp simd reduction(+ : squares)
    for (int64_t j = 0; j < cols; ++j) {
      const double v = x(base + j);
      squares += v * v;
    }
    const float denom = std::max(static_cast<float>(std::sqrt(squares)), clamp);
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j)
      out[base + j] = epi(base + j, x(base + j) / denom);
  }
}

/// l2_normalize_backward given dy and the forward INPUT x, both [rows, cols].
/// Per row with r = ||x_row||: if r < eps (the clamped, linear branch),
/// dx = dy / eps; otherwise dx = (dy - y*(y.dy)) / r with y = x / r (the
/// reference's rule, PyTorch's clamp_min gradient: r == eps takes the second
/// branch). Dot product and norm in double.
template <typename Pro, typename Epi>
inline void l2NormalizeBackward(int64_t rows, int64_t cols, double eps, Pro dy,
                                const float *x, float *dx, Epi epiOnDx) {
  const float clamp = static_cast<float>(eps);
  const float *in = x;
  float *out = dx;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t base = r * cols;
    double squares = 0;
#pragma omp simd reduction(+ : squares)
    for (int64_t j = 0; j < cols; ++j) {
      const double v = in[base + j];
      squares += v * v;
    }
    const float norm = static_cast<float>(std::sqrt(squares));
    if (norm < clamp) {
#pragma omp simd
      for (int64_t j = 0; j < cols; ++j)
        out[base + j] = epiOnDx(base + j, dy(base + j) / clamp);
      continue;
    }
    double dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t j = 0; j < cols; ++j)
      dot += static_cast<double>(dy(base + j)) *
             static_cast<double>(in[base + j] / norm);
    const float dotF = static_cast<float>(dot);
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j)
      out[base + j] = epiOnDx(
          base + j, (dy(base + j) - (in[base + j] / norm) * dotF) / norm);
  }
}

//===----------------------------------------------------------------------===//
// NT-Xent
//===----------------------------------------------------------------------===//

namespace detail {

/// u[rows, dim] = l2_normalize(z, 1e-12) as the reference computes it, and
/// norm[row] = ||z_row|| (rounded to float, as compared with eps).
inline void ntXentNormalize(int64_t rows, int64_t dim, const float *z,
                            float *u, float *norm) {
  const float clamp = static_cast<float>(kNtXentNormalizeEps);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float *zr = z + r * dim;
    float *ur = u + r * dim;
    double squares = 0;
#pragma omp simd reduction(+ : squares)
    for (int64_t d = 0; d < dim; ++d)
      squares += static_cast<double>(zr[d]) * static_cast<double>(zr[d]);
    norm[r] = static_cast<float>(std::sqrt(squares));
    const float denom = std::max(norm[r], clamp);
#pragma omp simd
    for (int64_t d = 0; d < dim; ++d)
      ur[d] = zr[d] / denom;
  }
}

/// s[k] = (u_i . u_k) / temperature for every k (double accumulation), and
/// returns logsumexp over k != i of s[k], stabilized by the row maximum.
inline double ntXentRow(int64_t i, int64_t rows, int64_t dim, const float *u,
                        double invTemperature, double *s) {
  const float *ui = u + i * dim;
  double maxValue = -std::numeric_limits<double>::infinity();
  for (int64_t k = 0; k < rows; ++k) {
    const float *uk = u + k * dim;
    double dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t d = 0; d < dim; ++d)
      dot += static_cast<double>(ui[d]) * static_cast<double>(uk[d]);
    s[k] = dot * invTemperature;
    if (k != i)
      maxValue = std::max(maxValue, s[k]);
  }
  double sum = 0;
  for (int64_t k = 0; k < rows; ++k)
    if (k != i)
      sum += std::exp(s[k] - maxValue);
  return maxValue + std::log(sum);
}

/// dz_i from dU_i = a (double, before the 1/temperature) through
/// l2_normalize's backward with ||z_i|| = norm (clamped as the forward).
inline void ntXentNormalizeBackward(int64_t dim, const float *zi, float norm,
                                    const double *a, double invTemperature,
                                    float *dzi) {
  const float clamp = static_cast<float>(kNtXentNormalizeEps);
  if (norm < clamp) {
#pragma omp simd
    for (int64_t d = 0; d < dim; ++d)
      dzi[d] = static_cast<float>(a[d] * invTemperature /
                                  static_cast<double>(clamp));
    return;
  }
  const double r = norm;
  double dot = 0;
#pragma omp simd reduction(+ : dot)
  for (int64_t d = 0; d < dim; ++d)
    dot += a[d] * invTemperature * (static_cast<double>(zi[d]) / r);
#pragma omp simd
  for (int64_t d = 0; d < dim; ++d)
    dzi[d] = static_cast<float>(
        (a[d] * invTemperature - (static_cast<double>(zi[d]) / r) * dot) / r);
}

/// Sum of per-row losses in row order (deterministic), divided by rows.
inline float ntXentMean(const double *rowLoss, int64_t rows) {
  double total = 0;
  for (int64_t i = 0; i < rows; ++i)
    total += rowLoss[i];
  return static_cast<float>(total / static_cast<double>(rows));
}

/// The workspace of every NT-Xent kernel (kernels::ntXentScratchBytes),
/// carved in that function's order.
struct NtXentWorkspace {
  float *u;
  float *norm;
  double *rowLoss;
  /// rows x rows: row i holds s[i, :], then G[i, :].
  double *g;
  /// rows x dim: dU.
  double *du;

  NtXentWorkspace(void *workspace, int64_t rows, int64_t dim) {
    Workspace carve(workspace);
    u = carve.take<float>(rows * dim);
    norm = carve.take<float>(rows);
    rowLoss = carve.take<double>(rows);
    g = carve.take<double>(rows * rows);
    du = carve.take<double>(rows * dim);
  }
};

} // namespace detail

/// nt_xent forward of z[rows2N, dim] (rows2N = 2N, N >= 1):
/// loss[0] = (1/2N) sum_i (logsumexp_{k != i} s[i,k] - s[i, p(i)]) with
/// s = u u^T / temperature, u = l2_normalize(z, 1e-12). Similarities and
/// log-sum-exp in double. Workspace: ntXentScratchBytes(rows2N, dim).
inline void ntXentForward(int64_t rows2N, int64_t dim, const float *z,
                          double temperature, float *loss, void *workspace) {
  detail::NtXentWorkspace w(workspace, rows2N, dim);
  detail::ntXentNormalize(rows2N, dim, z, w.u, w.norm);
  const double invTemperature = 1.0 / temperature;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows2N; ++i) {
    double *s = w.g + i * rows2N;
    const double lse = detail::ntXentRow(i, rows2N, dim, w.u, invTemperature, s);
    w.rowLoss[i] = lse - s[detail::positiveOf(i, rows2N)];
  }
  loss[0] = detail::ntXentMean(w.rowLoss, rows2N);
}

/// Fused nt_xent forward and backward: loss[0] as ntXentForward and
/// dz[rows2N, dim] = dloss[0] * d loss / d z. One pass over the rows forms
/// each row of s (double), its log-sum-exp and loss, and overwrites it with
/// G[i,k] = dloss/2N * (softmax_{k != i}(s[i,:])[k] - [k = p(i)]); G is
/// symmetrized in place (s = u u^T feeds both rows), dU = (G + G^T) u /
/// temperature in double, and dz is dU through l2_normalize's backward.
/// `loss` may be null when only dz is wanted. Workspace:
/// ntXentScratchBytes(rows2N, dim).
inline void ntXentForwardBackward(int64_t rows2N, int64_t dim, const float *z,
                                  double temperature, const float *dloss,
                                  float *loss, float *dz, void *workspace) {
  const int64_t rows = rows2N;
  detail::NtXentWorkspace w(workspace, rows, dim);
  const float *u = w.u;
  const float *norm = w.norm;
  double *g = w.g;
  detail::ntXentNormalize(rows, dim, z, w.u, w.norm);
  const double invTemperature = 1.0 / temperature;
  const double perRow = static_cast<double>(dloss[0]) / static_cast<double>(rows);

#pragma omp parallel
  {
    // 1. Row i of s, its log-sum-exp and loss, then G[i,:] over it; rows
    //    are independent.
#pragma omp for schedule(static)
    for (int64_t i = 0; i < rows; ++i) {
      double *gi = g + i * rows;
      const double lse = detail::ntXentRow(i, rows, dim, u, invTemperature, gi);
      const int64_t positive = detail::positiveOf(i, rows);
      w.rowLoss[i] = lse - gi[positive];
      for (int64_t k = 0; k < rows; ++k) {
        const double target = k == positive ? 1.0 : 0.0;
        gi[k] = k == i ? 0.0 : perRow * (std::exp(gi[k] - lse) - target);
      }
    }
    // 2. G + G^T in place: pair (i, k > i) is owned by row i's iteration.
    //    Row lengths shrink, so rows are dealt round-robin.
#pragma omp for schedule(static, 1)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t k = i + 1; k < rows; ++k) {
        const double sum = g[i * rows + k] + g[k * rows + i];
        g[i * rows + k] = sum;
        g[k * rows + i] = sum;
      }
    // 3. dU_i = sum_k H[i,k] u_k / temperature (double, k in order), then
    //    dz_i through l2_normalize's backward with ||z_i||.
#pragma omp for schedule(static)
    for (int64_t i = 0; i < rows; ++i) {
      double *a = w.du + i * dim;
      std::fill(a, a + dim, 0.0);
      const double *hi = g + i * rows;
      for (int64_t k = 0; k < rows; ++k) {
        const double h = hi[k];
        const float *uk = u + k * dim;
#pragma omp simd
        for (int64_t d = 0; d < dim; ++d)
          a[d] += h * static_cast<double>(uk[d]);
      }
      detail::ntXentNormalizeBackward(dim, z + i * dim, norm[i], a,
                                      invTemperature, dz + i * dim);
    }
  }
  if (loss)
    loss[0] = detail::ntXentMean(w.rowLoss, rows);
}

/// NT-Xent over the projections of every data-parallel replica
/// (simclr-data-parallel: rows = replicas * 2N, known only at run time):
/// loss[0] and dz[rows, dim] exactly as ntXentForwardBackward, but the
/// similarities are recomputed instead of stored, so that the workspace
/// (ntXentGatheredScratchBytes(rows, dim)) grows linearly with the replica
/// count: H[j,k] = G[j,k] + G[k,j] = dloss/rows * (exp(s[j,k] - lse[j]) +
/// exp(s[j,k] - lse[k]) - 2 [k = p(j)]) needs only every row's log-sum-exp.
/// Twice the similarity work of the stored version; every replica computes
/// the same values (each row's sums run in a fixed order).
inline void ntXentGatheredForwardBackward(int64_t rows, int64_t dim,
                                          const float *z, double temperature,
                                          const float *dloss, float *loss,
                                          float *dz, void *workspace) {
  Workspace carve(workspace);
  float *u = carve.take<float>(rows * dim);
  float *norm = carve.take<float>(rows);
  double *rowLoss = carve.take<double>(rows);
  double *lse = carve.take<double>(rows);
  double *du = carve.take<double>(rows * dim);
  detail::ntXentNormalize(rows, dim, z, u, norm);
  const double invTemperature = 1.0 / temperature;
  const double perRow = static_cast<double>(dloss[0]) / static_cast<double>(rows);
  auto similarity = [&](int64_t i, int64_t k) {
    const float *ui = u + i * dim;
    const float *uk = u + k * dim;
    double dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t d = 0; d < dim; ++d)
      dot += static_cast<double>(ui[d]) * static_cast<double>(uk[d]);
    return dot * invTemperature;
  };
#pragma omp parallel
  {
    // 1. Every row's log-sum-exp over k != i (as ntXentRow) and loss.
#pragma omp for schedule(static)
    for (int64_t i = 0; i < rows; ++i) {
      double maxValue = -std::numeric_limits<double>::infinity();
      for (int64_t k = 0; k < rows; ++k)
        if (k != i)
          maxValue = std::max(maxValue, similarity(i, k));
      double sum = 0;
      for (int64_t k = 0; k < rows; ++k)
        if (k != i)
          sum += std::exp(similarity(i, k) - maxValue);
      lse[i] = maxValue + std::log(sum);
      rowLoss[i] = lse[i] - similarity(i, detail::positiveOf(i, rows));
    }
    // 2. dU_j = sum_k H[j,k] u_k (double, k in order), then dz_j.
#pragma omp for schedule(static)
    for (int64_t j = 0; j < rows; ++j) {
      double *a = du + j * dim;
      std::fill(a, a + dim, 0.0);
      const int64_t positive = detail::positiveOf(j, rows);
      for (int64_t k = 0; k < rows; ++k) {
        if (k == j)
          continue;
        const double s = similarity(j, k);
        const double h = perRow * (std::exp(s - lse[j]) + std::exp(s - lse[k]) -
                                   (k == positive ? 2.0 : 0.0));
        const float *uk = u + k * dim;
#pragma omp simd
        for (int64_t d = 0; d < dim; ++d)
          a[d] += h * static_cast<double>(uk[d]);
      }
      detail::ntXentNormalizeBackward(dim, z + j * dim, norm[j], a,
                                      invTemperature, dz + j * dim);
    }
  }
  if (loss)
    loss[0] = detail::ntXentMean(rowLoss, rows);
}

/// nt_xent_backward: dz[rows2N, dim] = dloss[0] * d nt_xent(z) / d z.
/// Workspace: ntXentScratchBytes(rows2N, dim).
inline void ntXentBackward(int64_t rows2N, int64_t dim, const float *dloss,
                           const float *z, double temperature, float *dz,
                           void *workspace) {
  ntXentForwardBackward(rows2N, dim, z, temperature, dloss, nullptr, dz,
                        workspace);
}

//===----------------------------------------------------------------------===//
// NT-Xent primitives (after simclr-decompose-nt-xent)
//===----------------------------------------------------------------------===//

/// masked_scaled_log_softmax of s[m, m]: out[i,j] = epi(i*m + j,
/// scale*s[i,j] - logsumexp_{k != i}(scale*s[i,k])) for j != i and
/// epi(i*m + i, 0) on the diagonal. scale*s is rounded to float first (as
/// the reference); the log-sum-exp is taken in double after subtracting the
/// row maximum.
template <typename Pro, typename Epi>
inline void maskedScaledLogSoftmaxForward(int64_t m, Pro s, double scale,
                                          float *out, Epi epi) {
  const float scaleF = static_cast<float>(scale);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    const int64_t base = i * m;
    float maxValue = -std::numeric_limits<float>::infinity();
    for (int64_t k = 0; k < m; ++k)
      if (k != i)
        maxValue = std::max(maxValue, s(base + k) * scaleF);
    double sum = 0;
    for (int64_t k = 0; k < m; ++k)
      if (k != i)
        sum += std::exp(static_cast<double>(s(base + k) * scaleF) -
                        static_cast<double>(maxValue));
    const double lse = static_cast<double>(maxValue) + std::log(sum);
    for (int64_t j = 0; j < m; ++j)
      out[base + j] = epi(
          base + j,
          j == i ? 0.0f
                 : static_cast<float>(
                       static_cast<double>(s(base + j) * scaleF) - lse));
  }
}

/// masked_scaled_log_softmax_backward given dout and the forward OUTPUT out,
/// both [m, m]: ds[i,j] = epi(i*m + j, scale*(dout[i,j] - exp(out[i,j]) *
/// sum_{k != i} dout[i,k])) for j != i, epi(i*m + i, 0) on the diagonal.
template <typename Pro, typename Epi>
inline void maskedScaledLogSoftmaxBackward(int64_t m, Pro dout,
                                           const float *out, double scale,
                                           float *ds, Epi epi) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    const int64_t base = i * m;
    double rowSum = 0;
    for (int64_t k = 0; k < m; ++k)
      if (k != i)
        rowSum += static_cast<double>(dout(base + k));
    for (int64_t j = 0; j < m; ++j)
      ds[base + j] = epi(
          base + j,
          j == i ? 0.0f
                 : static_cast<float>(
                       scale * (static_cast<double>(dout(base + j)) -
                                std::exp(static_cast<double>(out[base + j])) *
                                    rowSum)));
  }
}

/// gather_positives of m[rows2N, rows2N]: v[i] = epi(i, m[i, (i+N) mod 2N]).
template <typename Pro, typename Epi>
inline void gatherPositivesForward(int64_t rows2N, Pro m, float *v, Epi epi) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows2N; ++i)
    v[i] = epi(i, m(i * rows2N + detail::positiveOf(i, rows2N)));
}

/// gather_positives_backward: dm[rows2N, rows2N] with dm[i, (i+N) mod 2N] =
/// dv[i] and 0 elsewhere, every element passed through epi(flat, value).
template <typename Pro, typename Epi>
inline void gatherPositivesBackward(int64_t rows2N, Pro dv, float *dm,
                                    Epi epi) {
  float *out = dm;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows2N; ++i) {
    const int64_t base = i * rows2N;
    const int64_t positive = detail::positiveOf(i, rows2N);
    const float value = dv(i);
#pragma omp simd
    for (int64_t k = 0; k < rows2N; ++k)
      out[base + k] = epi(base + k, k == positive ? value : 0.0f);
  }
}

/// reduce_mean of count >= 1 elements: y[0] = epi(0, sum(x) / count). The
/// sum is taken in double over fixed blocks of kReduceBlockElements,
/// combined in block order. Workspace: reduceScratchBytes(count).
template <typename Pro, typename Epi>
inline void reduceMeanForward(int64_t count, Pro x, float *y, void *workspace,
                              Epi epi) {
  const int64_t block = kernels::kReduceBlockElements;
  const int64_t blocks = kernels::ceilDiv(count, block);
  double *part = Workspace(workspace).take<double>(blocks);
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t end = std::min(count, (b + 1) * block);
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = b * block; i < end; ++i)
      sum += static_cast<double>(x(i));
    part[b] = sum;
  }
  double total = 0;
  for (int64_t b = 0; b < blocks; ++b)
    total += part[b];
  y[0] = epi(0, static_cast<float>(total / static_cast<double>(count)));
}

/// reduce_mean's adjoint: dx[i] = epi(i, dy[0] / count) for i < count.
template <typename Epi>
inline void reduceMeanBackward(int64_t count, const float *dy, float *dx,
                               Epi epiOnDx) {
  const float value = dy[0] / static_cast<float>(count);
  float *out = dx;
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i)
    out[i] = epiOnDx(i, value);
}

} // namespace cpu
} // namespace simclr

#endif // SIMCLR_KERNELS_CPU_LOSS_H
