//===- InstantiateAll.cu - Every CUDA template in a __global__ kernel -----===//
//
// Compiled for sm_90 by NVRTC (CudaNvrtcCompileTest, with the options of
// the CUDA emitter) so that a template NVRTC rejects fails the suite
// without a GPU. Each kernel calls one template as generated code does:
// with Load/Identity or with prologue/epilogue lambdas, NCHW (X = 1) and
// NHWC (X = c) where the template has X, and the phase as an argument.
//
//===----------------------------------------------------------------------===//
#include "simclr/Kernels/Cuda/CudaKernels.cuh"

namespace {
/// The channel count of the NHWC instantiations (X = c).
constexpr int64_t kChannels = 64;
} // namespace

extern "C" __global__ void batchNormTrainNchw(int phase, const float *x,
                                              const float *g, const float *b,
                                              float *y, float *m, float *v,
                                              void *ws) {
  simclr::cuda::batchNormTrainForward<1>(
      phase, 8, 3, 5, simclr::cuda::Load{x}, g, b, 1e-5, y, m, v, ws,
      [&](int64_t i, float r) -> float { return r < 0.0f ? 0.0f : r; });
}

extern "C" __global__ void batchNormTrainNhwc(int phase, const float *x,
                                              const float *g, const float *b,
                                              float *y, float *m, float *v,
                                              void *ws) {
  simclr::cuda::batchNormTrainForward<kChannels>(
      phase, 8, kChannels, 16, [&](int64_t i) -> float { return x[i] * 2.0f; },
      g, b, 1e-5, y, m, v, ws, simclr::cuda::Identity{});
}

extern "C" __global__ void
batchNormInferenceNhwc(int phase, const float *x, const float *g,
                       const float *b, const float *rm, const float *rv,
                       float *y, void *ws) {
  simclr::cuda::batchNormInference<kChannels>(
      phase, 2, kChannels, 9, simclr::cuda::Load{x}, g, b, rm, rv, 1e-5, y, ws,
      simclr::cuda::Identity{});
}

extern "C" __global__ void batchNormBackwardNchw(int phase, const float *dy,
                                                 const float *x, const float *g,
                                                 const float *m, const float *v,
                                                 float *dx, float *dg,
                                                 float *db, void *ws) {
  simclr::cuda::batchNormTrainBackward<1>(
      phase, 4, 3, 7, [&](int64_t i) -> float { return dy[i] + 1.0f; }, x, g, m,
      v, 1e-5, dx, dg, db, ws, simclr::cuda::Identity{});
}

extern "C" __global__ void batchNormBackwardNhwc(int phase, const float *dy,
                                                 const float *x, const float *g,
                                                 const float *m, const float *v,
                                                 float *dx, float *dg,
                                                 float *db, void *ws) {
  simclr::cuda::batchNormTrainBackward<kChannels>(
      phase, 4, kChannels, 7, simclr::cuda::Load{dy}, x, g, m, v, 1e-5, dx, dg,
      db, ws, [&](int64_t i, float r) -> float { return r * 0.5f; });
}

extern "C" __global__ void pools(int phase, const float *x, float *y,
                                 const float *dy, float *dx) {
  simclr::cuda::globalAvgPoolForward<kChannels>(phase, 2, kChannels, 16,
                                                simclr::cuda::Load{x}, y,
                                                simclr::cuda::Identity{});
  simclr::cuda::globalAvgPoolForward<1>(phase, 2, 3, 16, simclr::cuda::Load{x},
                                        y, simclr::cuda::Identity{});
  simclr::cuda::globalAvgPoolBackward<kChannels>(
      phase, 2, kChannels, 16, simclr::cuda::Load{dy}, dx,
      [&](int64_t i, float r) -> float { return r + x[i]; });
  simclr::cuda::globalAvgPoolBackward<1>(
      phase, 2, 3, 16, simclr::cuda::Load{dy}, dx, simclr::cuda::Identity{});
  simclr::cuda::maxPool2dForward(phase, 2, 3, 8, 8, 3, 3, 2, 2, 1, 1, x, y);
  simclr::cuda::maxPool2dBackward(phase, 2, 3, 8, 8, 3, 3, 2, 2, 1, 1, dy, x,
                                  dx);
}

