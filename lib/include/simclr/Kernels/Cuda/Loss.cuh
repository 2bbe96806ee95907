//===- Loss.cuh - CUDA NT-Xent, its primitives and row-wise L2 norm -------===//
//
// The CUDA forms of simclr/Kernels/Cpu/Loss.h. Row kernels give each row
// one block of kThreadsPerBlock threads (block-stride over rows), reduce in
// shared memory in a fixed order (Common.cuh's blockSum) and compute in
// double wherever the CPU does. NT-Xent keeps the CPU's workspace layout
// (u, norms, per-row losses, the rows x rows similarity/gradient matrix G,
// dU) and runs in phases:
//  0. u = l2_normalize(z) and the norms, one block per row;
//  1. row i of s = u u^T / T, its log-sum-exp and loss, then G[i, :] over
//     it, one block per row (threads along k);
//  2. forward only: the mean loss (rows added in order, one thread);
//     backward: dU_i = sum_k (G[i,k] + G[k,i]) u_k / T, k in order (the
//     CPU's order of additions; the CPU symmetrizes G in place first, here
//     the sum is formed as it is read), dz_i through l2_normalize's
//     backward, and the mean loss by block 0's thread 0.
// NT-Xent over gathered projections (ntXentGatheredForwardBackward) has the
// same three phases over a run-time row count, without the matrix G: the
// similarities are recomputed, H from every row's log-sum-exp.
// Conventions are in Common.cuh.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CUDA_LOSS_CUH
#define SIMCLR_KERNELS_CUDA_LOSS_CUH

#include "simclr/Kernels/Cuda/Common.cuh"

namespace simclr {
namespace cuda {

/// torch.nn.functional.normalize's eps, fixed by nt_xent's definition (the
/// CPU templates' kNtXentNormalizeEps).
constexpr double kNtXentNormalizeEps = 1e-12;

//===----------------------------------------------------------------------===//
// L2 normalization
//===----------------------------------------------------------------------===//

/// l2_normalize (Cpu/Loss.h), one phase, one block per row.
template <typename Pro, typename Epi>
__device__ inline void l2NormalizeForward(int phase, int64_t rows, int64_t cols,
                                          double eps, Pro x, float *y,
                                          Epi epi) {
  (void)phase;
  __shared__ double scratch[kThreadsPerBlock];
  const float clamp = static_cast<float>(eps);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t base = r * cols;
    double squares = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const double v = x(base + j);
      squares += v * v;
    }
    squares = detail::blockSum(squares, scratch);
    const float norm = static_cast<float>(sqrt(squares));
    const float denom = norm > clamp ? norm : clamp;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      y[base + j] = epi(base + j, x(base + j) / denom);
  }
}

/// l2_normalize_backward (Cpu/Loss.h), one phase, one block per row.
template <typename Pro, typename Epi>
__device__ inline void
l2NormalizeBackward(int phase, int64_t rows, int64_t cols, double eps, Pro dy,
                    const float *x, float *dx, Epi epiOnDx) {
  (void)phase;
  __shared__ double scratch[kThreadsPerBlock];
  const float clamp = static_cast<float>(eps);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t base = r * cols;
    double squares = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const double v = x[base + j];
      squares += v * v;
    }
    squares = detail::blockSum(squares, scratch);
    const float norm = static_cast<float>(sqrt(squares));
    if (norm < clamp) { // The same branch for the whole block.
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
        dx[base + j] = epiOnDx(base + j, dy(base + j) / clamp);
      continue;
    }
    double dot = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      dot += static_cast<double>(dy(base + j)) *
             static_cast<double>(x[base + j] / norm);
    const float dotF = static_cast<float>(detail::blockSum(dot, scratch));
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      dx[base + j] = epiOnDx(
          base + j, (dy(base + j) - (x[base + j] / norm) * dotF) / norm);
  }
}

//===----------------------------------------------------------------------===//
// NT-Xent
//===----------------------------------------------------------------------===//

