//===- Optimizers.h - CPU multi-tensor optimizers and the LR schedule -----===//
//
// One call updates every parameter: the generator emits a static table of
// OptimizerSegment (one per parameter tensor) and calls adamWUpdateAll,
// sgdUpdateAll or larsUpdateAll once per step. Segments are cut into chunks
// of kOptimizerChunkElements and the chunks of all segments are processed in
// parallel, so one huge tensor and many tiny ones balance alike. Per-element
// math follows lib/Reference/Optimizers.cpp (float arithmetic, as the f32
// ops); LARS norms are accumulated in double per chunk and combined in chunk
// order (deterministic). Every update is in place; the chunk table and the
// norms live in a workspace of kernels::optimizerScratchBytes(count,
// chunks). Conventions: Common.h.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CPU_OPTIMIZERS_H
#define SIMCLR_KERNELS_CPU_OPTIMIZERS_H

#include "simclr/Kernels/Cpu/Common.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace simclr {
namespace cpu {

/// OptimizerSegment::flags bit: the tensor takes part in LARS layer
/// adaptation and weight decay (the lars_update op's layer_adaptation =
/// true). Clear for biases and batch-norm parameters, which SimCLR excludes
/// from both (their weightDecay is then ignored, as the op requires it 0).
/// Ignored by AdamW and SGD.
constexpr int kOptimizerLayerAdaptation = 1 << 0;

/// One parameter tensor of a multi-tensor update; every pointer addresses
/// `size` floats, updated in place.
struct OptimizerSegment {
  float *param;
  const float *grad;
  /// SGD and LARS: the momentum buffer; AdamW: exp_avg.
  float *state0;
  /// AdamW: exp_avg_sq; unused (may be null) for SGD and LARS.
  float *state1;
  int64_t size;
  /// The update op's weight_decay attribute for this tensor.
  double weightDecay;
  /// kOptimizerLayerAdaptation or 0.
  int flags;
};

namespace detail {

/// pi to double precision; M_PI is a POSIX extension.
constexpr double kPi = 3.14159265358979323846;

/// One chunk of one segment: elements [begin, end) of segs[segment].
struct OptimizerChunk {
  int64_t segment;
  int64_t begin;
  int64_t end;
};

/// The chunks of all segments, numbered in segment order: firstChunk[s] is
/// the number of segment s's first chunk (firstChunk[count] the total).
class OptimizerChunks {
public:
  OptimizerChunks(const OptimizerSegment *segs, int64_t count,
                  int64_t *firstChunk)
      : segs_(segs), count_(count), firstChunk_(firstChunk) {
    firstChunk[0] = 0;
    for (int64_t s = 0; s < count; ++s)
      firstChunk[s + 1] = firstChunk[s] + kernels::optimizerChunks(segs[s].size);
  }
  int64_t size() const { return firstChunk_[count_]; }
  OptimizerChunk operator[](int64_t chunk) const {
    const int64_t segment =
        std::upper_bound(firstChunk_, firstChunk_ + count_ + 1, chunk) -
        firstChunk_ - 1;
    const int64_t begin =
        (chunk - firstChunk_[segment]) * kernels::kOptimizerChunkElements;
    return {segment, begin,
            std::min(segs_[segment].size,
                     begin + kernels::kOptimizerChunkElements)};
  }

private:
  const OptimizerSegment *segs_;
  int64_t count_;
  const int64_t *firstChunk_;
};

} // namespace detail

/// lr_schedule at the 0-based step, as the op (f32 result of the double
/// formula): step < warmupSteps: baseLr * step / warmupSteps; otherwise
/// finalLr + (baseLr - finalLr) * (1 + cos(pi * s / T)) / 2 with
/// T = totalSteps - warmupSteps, s = min(step - warmupSteps, T), or baseLr
/// when T = 0. Preconditions (op verifier): 0 <= warmupSteps <= totalSteps,
/// step >= 0.
inline float lrWarmupCosine(int64_t step, double baseLr, double finalLr,
                            int64_t warmupSteps, int64_t totalSteps) {
  if (step < warmupSteps)
    return static_cast<float>(baseLr * static_cast<double>(step) /
                              static_cast<double>(warmupSteps));
  const int64_t decaySteps = totalSteps - warmupSteps;
  if (decaySteps == 0)
    return static_cast<float>(baseLr);
  const int64_t progress = std::min(step - warmupSteps, decaySteps);
  const double cosine = std::cos(detail::kPi * static_cast<double>(progress) /
                                 static_cast<double>(decaySteps));
  return static_cast<float>(finalLr + (baseLr - finalLr) * 0.5 * (1.0 + cosine));
}

/// adamw_update of every segment (torch.optim.AdamW, amsgrad off), `step`
/// the op's 0-BASED step operand; t = step + 1 is the bias-correction power:
/// p *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
/// p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
/// state0 = exp_avg, state1 = exp_avg_sq; wd per segment.
inline void adamWUpdateAll(const OptimizerSegment *segs, int64_t count,
                           float lr, int64_t step, double beta1, double beta2,
                           double eps, void *workspace) {
  const detail::OptimizerChunks chunks(
      segs, count, Workspace(workspace).take<int64_t>(count + 1));
  const float b1 = static_cast<float>(beta1);
  const float b2 = static_cast<float>(beta2);
  const float epsilon = static_cast<float>(eps);
  const float t = static_cast<float>(step + 1);
  const float biasCorrection1 = 1.0f - std::pow(b1, t);
  const float biasCorrection2 = 1.0f - std::pow(b2, t);
  const int64_t numChunks = chunks.size();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < numChunks; ++c) {
    const detail::OptimizerChunk chunk = chunks[c];
    const OptimizerSegment &seg = segs[chunk.segment];
    float *p = seg.param;
    const float *g = seg.grad;
    float *m = seg.state0;
    float *v = seg.state1;
    const float decay = 1.0f - lr * static_cast<float>(seg.weightDecay);
#pragma omp simd
    for (int64_t i = chunk.begin; i < chunk.end; ++i) {
      const float grad = g[i];
      // Decoupled weight decay (Loshchilov & Hutter): applied to p, not g.
      const float decayed = p[i] * decay;
      const float mNew = b1 * m[i] + (1.0f - b1) * grad;
      const float vNew = b2 * v[i] + (1.0f - b2) * grad * grad;
      m[i] = mNew;
      v[i] = vNew;
      const float mHat = mNew / biasCorrection1;
      const float vHat = vNew / biasCorrection2;
      p[i] = decayed - lr * mHat / (std::sqrt(vHat) + epsilon);
    }
  }
}