extern "C" __global__ void channels(int phase, const float *x, float *y,
                                    float *rm, float *rv, const float *bm,
                                    const float *bv, void *ws) {
  static const float mean_[] = {0.5f, 0.25f, 0.125f};
  static const float std_[] = {2.0f, 4.0f, 8.0f};
  simclr::cuda::sumToChannels<1>(phase, 16, 3, 1, simclr::cuda::Load{x}, y, ws,
                                 simclr::cuda::Identity{});
  simclr::cuda::sumToChannels<kChannels>(
      phase, 16, kChannels, 4, simclr::cuda::Load{x}, y, ws,
      [&](int64_t i, float r) -> float { return -r; });
  simclr::cuda::normalizeChannels<1>(phase, 2, 3, 16, simclr::cuda::Load{x},
                                     mean_, std_, y, simclr::cuda::Identity{});
  simclr::cuda::normalizeChannels<3>(phase, 2, 3, 16, simclr::cuda::Load{x},
                                     mean_, std_, y, simclr::cuda::Identity{});
  simclr::cuda::runningStatsUpdate(phase, 3, rm, rv, bm, bv, 0.1, 64, rm, rv);
}

/// As generated for a data-parallel step: the rows are a replica count
/// read from device memory times one replica's 2N.
extern "C" __global__ void ntXentGathered(int phase, const float *z,
                                          const int64_t *replicas,
                                          const float *dloss, float *loss,
                                          float *dz, void *ws) {
  const int64_t rows = 16 * replicas[0];
  simclr::cuda::ntXentGatheredForwardBackward(phase, rows, 128, z, 0.5, dloss,
                                              loss, dz, ws);
}

extern "C" __global__ void losses(int phase, const float *x, float *y,
                                  const float *dy, float *dx, void *ws) {
  simclr::cuda::l2NormalizeForward(
      phase, 16, 128, 1e-12, [&](int64_t i) -> float { return x[i] - 1.0f; }, y,
      simclr::cuda::Identity{});
  simclr::cuda::l2NormalizeBackward(phase, 16, 128, 1e-12,
                                    simclr::cuda::Load{dy}, x, dx,
                                    simclr::cuda::Identity{});
  simclr::cuda::ntXentForward(phase, 16, 128, x, 0.5, y, ws);
  simclr::cuda::ntXentBackward(phase, 16, 128, dy, x, 0.5, dx, ws);
  simclr::cuda::ntXentForwardBackward(phase, 16, 128, x, 0.5, dy, y, dx, ws);
  simclr::cuda::maskedScaledLogSoftmaxForward(
      phase, 16, simclr::cuda::Load{x}, 2.0, y,
      [&](int64_t i, float r) -> float { return r * 0.5f; });
  simclr::cuda::maskedScaledLogSoftmaxBackward(
      phase, 16, simclr::cuda::Load{dy}, x, 2.0, dx, simclr::cuda::Identity{});
  simclr::cuda::gatherPositivesForward(phase, 16, simclr::cuda::Load{x}, y,
                                       simclr::cuda::Identity{});
  simclr::cuda::gatherPositivesBackward(phase, 16, simclr::cuda::Load{dy}, dx,
                                        simclr::cuda::Identity{});
  simclr::cuda::reduceMeanForward(
      phase, 5000, simclr::cuda::Load{x}, y, ws,
      [&](int64_t i, float r) -> float { return r * 2.0f; });
}

extern "C" __global__ void movement(int phase, const float *x, float *y,
                                    void *to, const void *from) {
  simclr::cuda::sliceCopy(phase, 2, 8, 3, 2, 4, simclr::cuda::Load{x}, y,
                          simclr::cuda::Identity{});
  simclr::cuda::concatCopy(
      phase, 2, 8, 3, 2, 4, [&](int64_t i) -> float { return x[i] * x[i]; }, y,
      simclr::cuda::Identity{});
  simclr::cuda::copyBytes(to, from, 1000);
}