namespace detail {

/// The workspace of every NT-Xent kernel, carved as Cpu/Loss.h carves it.
struct NtXentWorkspace {
  float *u;
  float *norm;
  double *rowLoss;
  double *g;
  double *du;

  __device__ NtXentWorkspace(void *workspace, int64_t rows, int64_t dim) {
    Workspace carve(workspace);
    u = carve.take<float>(rows * dim);
    norm = carve.take<float>(rows);
    rowLoss = carve.take<double>(rows);
    g = carve.take<double>(rows * rows);
    du = carve.take<double>(rows * dim);
  }
};

/// Phase 0: u = l2_normalize(z, 1e-12) and norm[row] = ||z_row|| (float).
__device__ inline void ntXentNormalize(int64_t rows, int64_t dim,
                                       const float *z, float *u, float *norm) {
  __shared__ double scratch[kThreadsPerBlock];
  const float clamp = static_cast<float>(kNtXentNormalizeEps);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *zr = z + r * dim;
    double squares = 0;
    for (int64_t d = threadIdx.x; d < dim; d += blockDim.x)
      squares += static_cast<double>(zr[d]) * static_cast<double>(zr[d]);
    squares = blockSum(squares, scratch);
    const float rowNorm = static_cast<float>(sqrt(squares));
    if (threadIdx.x == 0)
      norm[r] = rowNorm;
    const float denom = rowNorm > clamp ? rowNorm : clamp;
    for (int64_t d = threadIdx.x; d < dim; d += blockDim.x)
      u[r * dim + d] = zr[d] / denom;
  }
}

/// Phase 1 for row i: s[k] = (u_i . u_k) / T into g's row i (threads along
/// k, each dot in double over d in order), then rowLoss[i] = logsumexp_{k
/// != i} s - s[p(i)]. With `gradient`, g's row i becomes G[i, k] =
/// perRow * (softmax_{k != i}[k] - [k = p(i)]), 0 on the diagonal.
__device__ inline void ntXentRows(int64_t rows, int64_t dim, const float *u,
                                  double invTemperature, double perRow,
                                  bool gradient, double *g, double *rowLoss) {
  __shared__ double scratch[kThreadsPerBlock];
  for (int64_t i = blockIdx.x; i < rows; i += gridDim.x) {
    const float *ui = u + i * dim;
    double *s = g + i * rows;
    double maxValue = -doubleInfinity();
    for (int64_t k = threadIdx.x; k < rows; k += blockDim.x) {
      const float *uk = u + k * dim;
      double dot = 0;
      for (int64_t d = 0; d < dim; ++d)
        dot += static_cast<double>(ui[d]) * static_cast<double>(uk[d]);
      s[k] = dot * invTemperature;
      if (k != i)
        maxValue = maxValue < s[k] ? s[k] : maxValue;
    }
    maxValue = blockMax(maxValue, scratch);
    double sum = 0;
    for (int64_t k = threadIdx.x; k < rows; k += blockDim.x)
      if (k != i)
        sum += exp(s[k] - maxValue);
    const double lse = maxValue + log(blockSum(sum, scratch));
    const int64_t positive = positiveOf(i, rows);
    // Thread positive % blockDim wrote s[positive]; only it reads it back.
    if (threadIdx.x == positive % blockDim.x)
      rowLoss[i] = lse - s[positive];
    if (!gradient)
      continue;
    for (int64_t k = threadIdx.x; k < rows; k += blockDim.x) {
      const double target = k == positive ? 1.0 : 0.0;
      s[k] = k == i ? 0.0 : perRow * (exp(s[k] - lse) - target);
    }
  }
}