/// sgd_update of every segment (torch.optim.SGD, dampening 0, no Nesterov):
/// g = grad + wd*p; buf = momentum*buf + g; p -= lr*buf. state0 = buf.
inline void sgdUpdateAll(const OptimizerSegment *segs, int64_t count, float lr,
                         double momentum, void *workspace) {
  const detail::OptimizerChunks chunks(
      segs, count, Workspace(workspace).take<int64_t>(count + 1));
  const float mu = static_cast<float>(momentum);
  const int64_t numChunks = chunks.size();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < numChunks; ++c) {
    const detail::OptimizerChunk chunk = chunks[c];
    const OptimizerSegment &seg = segs[chunk.segment];
    float *p = seg.param;
    const float *g = seg.grad;
    float *buf = seg.state0;
    const float wd = static_cast<float>(seg.weightDecay);
#pragma omp simd
    for (int64_t i = chunk.begin; i < chunk.end; ++i) {
      const float grad = g[i] + wd * p[i];
      const float b = mu * buf[i] + grad;
      buf[i] = b;
      p[i] -= lr * b;
    }
  }
}

/// lars_update of every segment (SimCLR's LARSOptimizer, classic momentum).
/// Segments with kOptimizerLayerAdaptation: g = grad + wd*p and
/// trust = eta*||p||/||g|| when both norms are positive, else 1; others:
/// g = grad, trust = 1. Then v = momentum*v + lr*trust*g; p -= v.
/// state0 = v. Norms are over the whole segment, in double.
inline void larsUpdateAll(const OptimizerSegment *segs, int64_t count, float lr,
                          double momentum, double eta, void *workspace) {
  Workspace carve(workspace);
  const detail::OptimizerChunks chunks(segs, count,
                                       carve.take<int64_t>(count + 1));
  const int64_t numChunks = chunks.size();
  // 1. Per-chunk squared norms of p and of g (adapted segments only).
  double *part = carve.take<double>(2 * numChunks);
  std::fill(part, part + 2 * numChunks, 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < numChunks; ++c) {
    const detail::OptimizerChunk chunk = chunks[c];
    const OptimizerSegment &seg = segs[chunk.segment];
    if (!(seg.flags & kOptimizerLayerAdaptation))
      continue;
    const float *p = seg.param;
    const float *g = seg.grad;
    const float wd = static_cast<float>(seg.weightDecay);
    double paramSq = 0, gradSq = 0;
#pragma omp simd reduction(+ : paramSq, gradSq)
    for (int64_t i = chunk.begin; i < chunk.end; ++i) {
      const double pv = p[i];
      const double gv = g[i] + wd * p[i];
      paramSq += pv * pv;
      gradSq += gv * gv;
    }
    part[2 * c] = paramSq;
    part[2 * c + 1] = gradSq;
  }
  // 2. Per-segment norms, chunks combined in order, and the scaled lr.
  double *paramSq = carve.take<double>(count);
  double *gradSq = carve.take<double>(count);
  float *scaledLr = carve.take<float>(count);
  std::fill(paramSq, paramSq + count, 0.0);
  std::fill(gradSq, gradSq + count, 0.0);
  std::fill(scaledLr, scaledLr + count, lr);
  for (int64_t c = 0; c < numChunks; ++c) {
    paramSq[chunks[c].segment] += part[2 * c];
    gradSq[chunks[c].segment] += part[2 * c + 1];
  }
  for (int64_t s = 0; s < count; ++s) {
    if (!(segs[s].flags & kOptimizerLayerAdaptation))
      continue;
    const double paramNorm = std::sqrt(paramSq[s]);
    const double gradNorm = std::sqrt(gradSq[s]);
    // lars_optimizer.py falls back to trust 1 when either norm is zero.
    if (paramNorm > 0 && gradNorm > 0)
      scaledLr[s] = lr * static_cast<float>(eta * paramNorm / gradNorm);
  }
  // 3. The update.
  const float mu = static_cast<float>(momentum);
  const float *rates = scaledLr;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < numChunks; ++c) {
    const detail::OptimizerChunk chunk = chunks[c];
    const OptimizerSegment &seg = segs[chunk.segment];
    float *p = seg.param;
    const float *g = seg.grad;
    float *v = seg.state0;
    const float rate = rates[chunk.segment];
    const bool adapted = seg.flags & kOptimizerLayerAdaptation;
    const float wd = static_cast<float>(seg.weightDecay);
#pragma omp simd
    for (int64_t i = chunk.begin; i < chunk.end; ++i) {
      const float grad = adapted ? g[i] + wd * p[i] : g[i];
      const float vNew = mu * v[i] + rate * grad;
      v[i] = vNew;
      p[i] -= vNew;
    }
  }
}

} // namespace cpu
} // namespace simclr

#endif // SIMCLR_KERNELS_CPU_OPTIMIZERS_H
