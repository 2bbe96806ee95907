//===- CpuKernelTest.cpp - CPU kernel templates against the reference -----===//
//
// Every simclr::cpu kernel runs on random f32 inputs (fixed seeds, odd sizes)
// and is compared with the reference kernel of the same op. Unless a test
// says otherwise the oracle is the float64 reference on the same inputs, so
// the tolerance bounds the f32 kernel's own error. Fused hooks are checked
// against reference compositions, and reductions for bit-identical results
// under 1, 2 and 7 OpenMP threads.
//
//===----------------------------------------------------------------------===//
#include "simclr/Kernels/Cpu/CpuKernels.h"
#include "simclr/Reference/Kernels.h"
#include "simclr/Support/Vocabulary.h"

#include "../common/LayoutCopy.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <iterator>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

namespace simclr::cpu {
namespace {

using ref::Tensor;
using Floats = std::vector<float>;
using TensorD = Tensor<double>;
using TensorF = Tensor<float>;

//===----------------------------------------------------------------------===//
// Tolerances (|actual - expected| <= tol * (|expected| + max|expected|), i.e.
// relative, with an absolute floor at the output's scale for elements that
// cancel to near zero).
//===----------------------------------------------------------------------===//

/// Kernels whose outputs pass through a handful of f32 operations (normalize,
/// bias, batch-norm apply, log-softmax): each rounds by 2^-24 ~ 6e-8, so ten
/// of them stay far below 1e-5, while a wrong formula is off by O(1).
constexpr double kElementwiseTol = 1e-5;
/// Sums accumulated in double and rounded once to f32 (GAP, sum_to_channels,
/// reduce_mean, batch statistics): 2^-24 plus the f32 rounding of the inputs'
/// products, below 1e-6.
constexpr double kDoubleSumTol = 1e-6;
/// NT-Xent loss: the brief's f32 bound. Similarities pass through f32
/// normalized embeddings (2^-24 relative) scaled by 1/temperature <= 20.
constexpr double kNtXentLossTol = 1e-5;
/// NT-Xent and batch-norm gradients: differences of O(1) terms (softmax
/// minus one-hot, M*dy - sum dy - xhat*sum dy*xhat) cancel, so the f32
/// error is relative to the gradient's scale: 1e-4, the brief's bound.
constexpr double kGradientTol = 1e-4;
/// Optimizers compared with the f32 reference: identical f32 formulas, only
/// FMA contraction and evaluation order differ (a few ulps per step).
constexpr double kOptimizerTol = 1e-6;
/// LARS compared with the f64 reference: the trust ratio's norms are f64
/// here and f64 there; the rest is a few f32 roundings.
constexpr double kLarsTol = 1e-5;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

template <typename V> V take(Expected<V> expected) {
  if (!expected)
    throw std::runtime_error(expected.status().toString());
  return std::move(*expected);
}

Floats randomFloats(size_t count, std::mt19937_64 &rng, double lo = -1.0,
                    double hi = 1.0) {
  std::uniform_real_distribution<double> dist(lo, hi);
  Floats values(count);
  for (float &value : values)
    value = static_cast<float>(dist(rng));
  return values;
}

TensorD toD(std::vector<int64_t> shape, const Floats &values) {
  return TensorD(std::move(shape),
                 std::vector<double>(values.begin(), values.end()));
}
TensorF toF(std::vector<int64_t> shape, const Floats &values) {
  return TensorF(std::move(shape), values);
}
Floats fromD(const TensorD &t) { return Floats(t.data.begin(), t.data.end()); }

/// Expects actual[i] within tol * (|expected[i]| + max|expected|); NaN must
/// match NaN.
template <typename E>
void expectClose(const Floats &actual, const std::vector<E> &expected,
                 double tol, const char *what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  double scale = 0;
  for (E value : expected)
    if (std::isfinite(static_cast<double>(value)))
      scale = std::max(scale, std::fabs(static_cast<double>(value)));
  int failures = 0;
  for (size_t i = 0; i < expected.size() && failures < 5; ++i) {
    double e = static_cast<double>(expected[i]);
    double a = static_cast<double>(actual[i]);
    bool ok = std::isnan(e) ? std::isnan(a)
                            : std::fabs(a - e) <= tol * (std::fabs(e) + scale);
    if (!ok) {
      ++failures;
      ADD_FAILURE() << what << ": element " << i << " is " << a
                    << ", expected " << e << " (tolerance " << tol << ")";
    }
  }
}

void expectBitIdentical(const Floats &a, const Floats &b, const char *what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
      << what;
}

/// Even elements uniform in [-1, 1), odd ones alternately +B and -B
/// (B = 2^40, exact in f32). The exact sum is small, but the 74 bits between
/// B and the small values' ulps exceed a double, so a running sum rounds each
/// small term while it holds +-B: a thread-count-dependent grouping of a
/// reduction changes the f32 result on these inputs.
Floats cancellingFloats(size_t count, std::mt19937_64 &rng) {
  const float big = std::ldexp(1.0f, 40);
  Floats values = randomFloats(count, rng);
  for (size_t i = 1; i < count; i += 2)
    values[i] = (i / 2) % 2 == 0 ? big : -big;
  return values;
}

/// A kernel workspace of `bytes` (kernels::*ScratchBytes), as the arena
/// gives one: 64-byte aligned, garbage-filled so that no kernel relies on
/// zeroed scratch.
class Scratch {
public:
  explicit Scratch(int64_t bytes)
      : storage_(static_cast<size_t>(bytes / 8 + 8), -1234.5) {}
  void *get() {
    auto address = reinterpret_cast<uintptr_t>(storage_.data());
    return reinterpret_cast<void *>((address + 63) / 64 * 64);
  }

private:
  std::vector<double> storage_;
};

/// A fresh workspace of channelStatisticsScratchBytes(n, c, hw).
struct ChannelScratch : Scratch {
  ChannelScratch(int64_t n, int64_t c, int64_t hw)
      : Scratch(kernels::channelStatisticsScratchBytes(n, c, hw)) {}
};

/// The workspace of a multi-tensor update of `segments`.
Scratch optimizerScratch(const std::vector<OptimizerSegment> &segments) {
  int64_t chunks = 0;
  for (const OptimizerSegment &segment : segments)
    chunks += kernels::optimizerChunks(segment.size);
  return Scratch(kernels::optimizerScratchBytes(
      static_cast<int64_t>(segments.size()), chunks));
}

/// relu(v), as the fused epilogues the generator emits.
float reluF(float v) { return v < 0.0f ? 0.0f : v; }

/// Runs `fn` with 1, 2 and 7 OpenMP threads and expects the outputs it
/// returns to be bit-identical.
void expectThreadCountInvariant(const std::function<Floats()> &fn,
                                const char *what) {
  int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  Floats one = fn();
  for (int threads : {2, 7}) {
    omp_set_num_threads(threads);
    expectBitIdentical(one, fn(), what);
  }
  omp_set_num_threads(saved);
}

/// [n, c, hw] shapes covering 2-D input, odd sizes and several reduction
/// blocks (rowsPerBlock(1000) = 4 rows; rowsPerBlock(1) = 4096 rows).
struct ChannelShape {
  int64_t n, c, h, w; // h == 0: a 2-D [n, c] tensor.
  int64_t hw() const { return h == 0 ? 1 : h * w; }
  int64_t size() const { return n * c * hw(); }
  std::vector<int64_t> shape() const {
    return h == 0 ? std::vector<int64_t>{n, c}
                  : std::vector<int64_t>{n, c, h, w};
  }
};
const ChannelShape kChannelShapes[] = {
    {5, 3, 7, 7}, {4, 16, 0, 0}, {9, 5, 25, 40}, {4500, 3, 0, 0}, {2, 1, 1, 3}};

//===----------------------------------------------------------------------===//
// Batch norm, bias, normalize
//===----------------------------------------------------------------------===//

TEST(CpuKernelBatchNormTest, TrainForwardMatchesReference) {
  std::mt19937_64 rng(1);
  for (const ChannelShape &s : kChannelShapes) {
    SCOPED_TRACE(::testing::Message() << "n=" << s.n << " c=" << s.c
                                      << " hw=" << s.hw());
    // An offset mean exercises the shifted one-pass statistics.
    Floats x = randomFloats(s.size(), rng, 2.0, 4.0);
    Floats gamma = randomFloats(s.c, rng, 0.5, 1.5);
    Floats beta = randomFloats(s.c, rng);
    auto expected = take(ref::batchNormTrain(
        toD(s.shape(), x), toD({s.c}, gamma), toD({s.c}, beta), 1e-5));
    Floats y(x.size()), mean(s.c), var(s.c);
    batchNormTrainForward<1>(s.n, s.c, s.hw(), Load{x.data()}, gamma.data(),
                             beta.data(), 1e-5, y.data(), mean.data(),
                             var.data(), ChannelScratch(s.n, s.c, s.hw()).get(),
                             Identity{});
    expectClose(mean, expected.batchMean.data, kDoubleSumTol, "batchMean");
    expectClose(var, expected.batchVar.data, kDoubleSumTol, "batchVar");
    expectClose(y, expected.y.data, kElementwiseTol, "y");
  }
}

TEST(CpuKernelBatchNormTest, TrainForwardFusesPrologueAndResidualReluEpilogue) {
  std::mt19937_64 rng(2);
  ChannelShape s{3, 4, 5, 3};
  Floats a = randomFloats(s.size(), rng), b = randomFloats(s.size(), rng);
  Floats res = randomFloats(s.size(), rng);
  Floats gamma = randomFloats(s.c, rng, 0.5, 1.5), beta = randomFloats(s.c, rng);
  // relu(bn(a + b) + res) by the reference.
  TensorD sum = take(ref::add(toD(s.shape(), a), toD(s.shape(), b)));
  auto bn = take(
      ref::batchNormTrain(sum, toD({s.c}, gamma), toD({s.c}, beta), 1e-5));
  TensorD expected =
      take(ref::relu(take(ref::add(bn.y, toD(s.shape(), res)))));
  Floats y(a.size()), mean(s.c), var(s.c);
  batchNormTrainForward<1>(
      s.n, s.c, s.hw(), [&](int64_t i) { return a[i] + b[i]; }, gamma.data(),
      beta.data(), 1e-5, y.data(), mean.data(), var.data(),
      ChannelScratch(s.n, s.c, s.hw()).get(),
      [&](int64_t i, float v) { return reluF(v + res[i]); });
  expectClose(y, expected.data, kElementwiseTol, "relu(bn(a+b)+res)");
  expectClose(var, bn.batchVar.data, kDoubleSumTol, "batchVar");
}

TEST(CpuKernelBatchNormTest, InferenceMatchesReference) {
  std::mt19937_64 rng(3);
  for (const ChannelShape &s : kChannelShapes) {
    Floats x = randomFloats(s.size(), rng);
    Floats gamma = randomFloats(s.c, rng), beta = randomFloats(s.c, rng);
    Floats rm = randomFloats(s.c, rng), rv = randomFloats(s.c, rng, 0.1, 2.0);
    TensorD expected = take(ref::batchNormInference(
        toD(s.shape(), x), toD({s.c}, gamma), toD({s.c}, beta), toD({s.c}, rm),
        toD({s.c}, rv), 1e-5));
    Floats y(x.size());
    batchNormInference<1>(s.n, s.c, s.hw(), Load{x.data()}, gamma.data(),
                       beta.data(), rm.data(), rv.data(), 1e-5, y.data(),
                       Scratch(kernels::batchNormInferenceScratchBytes(s.c)).get(),
                       [](int64_t, float v) { return reluF(v); });
    expectClose(y, take(ref::relu(expected)).data, kElementwiseTol, "y");
  }
}

TEST(CpuKernelBatchNormTest, TrainBackwardMatchesReferenceThroughReluMask) {
  std::mt19937_64 rng(4);
  for (const ChannelShape &s : kChannelShapes) {
    SCOPED_TRACE(::testing::Message() << "n=" << s.n << " c=" << s.c
                                      << " hw=" << s.hw());
    Floats x = randomFloats(s.size(), rng, -2.0, 3.0);
    Floats gamma = randomFloats(s.c, rng, 0.5, 1.5), beta = randomFloats(s.c, rng);
    Floats dy = randomFloats(s.size(), rng), yr = randomFloats(s.size(), rng);
    auto forward = take(ref::batchNormTrain(
        toD(s.shape(), x), toD({s.c}, gamma), toD({s.c}, beta), 1e-5));
    Floats mean = fromD(forward.batchMean), var = fromD(forward.batchVar);
    // The prologue is relu_backward(dy, yr), as a fused kernel reads it.
    TensorD maskedDy =
        take(ref::reluBackward(toD(s.shape(), dy), toD(s.shape(), yr)));
    auto expected = take(ref::batchNormTrainBackward(
        maskedDy, toD(s.shape(), x), toD({s.c}, gamma), toD({s.c}, mean),
        toD({s.c}, var), 1e-5));
    Floats dx(x.size()), dgamma(s.c), dbeta(s.c);
    batchNormTrainBackward<1>(
        s.n, s.c, s.hw(),
        [&](int64_t i) { return yr[i] > 0.0f ? dy[i] : 0.0f; }, x.data(),
        gamma.data(), mean.data(), var.data(), 1e-5, dx.data(), dgamma.data(),
        dbeta.data(), ChannelScratch(s.n, s.c, s.hw()).get(), Identity{});
    expectClose(dbeta, expected.dbeta.data, kDoubleSumTol, "dbeta");
    expectClose(dgamma, expected.dgamma.data, kElementwiseTol, "dgamma");
    expectClose(dx, expected.dx.data, kGradientTol, "dx");
  }
}

TEST(CpuKernelBatchNormTest, RunningStatsUpdateInPlace) {
  std::mt19937_64 rng(5);
  const int64_t c = 13, count = 6272;
  Floats rm = randomFloats(c, rng), rv = randomFloats(c, rng, 0.1, 2.0);
  Floats bm = randomFloats(c, rng), bv = randomFloats(c, rng, 0.1, 2.0);
  TensorD em = toD({c}, rm), ev = toD({c}, rv);
  ASSERT_TRUE(ref::runningStatsUpdate(em, ev, toD({c}, bm), toD({c}, bv),
                                      count, 0.1));
  runningStatsUpdate(c, rm.data(), rv.data(), bm.data(), bv.data(), 0.1, count,
                     rm.data(), rv.data());
  expectClose(rm, em.data, kElementwiseTol, "runningMean");
  expectClose(rv, ev.data, kElementwiseTol, "runningVar (unbiased)");
}

TEST(CpuKernelChannelTest, SumToChannelsMatchesReference) {
  std::mt19937_64 rng(6);
  for (const ChannelShape &s : kChannelShapes) {
    Floats x = randomFloats(s.size(), rng);
    TensorD expected = take(ref::sumToChannels(toD(s.shape(), x)));
    Floats y(s.c);
    sumToChannels<1>(s.n, s.c, s.hw(), Load{x.data()}, y.data(),
                     ChannelScratch(s.n, s.c, s.hw()).get(), Identity{});
    expectClose(y, expected.data, kDoubleSumTol, "sumToChannels");
  }
}

TEST(CpuKernelChannelTest, NormalizeChannelsAfterImageToFloat) {
  std::mt19937_64 rng(8);
  ChannelShape s{3, 3, 7, 5};
  std::vector<uint8_t> pixels(s.size());
  std::uniform_int_distribution<int> dist(0, 255);
  for (uint8_t &p : pixels)
    p = static_cast<uint8_t>(dist(rng));
  Floats pixelValues(pixels.begin(), pixels.end());
  std::vector<double> meanAttr = {0.4914, 0.4822, 0.4465};
  std::vector<double> stdAttr = {0.2470, 0.2435, 0.2616};
  // The f32 reference: it converts the attributes to float as the generator's
  // static arrays do, so the results agree exactly.
  TensorF asFloat = take(ref::imageToFloat(toF(s.shape(), pixelValues)));
  TensorF expected = take(ref::normalize(asFloat, meanAttr, stdAttr));
  Floats meanF(meanAttr.begin(), meanAttr.end());
  Floats stdF(stdAttr.begin(), stdAttr.end());
  Floats t(s.size()), y(s.size());
  imageToFloat(s.size(), pixels.data(), t.data(), Identity{});
  expectClose(t, asFloat.data, 0.0, "imageToFloat");
  normalizeChannels<1>(s.n, s.c, s.hw(), Load{t.data()}, meanF.data(),
                    stdF.data(), y.data(), Identity{});
  expectClose(y, expected.data, 0.0, "normalize");
}

//===----------------------------------------------------------------------===//
// Channel-blocked layouts (X = 8, 16: nChw8c / nChw16c)
//===----------------------------------------------------------------------===//

/// `plain` (NCHW values of an [n, c, h, w] tensor) in channel blocks of X.
Floats toBlocks(const ChannelShape &s, const Floats &plain, Layout layout) {
  return test::toLayout(plain, {s.n, s.c, s.h, s.w}, layout);
}
Floats fromBlocks(const ChannelShape &s, const Floats &laid, Layout layout) {
  return test::fromLayout(laid, {s.n, s.c, s.h, s.w}, layout);
}

/// Runs `check(layout, X)` for X = 8 and 16, the blocks of nChw8c/nChw16c.
template <typename F> void forEachBlockedLayout(F check) {
  check(Layout::kNChw8c, std::integral_constant<int64_t, 8>{});
  check(Layout::kNChw16c, std::integral_constant<int64_t, 16>{});
}

/// Multiples of 16 channels; 5 x 7 planes (odd); 9 rows of 64 elements span
/// three reduction blocks.
const ChannelShape kBlockedShapes[] = {{3, 16, 5, 7}, {9, 32, 8, 8}};

TEST(CpuKernelBlockedTest, BatchNormForwardWithPrologueAndEpilogue) {
  std::mt19937_64 rng(20);
  for (const ChannelShape &s : kBlockedShapes)
    forEachBlockedLayout([&](Layout layout, auto block) {
      constexpr int64_t X = decltype(block)::value;
      SCOPED_TRACE(::testing::Message() << layoutName(layout) << " c=" << s.c);
      Floats x = randomFloats(s.size(), rng, 1.0, 3.0);
      Floats res = randomFloats(s.size(), rng);
      Floats gamma = randomFloats(s.c, rng, 0.5, 1.5), beta = randomFloats(s.c, rng);
      auto bn = take(ref::batchNormTrain(take(ref::relu(toD(s.shape(), x))),
                                         toD({s.c}, gamma), toD({s.c}, beta),
                                         1e-5));
      TensorD expected =
          take(ref::relu(take(ref::add(bn.y, toD(s.shape(), res)))));
      Floats bx = toBlocks(s, x, layout), bres = toBlocks(s, res, layout);
      Floats y(x.size()), mean(s.c), var(s.c);
      batchNormTrainForward<X>(
          s.n, s.c, s.hw(), [&](int64_t i) { return reluF(bx[i]); },
          gamma.data(), beta.data(), 1e-5, y.data(), mean.data(), var.data(),
          ChannelScratch(s.n, s.c, s.hw()).get(),
          [&](int64_t i, float v) { return reluF(v + bres[i]); });
      expectClose(mean, bn.batchMean.data, kDoubleSumTol, "batchMean");
      expectClose(var, bn.batchVar.data, kDoubleSumTol, "batchVar");
      expectClose(fromBlocks(s, y, layout), expected.data, kElementwiseTol, "y");

      Floats rm = randomFloats(s.c, rng), rv = randomFloats(s.c, rng, 0.1, 2.0);
      TensorD inference = take(ref::batchNormInference(
          toD(s.shape(), x), toD({s.c}, gamma), toD({s.c}, beta),
          toD({s.c}, rm), toD({s.c}, rv), 1e-5));
      batchNormInference<X>(
          s.n, s.c, s.hw(), Load{bx.data()}, gamma.data(), beta.data(),
          rm.data(), rv.data(), 1e-5, y.data(),
          Scratch(kernels::batchNormInferenceScratchBytes(s.c)).get(),
          Identity{});
      expectClose(fromBlocks(s, y, layout), inference.data, kElementwiseTol,
                  "inference");
    });
}

TEST(CpuKernelBlockedTest, BatchNormBackwardAndChannelSums) {
  std::mt19937_64 rng(21);
  for (const ChannelShape &s : kBlockedShapes)
    forEachBlockedLayout([&](Layout layout, auto block) {
      constexpr int64_t X = decltype(block)::value;
      SCOPED_TRACE(::testing::Message() << layoutName(layout) << " c=" << s.c);
      Floats x = randomFloats(s.size(), rng, -2.0, 3.0);
      Floats dy = randomFloats(s.size(), rng), yr = randomFloats(s.size(), rng);
      Floats gamma = randomFloats(s.c, rng, 0.5, 1.5), beta = randomFloats(s.c, rng);
      auto forward = take(ref::batchNormTrain(
          toD(s.shape(), x), toD({s.c}, gamma), toD({s.c}, beta), 1e-5));
      Floats mean = fromD(forward.batchMean), var = fromD(forward.batchVar);
      TensorD maskedDy =
          take(ref::reluBackward(toD(s.shape(), dy), toD(s.shape(), yr)));
      auto expected = take(ref::batchNormTrainBackward(
          maskedDy, toD(s.shape(), x), toD({s.c}, gamma), toD({s.c}, mean),
          toD({s.c}, var), 1e-5));
      Floats bx = toBlocks(s, x, layout), bdy = toBlocks(s, dy, layout),
             byr = toBlocks(s, yr, layout);
      Floats dx(x.size()), dgamma(s.c), dbeta(s.c);
      batchNormTrainBackward<X>(
          s.n, s.c, s.hw(),
          [&](int64_t i) { return byr[i] > 0.0f ? bdy[i] : 0.0f; }, bx.data(),
          gamma.data(), mean.data(), var.data(), 1e-5, dx.data(),
          dgamma.data(), dbeta.data(), ChannelScratch(s.n, s.c, s.hw()).get(),
          Identity{});
      expectClose(dbeta, expected.dbeta.data, kDoubleSumTol, "dbeta");
      expectClose(dgamma, expected.dgamma.data, kElementwiseTol, "dgamma");
      expectClose(fromBlocks(s, dx, layout), expected.dx.data, kGradientTol,
                  "dx");

      Floats sums(s.c);
      sumToChannels<X>(s.n, s.c, s.hw(), Load{bx.data()}, sums.data(),
                       ChannelScratch(s.n, s.c, s.hw()).get(), Identity{});
      expectClose(sums, take(ref::sumToChannels(toD(s.shape(), x))).data,
                  kDoubleSumTol, "sumToChannels");
    });
}

TEST(CpuKernelBlockedTest, GlobalAvgPoolAndNormalize) {
  std::mt19937_64 rng(22);
  for (const ChannelShape &s : kBlockedShapes)
    forEachBlockedLayout([&](Layout layout, auto block) {
      constexpr int64_t X = decltype(block)::value;
      SCOPED_TRACE(::testing::Message() << layoutName(layout) << " c=" << s.c);
      Floats x = randomFloats(s.size(), rng);
      Floats bx = toBlocks(s, x, layout);
      Floats pooled(s.n * s.c);
      globalAvgPoolForward<X>(s.n, s.c, s.hw(), Load{bx.data()}, pooled.data(),
                              Identity{});
      expectClose(pooled, take(ref::globalAvgPool(toD(s.shape(), x))).data,
                  kDoubleSumTol, "global_avg_pool");

      Floats dy = randomFloats(s.n * s.c, rng), dx(x.size());
      globalAvgPoolBackward<X>(s.n, s.c, s.hw(), Load{dy.data()}, dx.data(),
                               Identity{});
      expectClose(fromBlocks(s, dx, layout),
                  take(ref::globalAvgPoolBackward(toF({s.n, s.c}, dy),
                                                  s.shape()))
                      .data,
                  0.0, "global_avg_pool_backward");

      std::vector<double> meanAttr(s.c), stdAttr(s.c);
      for (int64_t c = 0; c < s.c; ++c) {
        meanAttr[c] = 0.1 * static_cast<double>(c);
        stdAttr[c] = 0.5 + 0.01 * static_cast<double>(c);
      }
      Floats meanF(meanAttr.begin(), meanAttr.end());
      Floats stdF(stdAttr.begin(), stdAttr.end());
      Floats y(x.size());
      normalizeChannels<X>(s.n, s.c, s.hw(), Load{bx.data()}, meanF.data(),
                           stdF.data(), y.data(), Identity{});
      expectClose(fromBlocks(s, y, layout),
                  take(ref::normalize(toF(s.shape(), x), meanAttr, stdAttr)).data,
                  0.0, "normalize");
    });
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

struct PoolCase {
  int64_t n, c, h, w, kh, kw, sh, sw, ph, pw;
};
const PoolCase kPoolCases[] = {{2, 3, 7, 7, 3, 3, 2, 2, 1, 1},
                               {1, 2, 8, 9, 2, 2, 2, 2, 0, 0},
                               {2, 1, 6, 5, 3, 3, 1, 1, 1, 1},
                               {1, 2, 5, 8, 3, 2, 2, 3, 1, 1}};

TEST(CpuKernelPoolTest, MaxPoolMatchesReferenceExactlyWithTiesAndNaN) {
  std::mt19937_64 rng(9);
  std::uniform_int_distribution<int> level(-3, 3);
  for (const PoolCase &p : kPoolCases) {
    // Few distinct values: many ties, which must resolve to the first.
    Floats x(p.n * p.c * p.h * p.w);
    for (float &v : x)
      v = static_cast<float>(level(rng));
    x[5] = std::numeric_limits<float>::quiet_NaN();
    ref::Pool2dOptions options;
    options.kernel = {p.kh, p.kw};
    options.stride = {p.sh, p.sw};
    options.padding = {p.ph, p.pw};
    TensorF xt = toF({p.n, p.c, p.h, p.w}, x);
    TensorF expected = take(ref::maxPool2d(xt, options));
    Floats y(expected.data.size());
    maxPool2dForward(p.n, p.c, p.h, p.w, p.kh, p.kw, p.sh, p.sw, p.ph, p.pw,
                     x.data(), y.data());
    expectClose(y, expected.data, 0.0, "maxPool2d");

    Floats dy = randomFloats(y.size(), rng);
    TensorF expectedDx =
        take(ref::maxPool2dBackward(toF(expected.shape, dy), xt, options));
    Floats dx(x.size());
    maxPool2dBackward(p.n, p.c, p.h, p.w, p.kh, p.kw, p.sh, p.sw, p.ph, p.pw,
                      dy.data(), x.data(), dx.data());
    // Same routing and the same f32 accumulation order: exact.
    expectClose(dx, expectedDx.data, 0.0, "maxPool2dBackward");
  }
}

TEST(CpuKernelPoolTest, GlobalAvgPoolForwardAndBackward) {
  std::mt19937_64 rng(10);
  const int64_t n = 5, c = 3, h = 7, w = 7;
  Floats x = randomFloats(n * c * h * w, rng), bias = randomFloats(n * c, rng);
  TensorD pooled = take(ref::globalAvgPool(toD({n, c, h, w}, x)));
  Floats y(n * c);
  globalAvgPoolForward<1>(n, c, h * w, Load{x.data()}, y.data(),
                       [&](int64_t i, float v) { return v + bias[i]; });
  TensorD expected = take(ref::add(pooled, toD({n, c}, bias)));
  expectClose(y, expected.data, kElementwiseTol, "gap + bias");

  Floats dy = randomFloats(n * c, rng), mask = randomFloats(x.size(), rng);
  TensorF expectedDx =
      take(ref::globalAvgPoolBackward(toF({n, c}, dy), {n, c, h, w}));
  Floats dx(x.size());
  globalAvgPoolBackward<1>(n, c, h * w, Load{dy.data()}, dx.data(),
                        [&](int64_t i, float v) {
                          return mask[i] > 0.0f ? v : 0.0f;
                        });
  std::vector<float> want = expectedDx.data;
  for (size_t i = 0; i < want.size(); ++i)
    want[i] = mask[i] > 0.0f ? want[i] : 0.0f;
  // The f32 reference divides the same values: exact.
  expectClose(dx, want, 0.0, "gap backward, masked");
}

//===----------------------------------------------------------------------===//
// L2 normalization and NT-Xent
//===----------------------------------------------------------------------===//

TEST(CpuKernelLossTest, L2NormalizeForwardAndBackward) {
  std::mt19937_64 rng(11);
  const int64_t rows = 5, cols = 7;
  Floats x = randomFloats(rows * cols, rng);
  std::fill(x.begin() + 2 * cols, x.begin() + 3 * cols, 0.0f); // clamped row
  Floats dy = randomFloats(x.size(), rng);
  TensorD expectedY = take(ref::l2Normalize(toD({rows, cols}, x), 1e-12));
  TensorD expectedDx = take(ref::l2NormalizeBackward(
      toD({rows, cols}, dy), toD({rows, cols}, x), 1e-12));
  Floats y(x.size()), dx(x.size());
  l2NormalizeForward(rows, cols, 1e-12, Load{x.data()}, y.data(), Identity{});
  l2NormalizeBackward(rows, cols, 1e-12, Load{dy.data()}, x.data(), dx.data(),
                      Identity{});
  expectClose(y, expectedY.data, kElementwiseTol, "l2Normalize");
  // The clamped row's gradient is dy / 1e-12 (~1e12); the scale floor of
  // expectClose would hide the other rows' errors, so check them apart.
  Floats dxRows(dx), dxWant(fromD(expectedDx));
  for (int64_t j = 0; j < cols; ++j) {
    EXPECT_FLOAT_EQ(dx[2 * cols + j], dxWant[2 * cols + j]);
    dxRows[2 * cols + j] = dxWant[2 * cols + j] = 0.0f;
  }
  expectClose(dxRows, std::vector<float>(dxWant), kElementwiseTol,
              "l2NormalizeBackward");
}

struct NtXentCase {
  int64_t rows2N, dim;
  double temperature;
  /// Spread of the embeddings around a shared direction: small values make
  /// all rows alike (similarities near 1/temperature: large logits).
  double spread;
};
const NtXentCase kNtXentCases[] = {
    {4, 3, 0.5, 1.0}, {10, 7, 0.1, 1.0}, {64, 128, 0.05, 1.0},
    {32, 16, 0.05, 0.05}};

Floats ntXentEmbeddings(const NtXentCase &c, std::mt19937_64 &rng) {
  Floats direction = randomFloats(c.dim, rng);
  Floats z = randomFloats(c.rows2N * c.dim, rng, -c.spread, c.spread);
  for (int64_t i = 0; i < c.rows2N; ++i)
    for (int64_t d = 0; d < c.dim; ++d)
      z[i * c.dim + d] += direction[d];
  return z;
}

TEST(CpuKernelLossTest, NtXentForwardBackwardAndFusedMatchReference) {
  std::mt19937_64 rng(12);
  for (const NtXentCase &c : kNtXentCases) {
    SCOPED_TRACE(::testing::Message() << "2N=" << c.rows2N << " D=" << c.dim
                                      << " t=" << c.temperature);
    Floats z = ntXentEmbeddings(c, rng);
    TensorD zd = toD({c.rows2N, c.dim}, z);
    const float dloss = 0.75f;
    double expectedLoss = take(ref::ntXent(zd, c.temperature)).data[0];
    TensorD expectedDz = take(ref::ntXentBackward(
        TensorD::scalar(dloss), zd, c.temperature));

    Floats loss(1), fusedLoss(1), dz(z.size()), fusedDz(z.size());
    const int64_t bytes = kernels::ntXentScratchBytes(c.rows2N, c.dim);
    ntXentForward(c.rows2N, c.dim, z.data(), c.temperature, loss.data(),
                  Scratch(bytes).get());
    ntXentBackward(c.rows2N, c.dim, &dloss, z.data(), c.temperature, dz.data(),
                   Scratch(bytes).get());
    ntXentForwardBackward(c.rows2N, c.dim, z.data(), c.temperature, &dloss,
                          fusedLoss.data(), fusedDz.data(),
                          Scratch(bytes).get());
    expectClose(loss, std::vector<double>{expectedLoss}, kNtXentLossTol,
                "loss");
    expectClose(dz, expectedDz.data, kGradientTol, "dz");
    expectBitIdentical(loss, fusedLoss, "fused loss == forward loss");
    expectBitIdentical(dz, fusedDz, "fused dz == backward dz");
  }
}

TEST(CpuKernelLossTest, NtXentPrimitivesMatchReference) {
  std::mt19937_64 rng(13);
  const int64_t m = 10;
  const double scale = 1.0 / 0.07;
  Floats s = randomFloats(m * m, rng), dout = randomFloats(m * m, rng);
  TensorD expectedOut = take(ref::maskedScaledLogSoftmax(toD({m, m}, s), scale));
  Floats out(m * m);
  maskedScaledLogSoftmaxForward(m, Load{s.data()}, scale, out.data(),
                                Identity{});
  expectClose(out, expectedOut.data, kElementwiseTol, "masked log-softmax");

  // Backward with the prologue gather_positives_backward(dv) + dout.
  Floats dv = randomFloats(m, rng);
  TensorD scattered = take(ref::gatherPositivesBackward(toD({m}, dv)));
  TensorD upstream = take(ref::add(scattered, toD({m, m}, dout)));
  TensorD expectedDs = take(ref::maskedScaledLogSoftmaxBackward(
      upstream, toD({m, m}, out), scale));
  Floats dm(m * m);
  gatherPositivesBackward(m, Load{dv.data()}, dm.data(),
                          [&](int64_t i, float v) { return v + dout[i]; });
  expectClose(dm, upstream.data, kElementwiseTol, "gather backward + dout");
  Floats ds(m * m);
  maskedScaledLogSoftmaxBackward(m, Load{dm.data()}, out.data(), scale,
                                 ds.data(), Identity{});
  expectClose(ds, expectedDs.data, kGradientTol, "masked log-softmax backward");

  Floats v(m);
  gatherPositivesForward(m, Load{out.data()}, v.data(),
                         [](int64_t, float x) { return -x; });
  TensorD positives = take(ref::gatherPositives(toD({m, m}, out)));
  expectClose(v, fromD(ref::scale(positives, -1.0)), 0.0, "-gather_positives");

  // reduce_mean over several blocks, and its adjoint.
  const int64_t count = 3 * kernels::kReduceBlockElements + 17;
  Floats x = randomFloats(count, rng);
  Floats mean(1);
  reduceMeanForward(count, Load{x.data()}, mean.data(),
                    Scratch(kernels::reduceScratchBytes(count)).get(),
                    [](int64_t, float value) { return -value; });
  double expectedMean = take(ref::reduceMean(toD({count}, x))).data[0];
  expectClose(mean, std::vector<double>{-expectedMean}, kDoubleSumTol,
              "-reduce_mean");
  float dy = 0.5f;
  Floats dx(count);
  reduceMeanBackward(count, &dy, dx.data(), Identity{});
  TensorF expectedDx = take(ref::reduceMeanBackward(TensorF::scalar(dy), {count}));
  expectClose(dx, expectedDx.data, 0.0, "reduce_mean backward");
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

TEST(CpuKernelDataMovementTest, BroadcastSliceConcatMatchReferenceExactly) {
  std::mt19937_64 rng(14);
  float scalar = 0.25f;
  Floats b(37);
  broadcastTo(37, &scalar, b.data(), [](int64_t i, float v) {
    return v * static_cast<float>(i);
  });
  TensorF expectedB = take(ref::broadcast(TensorF::scalar(scalar), {37}));
  for (size_t i = 0; i < b.size(); ++i)
    EXPECT_EQ(b[i], expectedB.data[i] * static_cast<float>(i));

  // [2, 5, 3, 4] sliced and concatenated along each dim.
  std::vector<int64_t> shape = {2, 5, 3, 4};
  Floats x = randomFloats(2 * 5 * 3 * 4, rng);
  TensorF xt = toF(shape, x);
  for (int64_t dim = 0; dim < 4; ++dim) {
    SCOPED_TRACE(::testing::Message() << "dim " << dim);
    int64_t outer = 1, inner = 1;
    for (int64_t a = 0; a < dim; ++a)
      outer *= shape[a];
    for (int64_t a = dim + 1; a < 4; ++a)
      inner *= shape[a];
    const int64_t extent = shape[dim], offset = 1, size = extent - 1;
    TensorF expected = take(ref::slice(xt, dim, offset, size));
    Floats y(expected.data.size());
    sliceCopy(outer, extent, inner, offset, size, Load{x.data()}, y.data(),
              Identity{});
    expectClose(y, expected.data, 0.0, "slice");

    TensorF head = take(ref::slice(xt, dim, 0, 1));
    TensorF joined = take(ref::concat<float>({&head, &expected, &xt}, dim));
    Floats out(joined.data.size());
    const int64_t dstDim = 1 + size + extent;
    concatCopy(outer, dstDim, inner, 0, 1, Load{head.data.data()}, out.data(),
               Identity{});
    concatCopy(outer, dstDim, inner, 1, size, Load{y.data()}, out.data(),
               Identity{});
    concatCopy(outer, dstDim, inner, 1 + size, extent, Load{x.data()},
               out.data(), Identity{});
    expectClose(out, joined.data, 0.0, "concat");
  }
}

//===----------------------------------------------------------------------===//
// Optimizers and schedule
//===----------------------------------------------------------------------===//

TEST(CpuKernelOptimizerTest, LrWarmupCosineIsTheReferenceInF32) {
  for (int64_t step : {0, 1, 5, 9, 10, 11, 50, 99, 100, 150}) {
    EXPECT_EQ(lrWarmupCosine(step, 1.2, 0.01, 10, 100),
              static_cast<float>(
                  take(ref::lrWarmupCosine(step, 1.2, 0.01, 10, 100))))
        << "step " << step;
  }
  EXPECT_EQ(lrWarmupCosine(7, 0.3, 0.0, 5, 5), 0.3f) << "no decay phase";
}

/// Parameter tensors of one multi-tensor update: sizes from a single element
/// to several chunks, alternating layer adaptation (weights) and exclusion
/// (biases / batch norm).
struct OptimizerFixture {
  std::vector<Floats> params, grads, state0, state1;
  std::vector<double> weightDecay;
  std::vector<int> flags;
  explicit OptimizerFixture(std::mt19937_64 &rng) {
    const int64_t sizes[] = {1, 7, 135, 3 * kernels::kOptimizerChunkElements + 5,
                             64};
    for (size_t s = 0; s < std::size(sizes); ++s) {
      params.push_back(randomFloats(sizes[s], rng));
      grads.push_back(randomFloats(sizes[s], rng, -0.1, 0.1));
      state0.push_back(randomFloats(sizes[s], rng, -0.01, 0.01));
      state1.push_back(randomFloats(sizes[s], rng, 0.0, 0.001));
      bool adapted = s % 2 == 0;
      flags.push_back(adapted ? kOptimizerLayerAdaptation : 0);
      weightDecay.push_back(adapted ? 1e-4 * static_cast<double>(s + 1) : 0.0);
    }
  }
  std::vector<OptimizerSegment> segments() {
    std::vector<OptimizerSegment> segs;
    for (size_t s = 0; s < params.size(); ++s)
      segs.push_back({params[s].data(), grads[s].data(), state0[s].data(),
                      state1[s].data(), static_cast<int64_t>(params[s].size()),
                      weightDecay[s], flags[s]});
    return segs;
  }
  Floats flattened() const {
    Floats all;
    for (size_t s = 0; s < params.size(); ++s) {
      all.insert(all.end(), params[s].begin(), params[s].end());
      all.insert(all.end(), state0[s].begin(), state0[s].end());
      all.insert(all.end(), state1[s].begin(), state1[s].end());
    }
    return all;
  }
};

TEST(CpuKernelOptimizerTest, MultiTensorUpdatesMatchReferenceOverThreeSteps) {
  std::mt19937_64 rng(15);
  OptimizerFixture adam(rng), sgd(rng), lars(rng);
  std::vector<std::vector<TensorF>> adamRef(adam.params.size()),
      sgdRef(sgd.params.size());
  std::vector<std::vector<TensorD>> larsRef(lars.params.size());
  for (size_t s = 0; s < adam.params.size(); ++s) {
    std::vector<int64_t> shape = {static_cast<int64_t>(adam.params[s].size())};
    adamRef[s] = {toF(shape, adam.params[s]), toF(shape, adam.state0[s]),
                  toF(shape, adam.state1[s])};
    sgdRef[s] = {toF(shape, sgd.params[s]), toF(shape, sgd.state0[s])};
    larsRef[s] = {toD(shape, lars.params[s]), toD(shape, lars.state0[s])};
  }
  std::vector<OptimizerSegment> adamSegs = adam.segments(),
                                sgdSegs = sgd.segments(),
                                larsSegs = lars.segments();
  const int64_t count = static_cast<int64_t>(adamSegs.size());
  for (int64_t step = 0; step < 3; ++step) {
    float lr = lrWarmupCosine(step, 0.5, 0.0, 1, 10);
    if (step == 0)
      lr = 0.1f; // warm-up gives 0 at step 0, which would test nothing.
    adamWUpdateAll(adamSegs.data(), count, lr, step, 0.9, 0.999, 1e-8,
                   optimizerScratch(adamSegs).get());
    sgdUpdateAll(sgdSegs.data(), count, lr, 0.9,
                 optimizerScratch(sgdSegs).get());
    larsUpdateAll(larsSegs.data(), count, lr, 0.9, 1e-3,
                  optimizerScratch(larsSegs).get());
    for (size_t s = 0; s < adamRef.size(); ++s) {
      std::vector<int64_t> shape = adamRef[s][0].shape;
      ref::AdamWOptions adamOptions{lr, 0.9, 0.999, 1e-8, adam.weightDecay[s]};
      // The reference's step is 1-based; the op's (and ours) 0-based.
      ASSERT_TRUE(ref::adamWStep(adamRef[s][0], toF(shape, adam.grads[s]),
                                 adamRef[s][1], adamRef[s][2], step + 1,
                                 adamOptions));
      ref::SgdOptions sgdOptions{lr, 0.9, sgd.weightDecay[s]};
      ASSERT_TRUE(ref::sgdStep(sgdRef[s][0], toF(shape, sgd.grads[s]),
                               sgdRef[s][1], sgdOptions));
      ref::LarsOptions larsOptions{lr, 0.9, lars.weightDecay[s], 1e-3,
                                   lars.flags[s] != 0};
      ASSERT_TRUE(ref::larsStep(larsRef[s][0], toD(shape, lars.grads[s]),
                                larsRef[s][1], larsOptions));
    }
  }
  for (size_t s = 0; s < adamRef.size(); ++s) {
    SCOPED_TRACE(::testing::Message() << "segment " << s);
    expectClose(adam.params[s], adamRef[s][0].data, kOptimizerTol, "adam p");
    expectClose(adam.state0[s], adamRef[s][1].data, kOptimizerTol, "adam m");
    expectClose(adam.state1[s], adamRef[s][2].data, kOptimizerTol, "adam v");
    expectClose(sgd.params[s], sgdRef[s][0].data, kOptimizerTol, "sgd p");
    expectClose(sgd.state0[s], sgdRef[s][1].data, kOptimizerTol, "sgd buf");
    expectClose(lars.params[s], larsRef[s][0].data, kLarsTol, "lars p");
    expectClose(lars.state0[s], larsRef[s][1].data, kLarsTol, "lars v");
  }
}

//===----------------------------------------------------------------------===//
// Determinism across thread counts
//===----------------------------------------------------------------------===//

TEST(CpuKernelDeterminismTest, ReductionsAreBitIdenticalFor1_2_7Threads) {
  std::mt19937_64 rng(16);
  ChannelShape s{9, 5, 25, 40}; // 3 reduction blocks per channel
  Floats x = randomFloats(s.size(), rng, 1.0, 3.0);
  Floats dy = cancellingFloats(s.size(), rng);
  Floats gamma = randomFloats(s.c, rng), beta = randomFloats(s.c, rng);
  Floats mean = randomFloats(s.c, rng, 1.0, 3.0);
  Floats var = randomFloats(s.c, rng, 0.5, 2.0);
  expectThreadCountInvariant(
      [&] {
        Floats y(x.size()), out(2 * s.c);
        batchNormTrainForward<1>(s.n, s.c, s.hw(), Load{x.data()},
                                 gamma.data(), beta.data(), 1e-5, y.data(),
                                 out.data(), out.data() + s.c,
                                 ChannelScratch(s.n, s.c, s.hw()).get(),
                                 Identity{});
        y.insert(y.end(), out.begin(), out.end());
        return y;
      },
      "batch norm forward");
  expectThreadCountInvariant(
      [&] {
        Floats dx(x.size()), out(2 * s.c);
        batchNormTrainBackward<1>(s.n, s.c, s.hw(), Load{dy.data()}, x.data(),
                                  gamma.data(), mean.data(), var.data(), 1e-5,
                                  dx.data(), out.data(), out.data() + s.c,
                                  ChannelScratch(s.n, s.c, s.hw()).get(),
                                  Identity{});
        dx.insert(dx.end(), out.begin(), out.end());
        return dx;
      },
      "batch norm backward");
  ChannelShape blocked{9, 16, 25, 40};
  Floats bx = randomFloats(blocked.size(), rng, 1.0, 3.0);
  Floats bgamma = randomFloats(blocked.c, rng), bbeta = randomFloats(blocked.c, rng);
  expectThreadCountInvariant(
      [&] {
        Floats y(bx.size()), out(2 * blocked.c);
        batchNormTrainForward<8>(
            blocked.n, blocked.c, blocked.hw(), Load{bx.data()}, bgamma.data(),
            bbeta.data(), 1e-5, y.data(), out.data(), out.data() + blocked.c,
            ChannelScratch(blocked.n, blocked.c, blocked.hw()).get(),
            Identity{});
        y.insert(y.end(), out.begin(), out.end());
        return y;
      },
      "batch norm forward, nChw8c");
  Floats wide = cancellingFloats(4500 * 3, rng);
  expectThreadCountInvariant(
      [&] {
        Floats y(s.c + 3);
        sumToChannels<1>(s.n, s.c, s.hw(), Load{dy.data()}, y.data(),
                         ChannelScratch(s.n, s.c, s.hw()).get(), Identity{});
        sumToChannels<1>(4500, 3, 1, Load{wide.data()}, y.data() + s.c,
                         ChannelScratch(4500, 3, 1).get(), Identity{});
        return y;
      },
      "sum_to_channels");
  expectThreadCountInvariant(
      [&] {
        Floats y(s.n * s.c + 1);
        globalAvgPoolForward<1>(s.n, s.c, s.hw(), Load{x.data()}, y.data(),
                                Identity{});
        reduceMeanForward(s.size(), Load{dy.data()}, y.data() + s.n * s.c,
                          Scratch(kernels::reduceScratchBytes(s.size())).get(),
                          Identity{});
        return y;
      },
      "global_avg_pool, reduce_mean");
  NtXentCase c{64, 128, 0.05, 1.0};
  Floats z = ntXentEmbeddings(c, rng);
  expectThreadCountInvariant(
      [&] {
        const float dloss = 1.0f;
        Floats out(1 + z.size());
        ntXentForwardBackward(
            c.rows2N, c.dim, z.data(), c.temperature, &dloss, out.data(),
            out.data() + 1,
            Scratch(kernels::ntXentScratchBytes(c.rows2N, c.dim)).get());
        return out;
      },
      "nt_xent forward-backward");
  PoolCase p{2, 3, 7, 7, 3, 3, 1, 1, 1, 1};
  Floats px = randomFloats(p.n * p.c * p.h * p.w, rng);
  Floats pdy = randomFloats(px.size(), rng);
  expectThreadCountInvariant(
      [&] {
        Floats dx(px.size());
        maxPool2dBackward(p.n, p.c, p.h, p.w, p.kh, p.kw, p.sh, p.sw, p.ph,
                          p.pw, pdy.data(), px.data(), dx.data());
        return dx;
      },
      "max_pool2d backward");
  std::mt19937_64 fixtureRng(17);
  const OptimizerFixture initial(fixtureRng);
  expectThreadCountInvariant(
      [&] {
        OptimizerFixture lars = initial;
        std::vector<OptimizerSegment> segs = lars.segments();
        larsUpdateAll(segs.data(), static_cast<int64_t>(segs.size()), 0.3f,
                      0.9, 1e-3, optimizerScratch(segs).get());
        return lars.flattened();
      },
      "LARS");
}

} // namespace
} // namespace simclr::cpu