/// The last phase of a backward for row i: dU_i = sum_k H(i, k) u_k
/// (double, k in order) into du's row i, then dz_i = that / T through
/// l2_normalize's backward with ||z_i||. H's row is staged through shared
/// memory kThreadsPerBlock entries at a time (thread t computes H(i, k0 +
/// t)); threads run along d.
template <typename HOf>
__device__ inline void
ntXentGradientRowsOf(int64_t rows, int64_t dim, const float *z, const float *u,
                     const float *norm, double invTemperature, double *du,
                     float *dz, HOf hOf) {
  __shared__ double h[kThreadsPerBlock];
  __shared__ double scratch[kThreadsPerBlock];
  const float clamp = static_cast<float>(kNtXentNormalizeEps);
  const int64_t threads = blockDim.x;
  for (int64_t i = blockIdx.x; i < rows; i += gridDim.x) {
    double *a = du + i * dim;
    for (int64_t d0 = 0; d0 < dim; d0 += threads) {
      const int64_t d = d0 + threadIdx.x;
      double acc = 0;
      for (int64_t k0 = 0; k0 < rows; k0 += threads) {
        const int64_t k = k0 + threadIdx.x;
        if (k < rows)
          h[threadIdx.x] = hOf(i, k);
        __syncthreads();
        const int64_t kEnd = minIndex(threads, rows - k0);
        if (d < dim)
          for (int64_t kk = 0; kk < kEnd; ++kk)
            acc += h[kk] * static_cast<double>(u[(k0 + kk) * dim + d]);
        __syncthreads();
      }
      if (d < dim)
        a[d] = acc;
    }
    const float *zi = z + i * dim;
    float *dzi = dz + i * dim;
    if (norm[i] < clamp) { // The same branch for the whole block.
      for (int64_t d = threadIdx.x; d < dim; d += threads)
        dzi[d] = static_cast<float>(a[d] * invTemperature /
                                    static_cast<double>(clamp));
      continue;
    }
    const double r = norm[i];
    double dot = 0;
    for (int64_t d = threadIdx.x; d < dim; d += threads)
      dot += a[d] * invTemperature * (static_cast<double>(zi[d]) / r);
    dot = blockSum(dot, scratch);
    for (int64_t d = threadIdx.x; d < dim; d += threads)
      dzi[d] = static_cast<float>(
          (a[d] * invTemperature - (static_cast<double>(zi[d]) / r) * dot) / r);
  }
}

/// Phase 2 of the backward: ntXentGradientRowsOf with H = G + G^T (the CPU
/// symmetrizes G in place first; here the sum is formed as it is read).
__device__ inline void ntXentGradientRows(int64_t rows, int64_t dim,
                                          const float *z, const float *u,
                                          const float *norm, const double *g,
                                          double invTemperature, double *du,
                                          float *dz) {
  ntXentGradientRowsOf(
      rows, dim, z, u, norm, invTemperature, du, dz,
      [&](int64_t i, int64_t k) { return g[i * rows + k] + g[k * rows + i]; });
}

/// loss[0] = the per-row losses added in row order / rows, by one thread.
__device__ inline void ntXentMean(const double *rowLoss, int64_t rows,
                                  float *loss) {
  if (blockIdx.x != 0 || threadIdx.x != 0)
    return;
  double total = 0;
  for (int64_t i = 0; i < rows; ++i)
    total += rowLoss[i];
  loss[0] = static_cast<float>(total / static_cast<double>(rows));
}

} // namespace detail

/// nt_xent forward (Cpu/Loss.h): phases normalize, rows, mean.
/// Workspace: ntXentScratchBytes(rows2N, dim).
__device__ inline void ntXentForward(int phase, int64_t rows2N, int64_t dim,
                                     const float *z, double temperature,
                                     float *loss, void *workspace) {
  detail::NtXentWorkspace w(workspace, rows2N, dim);
  if (phase == 0)
    detail::ntXentNormalize(rows2N, dim, z, w.u, w.norm);
  else if (phase == 1)
    detail::ntXentRows(rows2N, dim, w.u, 1.0 / temperature, 0.0, false, w.g,
                       w.rowLoss);
  else
    detail::ntXentMean(w.rowLoss, rows2N, loss);
}