extern "C" __global__ void elementTypes(const uint8_t *image,
                                        const int32_t *labels, float *y) {
  for (int64_t i = simclr::cuda::globalThreadIndex(); i < 1000;
       i += simclr::cuda::globalThreadCount())
    y[i] = static_cast<float>(image[i]) / 255.0f +
           static_cast<float>(labels[i % 10]);
}

extern "C" __global__ void elementwise(const float *x, float *y) {
  for (int64_t i = simclr::cuda::globalThreadIndex(); i < 1000;
       i += simclr::cuda::globalThreadCount())
    y[i] = x[i] + 1.0f;
}

extern "C" __global__ void optimizers(int phase, float *p, const float *g,
                                      float *m, float *v, const float *lr,
                                      const float *step, float *out, void *ws) {
  const simclr::cuda::OptimizerSegment segments[] = {
      {p, g, m, v, 100, 0.01, 0},
      {p + 100, g + 100, m + 100, v + 100, 50, 0.0, 1},
  };
  simclr::cuda::adamWUpdateAll(phase, segments, 2, lr[0],
                               static_cast<int64_t>(step[0]), 0.9, 0.999, 1e-8,
                               ws);
  simclr::cuda::sgdUpdateAll(phase, segments, 2, lr[0], 0.9, ws);
  simclr::cuda::larsUpdateAll(phase, segments, 2, lr[0], 0.9, 0.001, ws);
  if (simclr::cuda::globalThreadIndex() == 0)
    out[0] = simclr::cuda::lrWarmupCosine(static_cast<int64_t>(step[0]), 0.3,
                                          0.0, 10, 100);
}

extern "C" __global__ void syncBatchNorm(int phase, const float *x,
                                         const float *g, const float *b,
                                         double *stats, float *y, float *m,
                                         float *v, const float *dy, float *dx,
                                         float *dg, float *db, void *ws) {
  simclr::cuda::batchNormStatistics<1>(
      phase, 8, 3, 5, [&](int64_t i) -> float { return x[i] * 2.0f; }, stats,
      ws);
  simclr::cuda::batchNormStatistics<kChannels>(
      phase, 8, kChannels, 16, simclr::cuda::Load{x}, stats, ws);
  simclr::cuda::batchNormApply<kChannels>(
      phase, 8, kChannels, 16, simclr::cuda::Load{x}, g, b, stats, 1e-5, y, m,
      v, ws, [&](int64_t i, float r) -> float { return r < 0.0f ? 0.0f : r; });
  simclr::cuda::batchNormApply<1>(phase, 8, 3, 5, simclr::cuda::Load{x}, g, b,
                                  stats, 1e-5, y, m, v, ws,
                                  simclr::cuda::Identity{});
  simclr::cuda::runningStatsFromSums(phase, 3, m, v, stats, 0.1, m, v);
  simclr::cuda::batchNormBackwardStatistics<1>(
      phase, 4, 3, 7, [&](int64_t i) -> float { return dy[i] + 1.0f; }, x, m, v,
      1e-5, stats, ws);
  simclr::cuda::batchNormBackwardStatistics<kChannels>(
      phase, 4, kChannels, 7, simclr::cuda::Load{dy}, x, m, v, 1e-5, stats, ws);
  simclr::cuda::batchNormBackwardApply<kChannels>(
      phase, 4, kChannels, 7, simclr::cuda::Load{dy}, x, g, m, v, stats, 1e-5,
      dx, dg, db, ws, [&](int64_t i, float r) -> float { return r * 0.5f; });
  simclr::cuda::batchNormBackwardApply<1>(
      phase, 4, 3, 7, [&](int64_t i) -> float { return dy[i] - 1.0f; }, x, g, m,
      v, stats, 1e-5, dx, dg, db, ws, simclr::cuda::Identity{});
}