/// Fused nt_xent forward and backward (Cpu/Loss.h): phases normalize,
/// rows, gradient rows (with the mean loss). `loss` may be null.
/// Workspace: ntXentScratchBytes(rows2N, dim).
__device__ inline void ntXentForwardBackward(int phase, int64_t rows2N,
                                             int64_t dim, const float *z,
                                             double temperature,
                                             const float *dloss, float *loss,
                                             float *dz, void *workspace) {
  detail::NtXentWorkspace w(workspace, rows2N, dim);
  const double invTemperature = 1.0 / temperature;
  if (phase == 0) {
    detail::ntXentNormalize(rows2N, dim, z, w.u, w.norm);
  } else if (phase == 1) {
    const double perRow =
        static_cast<double>(dloss[0]) / static_cast<double>(rows2N);
    detail::ntXentRows(rows2N, dim, w.u, invTemperature, perRow, true, w.g,
                       w.rowLoss);
  } else {
    detail::ntXentGradientRows(rows2N, dim, z, w.u, w.norm, w.g, invTemperature,
                               w.du, dz);
    if (loss)
      detail::ntXentMean(w.rowLoss, rows2N, loss);
  }
}

/// nt_xent_backward (Cpu/Loss.h): ntXentForwardBackward without the loss.
__device__ inline void ntXentBackward(int phase, int64_t rows2N, int64_t dim,
                                      const float *dloss, const float *z,
                                      double temperature, float *dz,
                                      void *workspace) {
  ntXentForwardBackward(phase, rows2N, dim, z, temperature, dloss, nullptr, dz,
                        workspace);
}

//===----------------------------------------------------------------------===//
// NT-Xent over gathered projections (simclr-data-parallel)
//===----------------------------------------------------------------------===//

namespace detail {

/// The workspace of ntXentGatheredForwardBackward, carved as Cpu/Loss.h
/// carves it (ntXentGatheredScratchBytes).
struct NtXentGatheredWorkspace {
  float *u;
  float *norm;
  double *rowLoss;
  double *lse;
  double *du;

  __device__ NtXentGatheredWorkspace(void *workspace, int64_t rows,
                                     int64_t dim) {
    Workspace carve(workspace);
    u = carve.take<float>(rows * dim);
    norm = carve.take<float>(rows);
    rowLoss = carve.take<double>(rows);
    lse = carve.take<double>(rows);
    du = carve.take<double>(rows * dim);
  }
};

/// s[i,k] = (u_i . u_k) / T, the dot in double over d in order (one
/// thread), recomputed wherever it is needed as on the CPU.
__device__ inline double ntXentSimilarity(int64_t dim, const float *u,
                                          int64_t i, int64_t k,
                                          double invTemperature) {
  const float *ui = u + i * dim;
  const float *uk = u + k * dim;
  double dot = 0;
  for (int64_t d = 0; d < dim; ++d)
    dot += static_cast<double>(ui[d]) * static_cast<double>(uk[d]);
  return dot * invTemperature;
}

/// Phase 1 of the gathered NT-Xent for row i (threads along k):
/// lse[i] = logsumexp_{k != i} s[i,k] and rowLoss[i] = lse[i] - s[i,p(i)].
__device__ inline void ntXentGatheredRows(int64_t rows, int64_t dim,
                                          const float *u, double invTemperature,
                                          double *lse, double *rowLoss) {
  __shared__ double scratch[kThreadsPerBlock];
  for (int64_t i = blockIdx.x; i < rows; i += gridDim.x) {
    double maxValue = -doubleInfinity();
    for (int64_t k = threadIdx.x; k < rows; k += blockDim.x)
      if (k != i) {
        const double s = ntXentSimilarity(dim, u, i, k, invTemperature);
        maxValue = maxValue < s ? s : maxValue;
      }
    maxValue = blockMax(maxValue, scratch);
    double sum = 0;
    for (int64_t k = threadIdx.x; k < rows; k += blockDim.x)
      if (k != i)
        sum += exp(ntXentSimilarity(dim, u, i, k, invTemperature) - maxValue);
    const double rowLse = maxValue + log(blockSum(sum, scratch));
    if (threadIdx.x == 0) {
      lse[i] = rowLse;
      rowLoss[i] = rowLse - ntXentSimilarity(dim, u, i, positiveOf(i, rows),
                                             invTemperature);
    }
  }
}

} // namespace detail

/// NT-Xent over the projections of every data-parallel replica
/// (Cpu/Loss.h): rows = replicas * 2N, known only on the device (the
/// generated kernel reads the replica count there), so the launches
/// (Launch.h) are those of one replica's 2N rows, every phase looping
/// block-stride over all `rows`:
///  0. u = l2_normalize(z) and the norms, one block per row;
///  1. each row's log-sum-exp over k != i and its loss (threads along k,
///     similarities recomputed);
///  2. dU_j = sum_k H[j,k] u_k with H[j,k] = dloss/rows * (exp(s[j,k] -
///     lse[j]) + exp(s[j,k] - lse[k]) - 2 [k = p(j)]), 0 on the diagonal,
///     k in order, then dz_j; and the mean loss by block 0's thread 0.
/// The workspace (ntXentGatheredScratchBytes(rows, dim)) has no rows x rows
/// matrix. `loss` may be null.
__device__ inline void ntXentGatheredForwardBackward(
    int phase, int64_t rows, int64_t dim, const float *z, double temperature,
    const float *dloss, float *loss, float *dz, void *workspace) {
  detail::NtXentGatheredWorkspace w(workspace, rows, dim);
  const double invTemperature = 1.0 / temperature;
  if (phase == 0) {
    detail::ntXentNormalize(rows, dim, z, w.u, w.norm);
  } else if (phase == 1) {
    detail::ntXentGatheredRows(rows, dim, w.u, invTemperature, w.lse,
                               w.rowLoss);
  } else {
    const double perRow =
        static_cast<double>(dloss[0]) / static_cast<double>(rows);
    const float *u = w.u;
    const double *lse = w.lse;
    detail::ntXentGradientRowsOf(
        rows, dim, z, u, w.norm, invTemperature, w.du, dz,
        [&](int64_t j, int64_t k) {
          if (k == j)
            return 0.0;
          const double s =
              detail::ntXentSimilarity(dim, u, j, k, invTemperature);
          const double target = k == detail::positiveOf(j, rows) ? 2.0 : 0.0;
          return perRow * (exp(s - lse[j]) + exp(s - lse[k]) - target);
        });
    if (loss)
      detail::ntXentMean(w.rowLoss, rows, loss);
  }
}

//===----------------------------------------------------------------------===//
// NT-Xent primitives (after simclr-decompose-nt-xent)
//===----------------------------------------------------------------------===//

/// masked_scaled_log_softmax (Cpu/Loss.h), one phase, one block per row.
template <typename Pro, typename Epi>
__device__ inline void maskedScaledLogSoftmaxForward(int phase, int64_t m,
                                                     Pro s, double scale,
                                                     float *out, Epi epi) {
  (void)phase;
  __shared__ double scratch[kThreadsPerBlock];
  const float scaleF = static_cast<float>(scale);
  for (int64_t i = blockIdx.x; i < m; i += gridDim.x) {
    const int64_t base = i * m;
    float maxValue = -detail::floatInfinity();
    for (int64_t k = threadIdx.x; k < m; k += blockDim.x)
      if (k != i) {
        const float v = s(base + k) * scaleF;
        maxValue = maxValue < v ? v : maxValue;
      }
    // Float maxima are exact in double, and the fold's rule is the same.
    maxValue = static_cast<float>(detail::blockMax(maxValue, scratch));
    double sum = 0;
    for (int64_t k = threadIdx.x; k < m; k += blockDim.x)
      if (k != i)
        sum += exp(static_cast<double>(s(base + k) * scaleF) -
                   static_cast<double>(maxValue));
    const double lse =
        static_cast<double>(maxValue) + log(detail::blockSum(sum, scratch));
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x)
      out[base + j] =
          epi(base + j,
              j == i ? 0.0f
                     : static_cast<float>(
                           static_cast<double>(s(base + j) * scaleF) - lse));
  }
}

/// masked_scaled_log_softmax_backward (Cpu/Loss.h), one phase, one block
/// per row.
template <typename Pro, typename Epi>
__device__ inline void
maskedScaledLogSoftmaxBackward(int phase, int64_t m, Pro dout, const float *out,
                               double scale, float *ds, Epi epi) {
  (void)phase;
  __shared__ double scratch[kThreadsPerBlock];
  for (int64_t i = blockIdx.x; i < m; i += gridDim.x) {
    const int64_t base = i * m;
    double rowSum = 0;
    for (int64_t k = threadIdx.x; k < m; k += blockDim.x)
      if (k != i)
        rowSum += static_cast<double>(dout(base + k));
    rowSum = detail::blockSum(rowSum, scratch);
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x)
      ds[base + j] =
          epi(base + j,
              j == i ? 0.0f
                     : static_cast<float>(
                           scale *
                           (static_cast<double>(dout(base + j)) -
                            exp(static_cast<double>(out[base + j])) * rowSum)));
  }
}

/// gather_positives (Cpu/Loss.h), one phase, one thread per row.
template <typename Pro, typename Epi>
__device__ inline void gatherPositivesForward(int phase, int64_t rows2N, Pro m,
                                              float *v, Epi epi) {
  (void)phase;
  for (int64_t i = globalThreadIndex(); i < rows2N; i += globalThreadCount())
    v[i] = epi(i, m(i * rows2N + detail::positiveOf(i, rows2N)));
}

/// gather_positives_backward (Cpu/Loss.h), one phase, one thread per
/// element of dm.
template <typename Pro, typename Epi>
__device__ inline void gatherPositivesBackward(int phase, int64_t rows2N,
                                               Pro dv, float *dm, Epi epi) {
  (void)phase;
  const int64_t count = rows2N * rows2N;
  for (int64_t e = globalThreadIndex(); e < count; e += globalThreadCount()) {
    const int64_t i = e / rows2N, k = e % rows2N;
    dm[e] = epi(e, k == detail::positiveOf(i, rows2N) ? dv(i) : 0.0f);
  }
}

/// reduce_mean (Cpu/Loss.h): phase 0 sums each kReduceBlockElements block
/// in double (one CUDA block each), phase 1 adds the blocks in order (one
/// thread). Workspace: reduceScratchBytes(count).
template <typename Pro, typename Epi>
__device__ inline void reduceMeanForward(int phase, int64_t count, Pro x,
                                         float *y, void *workspace, Epi epi) {
  const int64_t block = kernels::kReduceBlockElements;
  const int64_t blocks = kernels::ceilDiv(count, block);
  double *part = Workspace(workspace).take<double>(blocks);
  if (phase == 0) {
    __shared__ double scratch[kThreadsPerBlock];
    for (int64_t b = blockIdx.x; b < blocks; b += gridDim.x) {
      const int64_t end = detail::minIndex(count, (b + 1) * block);
      double sum = 0;
      for (int64_t i = b * block + threadIdx.x; i < end; i += blockDim.x)
        sum += static_cast<double>(x(i));
      sum = detail::blockSum(sum, scratch);
      if (threadIdx.x == 0)
        part[b] = sum;
    }
    return;
  }
  if (blockIdx.x != 0 || threadIdx.x != 0)
    return;
  double total = 0;
  for (int64_t b = 0; b < blocks; ++b)
    total += part[b];
  y[0] = epi(0, static_cast<float>(total / static_cast<double>(count)));
}

} // namespace cuda
} // namespace simclr

#endif // SIMCLR_KERNELS_CUDA_LOSS_CUH
