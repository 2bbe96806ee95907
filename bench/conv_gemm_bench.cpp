//===- conv_gemm_bench.cpp - CPU convolution and GEMM implementations -----===//
//
// Measures which CPU implementation simclrc's convolutions and matrix
// products should use (issue 4's code generator follows the result): float32
// forward, backward-data and backward-weights convolutions of the two default
// specs' encoders, and the GEMMs of the projection head and NT-Xent, each run
// by
//  - a direct loop nest compiled -O3 -march=native (what a naive generated
//    kernel is: OpenMP over independent outputs, vectorized by the compiler),
//  - im2col plus OpenBLAS sgemm, and plus BLIS sgemm (per image, as Caffe),
//  - oneDNN convolution primitives: formats of oneDNN's choice (primitive
//    only), the same with reorders from and to NCHW inside the timing (the
//    generated code holds NCHW buffers), and with plain NCHW/OIHW memory,
//  - for GEMMs: OpenBLAS, BLIS, oneDNN's dnnl_sgemm and a plain loop.
// Each library is optional (CMake defines SIMCLR_BENCH_HAVE_*). Every
// implementation's three outputs are checked, at a batch of --check-batch and
// with the thread count being timed, against lib/Reference's float kernels;
// a mismatch marks the row FAIL and the exit status 1.
// Figures are GFLOP/s = 2 * MACs / median time, and a fraction of the FMA
// peak measured here by independent FMA chains. Not a test: docs/benchmarks.md
// records its output and command.
//
//===----------------------------------------------------------------------===//
#include "fma_peak.h"
#include "simclr/Reference/Kernels.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <immintrin.h>
#include <memory>
#include <random>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <unordered_map>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef SIMCLR_BENCH_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef SIMCLR_BENCH_HAVE_BLIS
#include <blis.h>
#endif
#ifdef SIMCLR_BENCH_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace {

namespace ref = simclr::ref;
using Clock = std::chrono::steady_clock;

/// Largest |impl - ref| / max |ref| accepted. Float32 dot products of at most
/// 4,608 terms (512 channels x 3x3) differ from another summation order by
/// about sqrt(K) * 2^-24 = 4e-6 of the output scale; an indexing bug is O(1).
constexpr double kMaxRelativeError = 1e-3;
/// Each timing repeats the op until it lasts this long, so that millisecond
/// ops are not timer noise.
constexpr double kMinTimingSeconds = 0.02;
/// Ops whose warm-up call takes longer than this (the direct loops on the
/// CIFAR shapes) get at most kSlowRepeats timings, to bound the run time.
constexpr double kSlowSeconds = 0.5;
constexpr int kSlowRepeats = 3;

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

struct Options {
  std::vector<int> threads = {1, 2};
  int repeats = 5;
  int64_t cifarBatch = 128;
  int64_t checkBatch = 4;
  std::string filter;
};

void printHelp() {
  std::printf(
      "usage: simclr-conv-gemm-bench [--threads 1,2] [--repeats N]\n"
      "         [--cifar-batch N] [--check-batch N] [--filter TEXT]\n"
      "Times float32 convolutions (forward, backward data, backward weights)\n"
      "and GEMMs of simclrc's default specs with every available CPU\n"
      "implementation; checks each against lib/Reference. --filter keeps\n"
      "rows whose shape or implementation name contains TEXT.\n");
}

bool parseOptions(int argc, char **argv, Options &options) {
  auto fail = [](const std::string &message) {
    std::fprintf(stderr, "simclr-conv-gemm-bench: error: %s\n",
                 message.c_str());
    return false;
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      printHelp();
      std::exit(0);
    }
    if (i + 1 >= argc)
      return fail(arg + " needs a value");
    std::string value = argv[++i];
    if (arg == "--threads") {
      options.threads.clear();
      for (size_t pos = 0; pos <= value.size();
           pos = value.find(',', pos) + 1) {
        options.threads.push_back(std::atoi(value.c_str() + pos));
        if (options.threads.back() < 1)
          return fail("--threads takes positive counts, e.g. 1,2");
        if (value.find(',', pos) == std::string::npos)
          break;
      }
    } else if (arg == "--repeats") {
      options.repeats = std::atoi(value.c_str());
    } else if (arg == "--cifar-batch") {
      options.cifarBatch = std::atoll(value.c_str());
    } else if (arg == "--check-batch") {
      options.checkBatch = std::atoll(value.c_str());
    } else if (arg == "--filter") {
      options.filter = value;
    } else {
      return fail("unknown flag " + arg + " (see --help)");
    }
  }
  if (options.repeats < 1 || options.cifarBatch < 1 || options.checkBatch < 1)
    return fail("--repeats, --cifar-batch and --check-batch must be >= 1");
  return true;
}

//===----------------------------------------------------------------------===//
// Threads, timing, FMA peak
//===----------------------------------------------------------------------===//

/// Sets every library's thread count to `threads` and prints what each then
/// reports (cpu/wall in the tables shows how many were busy).
void setThreads(int threads) {
#ifdef _OPENMP
  omp_set_num_threads(threads); // direct loops, im2col, oneDNN (OMP runtime)
  std::printf("  OpenMP max threads (direct, im2col, oneDNN): %d\n",
              omp_get_max_threads());
#endif
#ifdef SIMCLR_BENCH_HAVE_OPENBLAS
  openblas_set_num_threads(threads);
  std::printf("  OpenBLAS threads: %d\n", openblas_get_num_threads());
#endif
#ifdef SIMCLR_BENCH_HAVE_BLIS
  bli_thread_set_num_threads(threads);
  std::printf("  BLIS threads: %ld\n",
              static_cast<long>(bli_thread_get_num_threads()));
#endif
}

double cpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         1e-6 * (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

struct Timing {
  double seconds;    // median per call
  double cpuPerWall; // process CPU time / wall time: threads actually busy
};

/// Median over `repeats` timings of `fn`, each repeating it until
/// kMinTimingSeconds have passed (count fixed after one warm-up call); slow
/// ops get at most kSlowRepeats.
Timing timeMedian(const std::function<void()> &fn, int repeats) {
  auto start = Clock::now();
  fn();
  double warm = std::chrono::duration<double>(Clock::now() - start).count();
  int calls = std::max(
      1, static_cast<int>(std::ceil(kMinTimingSeconds / std::max(warm, 1e-9))));
  if (warm > kSlowSeconds)
    repeats = std::min(repeats, kSlowRepeats);
  std::vector<double> samples;
  double cpuStart = cpuSeconds();
  auto wallStart = Clock::now();
  for (int r = 0; r < repeats; ++r) {
    auto t0 = Clock::now();
    for (int c = 0; c < calls; ++c)
      fn();
    samples.push_back(std::chrono::duration<double>(Clock::now() - t0).count() /
                      calls);
  }
  double wall = std::chrono::duration<double>(Clock::now() - wallStart).count();
  double cpu = cpuSeconds() - cpuStart;
  std::sort(samples.begin(), samples.end());
  return {samples[samples.size() / 2], cpu / wall};
}


//===----------------------------------------------------------------------===//
// Shapes and data
//===----------------------------------------------------------------------===//

struct ConvShape {
  std::string name;
  int64_t n, c, h, w, f, k, stride, pad;
  /// How often the train step runs this shape (0: not part of a total).
  int perStep;
  /// False for the stem: the image needs no gradient.
  bool needsBackwardData;
  int64_t oh() const { return (h + 2 * pad - k) / stride + 1; }
  int64_t ow() const { return (w + 2 * pad - k) / stride + 1; }
  double flops() const { return 2.0 * n * f * oh() * ow() * c * k * k; }
};

enum class ConvOp { kForward, kBackwardData, kBackwardWeights };
constexpr ConvOp kConvOps[] = {ConvOp::kForward, ConvOp::kBackwardData,
                               ConvOp::kBackwardWeights};
const char *opName(ConvOp op) {
  static const char *const kNames[] = {"fwd", "bwd-data", "bwd-weights"};
  return kNames[static_cast<int>(op)];
}

/// NCHW input x, OIHW weights w and NCHW output gradient dy, uniform in
/// [-1, 1] from a fixed seed.
struct ConvData {
  std::vector<float> x, w, dy;
};

std::vector<float> randomVector(size_t count, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(count);
  for (float &e : v)
    e = dist(gen);
  return v;
}

ConvData makeData(const ConvShape &s) {
  return {randomVector(s.n * s.c * s.h * s.w, 1),
          randomVector(s.f * s.c * s.k * s.k, 2),
          randomVector(s.n * s.f * s.oh() * s.ow(), 3)};
}

/// lib/Reference's float kernels on `d`: y, dx, dw.
std::vector<std::vector<float>> referenceConv(const ConvShape &s,
                                              const ConvData &d) {
  ref::Tensor<float> x({s.n, s.c, s.h, s.w}, d.x);
  ref::Tensor<float> w({s.f, s.c, s.k, s.k}, d.w);
  ref::Tensor<float> dy({s.n, s.f, s.oh(), s.ow()}, d.dy);
  ref::Conv2dOptions options;
  options.stride = {s.stride, s.stride};
  options.padding = {s.pad, s.pad};
  auto y = ref::conv2d<float>(x, w, nullptr, options);
  auto grads = ref::conv2dBackward<float>(dy, x, w, false, options);
  if (!y || !grads) {
    std::fprintf(stderr, "simclr-conv-gemm-bench: reference failed on %s\n",
                 s.name.c_str());
    std::exit(1);
  }
  return {y->data, grads->dx.data, grads->dw.data};
}

double relativeError(const std::vector<float> &got,
                     const std::vector<float> &want) {
  if (got.size() != want.size())
    return INFINITY;
  double maxDiff = 0, maxRef = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    maxDiff = std::max(maxDiff, std::fabs(double(got[i]) - double(want[i])));
    maxRef = std::max(maxRef, std::fabs(double(want[i])));
  }
  return maxRef > 0 ? maxDiff / maxRef : maxDiff;
}

//===----------------------------------------------------------------------===//
// Convolution implementations
//===----------------------------------------------------------------------===//

/// One way to run the three convolution ops on NCHW data.
class ConvImpl {
public:
  virtual ~ConvImpl() = default;
  virtual const char *name() const = 0;
  /// Prepares buffers (and primitives) for `s`; false when unsupported.
  virtual bool setup(const ConvShape &s, const ConvData &d) = 0;
  virtual void run(ConvOp op) = 0;
  /// The output of the last run(op), as NCHW (y, dx) or OIHW (dw).
  virtual std::vector<float> result(ConvOp op) = 0;
  /// The kernel a library picked, if it says.
  virtual std::string kernelInfo(ConvOp) const { return ""; }
};

/// An implementation that reads ConvData in place and writes NCHW/OIHW
/// outputs of its own.
class PlainBuffersConv : public ConvImpl {
public:
  bool setup(const ConvShape &s, const ConvData &d) override {
    s_ = s;
    d_ = &d;
    y_.assign(s.n * s.f * s.oh() * s.ow(), 0);
    dx_.assign(d.x.size(), 0);
    dw_.assign(d.w.size(), 0);
    return true;
  }
  std::vector<float> result(ConvOp op) override {
    return op == ConvOp::kForward        ? y_
           : op == ConvOp::kBackwardData ? dx_
                                         : dw_;
  }

protected:
  ConvShape s_{};
  const ConvData *d_ = nullptr;
  std::vector<float> y_, dx_, dw_;
};

/// Loop nests as a naive code generator would emit them: OpenMP over
/// independent outputs, unit-stride innermost loops for the vectorizer.
class DirectConv : public PlainBuffersConv {
public:
  const char *name() const override { return "direct loops -O3"; }
  void run(ConvOp op) override {
    if (op == ConvOp::kForward)
      forward();
    else if (op == ConvOp::kBackwardData)
      backwardData();
    else
      backwardWeights();
  }

private:
  /// Output columns [lo, hi) whose input column ow*stride - pad + kw is
  /// inside [0, w).
  void columnRange(int64_t kw, int64_t &lo, int64_t &hi) const {
    int64_t off = kw - s_.pad;
    lo = off >= 0 ? 0 : (-off + s_.stride - 1) / s_.stride;
    hi = std::min(s_.ow(), (s_.w - 1 - off) / s_.stride + 1);
  }
  void forward() {
    const ConvShape s = s_;
    const int64_t oh = s.oh(), ow = s.ow();
    const float *x = d_->x.data(), *w = d_->w.data();
    float *y = y_.data();
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t f = 0; f < s.f; ++f) {
        float *__restrict out = y + (n * s.f + f) * oh * ow;
        std::fill(out, out + oh * ow, 0.0f);
        for (int64_t c = 0; c < s.c; ++c)
          for (int64_t kh = 0; kh < s.k; ++kh)
            for (int64_t kw = 0; kw < s.k; ++kw) {
              float wv = w[((f * s.c + c) * s.k + kh) * s.k + kw];
              int64_t lo, hi;
              columnRange(kw, lo, hi);
              for (int64_t r = 0; r < oh; ++r) {
                int64_t ih = r * s.stride - s.pad + kh;
                if (ih < 0 || ih >= s.h)
                  continue;
                const float *__restrict in =
                    x + ((n * s.c + c) * s.h + ih) * s.w - s.pad + kw;
                float *__restrict orow = out + r * ow;
                for (int64_t col = lo; col < hi; ++col)
                  orow[col] += wv * in[col * s.stride];
              }
            }
      }
  }
  void backwardData() {
    const ConvShape s = s_;
    const int64_t oh = s.oh(), ow = s.ow();
    const float *dy = d_->dy.data(), *w = d_->w.data();
    float *dx = dx_.data();
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t c = 0; c < s.c; ++c) {
        float *__restrict plane = dx + (n * s.c + c) * s.h * s.w;
        std::fill(plane, plane + s.h * s.w, 0.0f);
        for (int64_t f = 0; f < s.f; ++f)
          for (int64_t kh = 0; kh < s.k; ++kh)
            for (int64_t kw = 0; kw < s.k; ++kw) {
              float wv = w[((f * s.c + c) * s.k + kh) * s.k + kw];
              int64_t lo, hi;
              columnRange(kw, lo, hi);
              for (int64_t r = 0; r < oh; ++r) {
                int64_t ih = r * s.stride - s.pad + kh;
                if (ih < 0 || ih >= s.h)
                  continue;
                float *__restrict in = plane + ih * s.w - s.pad + kw;
                const float *__restrict g = dy + ((n * s.f + f) * oh + r) * ow;
                for (int64_t col = lo; col < hi; ++col)
                  in[col * s.stride] += wv * g[col];
              }
            }
      }
  }
  void backwardWeights() {
    const ConvShape s = s_;
    const int64_t oh = s.oh(), ow = s.ow();
    const float *dy = d_->dy.data(), *x = d_->x.data();
    float *dw = dw_.data();
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t f = 0; f < s.f; ++f)
      for (int64_t c = 0; c < s.c; ++c)
        for (int64_t kh = 0; kh < s.k; ++kh)
          for (int64_t kw = 0; kw < s.k; ++kw) {
            int64_t lo, hi;
            columnRange(kw, lo, hi);
            float acc = 0;
            for (int64_t n = 0; n < s.n; ++n)
              for (int64_t r = 0; r < oh; ++r) {
                int64_t ih = r * s.stride - s.pad + kh;
                if (ih < 0 || ih >= s.h)
                  continue;
                const float *in =
                    x + ((n * s.c + c) * s.h + ih) * s.w - s.pad + kw;
                const float *g = dy + ((n * s.f + f) * oh + r) * ow;
                // A generator can emit this pragma; without it GCC keeps the
                // float reduction sequential.
#pragma omp simd reduction(+ : acc)
                for (int64_t col = lo; col < hi; ++col)
                  acc += in[col * s.stride] * g[col];
              }
            dw[((f * s.c + c) * s.k + kh) * s.k + kw] = acc;
          }
  }
};

/// Row-major C[m,n] = op(A) op(B) + beta C, alpha 1.
using Sgemm = void (*)(bool transA, bool transB, int64_t m, int64_t n,
                       int64_t k, const float *a, int64_t lda, const float *b,
                       int64_t ldb, float beta, float *c, int64_t ldc);

#ifdef SIMCLR_BENCH_HAVE_OPENBLAS
void openblasSgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
                   const float *a, int64_t lda, const float *b, int64_t ldb,
                   float beta, float *c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
              transB ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb,
              beta, c, ldc);
}
#endif
#ifdef SIMCLR_BENCH_HAVE_BLIS
void blisSgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
               const float *a, int64_t lda, const float *b, int64_t ldb,
               float beta, float *c, int64_t ldc) {
  float one = 1.0f;
  // BLIS's native API (row stride, column stride): no CBLAS symbol clash with
  // OpenBLAS in one process.
  bli_sgemm(transA ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
            transB ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, m, n, k, &one,
            const_cast<float *>(a), lda, 1, const_cast<float *>(b), ldb, 1,
            &beta, c, ldc, 1);
}
#endif

/// Per image: im2col into a [C*K*K, OH*OW] matrix and one sgemm (the
/// library's threads inside it). im2col/col2im use OpenMP only next to an
/// OpenMP library (BLIS): beside OpenBLAS's own pthreads, OpenMP's workers
/// spin after each region and take a core from OpenBLAS (measured on 2 cores,
/// 2 threads, 256->256 @8 forward: 16 GFLOP/s with OpenMP im2col, 130 without).
class Im2colConv : public PlainBuffersConv {
public:
  Im2colConv(const char *name, Sgemm gemm, bool openmp)
      : name_(name), gemm_(gemm), openmp_(openmp) {}
  const char *name() const override { return name_; }
  bool setup(const ConvShape &s, const ConvData &d) override {
    col_.assign(s.c * s.k * s.k * s.oh() * s.ow(), 0);
    return PlainBuffersConv::setup(s, d);
  }
  void run(ConvOp op) override {
    const ConvShape &s = s_;
    const int64_t rows = s.c * s.k * s.k, pixels = s.oh() * s.ow();
    for (int64_t n = 0; n < s.n; ++n) {
      const float *xn = d_->x.data() + n * s.c * s.h * s.w;
      const float *dyn = d_->dy.data() + n * s.f * pixels;
      switch (op) {
      case ConvOp::kForward:
        im2col(xn);
        gemm_(false, false, s.f, pixels, rows, d_->w.data(), rows, col_.data(),
              pixels, 0.0f, y_.data() + n * s.f * pixels, pixels);
        break;
      case ConvOp::kBackwardData:
        gemm_(true, false, rows, pixels, s.f, d_->w.data(), rows, dyn, pixels,
              0.0f, col_.data(), pixels);
        col2im(dx_.data() + n * s.c * s.h * s.w);
        break;
      case ConvOp::kBackwardWeights:
        im2col(xn);
        gemm_(false, true, s.f, rows, pixels, dyn, pixels, col_.data(), pixels,
              n == 0 ? 0.0f : 1.0f, dw_.data(), rows);
        break;
      }
    }
  }

private:
  void im2col(const float *x) {
    const ConvShape s = s_;
    const int64_t oh = s.oh(), ow = s.ow(), rows = s.c * s.k * s.k;
    float *col = col_.data();
#pragma omp parallel for schedule(static) if (openmp_)
    for (int64_t row = 0; row < rows; ++row) {
      int64_t c = row / (s.k * s.k), kh = row / s.k % s.k, kw = row % s.k;
      for (int64_t r = 0; r < oh; ++r) {
        int64_t ih = r * s.stride - s.pad + kh;
        float *out = col + (row * oh + r) * ow;
        for (int64_t q = 0; q < ow; ++q) {
          int64_t iw = q * s.stride - s.pad + kw;
          out[q] = ih >= 0 && ih < s.h && iw >= 0 && iw < s.w
                       ? x[(c * s.h + ih) * s.w + iw]
                       : 0.0f;
        }
      }
    }
  }
  void col2im(float *dx) {
    const ConvShape s = s_;
    const int64_t oh = s.oh(), ow = s.ow();
    const float *col = col_.data();
#pragma omp parallel for schedule(static) if (openmp_)
    for (int64_t c = 0; c < s.c; ++c) {
      float *plane = dx + c * s.h * s.w;
      std::fill(plane, plane + s.h * s.w, 0.0f);
      for (int64_t kh = 0; kh < s.k; ++kh)
        for (int64_t kw = 0; kw < s.k; ++kw) {
          const float *rowData = col + ((c * s.k + kh) * s.k + kw) * oh * ow;
          for (int64_t r = 0; r < oh; ++r) {
            int64_t ih = r * s.stride - s.pad + kh;
            if (ih < 0 || ih >= s.h)
              continue;
            for (int64_t q = 0; q < ow; ++q) {
              int64_t iw = q * s.stride - s.pad + kw;
              if (iw >= 0 && iw < s.w)
                plane[ih * s.w + iw] += rowData[r * ow + q];
            }
          }
        }
    }
  }

  const char *name_;
  Sgemm gemm_;
  bool openmp_;
  std::vector<float> col_;
};

#ifdef SIMCLR_BENCH_HAVE_DNNL
/// How the oneDNN variant holds its operands.
enum class DnnlMode {
  kAny,         // oneDNN's formats, operands converted once outside timing
  kAnyReorders, // oneDNN's formats, NCHW in and out converted inside timing
  kPlain,       // NCHW/OIHW memory handed to the primitives directly
};

class DnnlConv : public ConvImpl {
public:
  explicit DnnlConv(DnnlMode mode) : mode_(mode), strm_(eng_) {}
  const char *name() const override {
    static const char *const kNames[] = {
        "oneDNN own formats", "oneDNN + NCHW reorders", "oneDNN on NCHW"};
    return kNames[static_cast<int>(mode_)];
  }
  bool setup(const ConvShape &s, const ConvData &d) override {
    using namespace dnnl;
    using tag = memory::format_tag;
    const auto f32 = memory::data_type::f32;
    memory::dims xDims{s.n, s.c, s.h, s.w}, wDims{s.f, s.c, s.k, s.k},
        yDims{s.n, s.f, s.oh(), s.ow()}, strides{s.stride, s.stride},
        pad{s.pad, s.pad};
    bool plain = mode_ == DnnlMode::kPlain;
    memory::desc xMd(xDims, f32, plain ? tag::nchw : tag::any);
    memory::desc wMd(wDims, f32, plain ? tag::oihw : tag::any);
    memory::desc yMd(yDims, f32, plain ? tag::nchw : tag::any);
    try {
      convolution_forward::primitive_desc fwd(
          convolution_forward::desc(prop_kind::forward_training,
                                    algorithm::convolution_direct, xMd, wMd,
                                    yMd, strides, pad, pad),
          eng_);
      convolution_backward_data::primitive_desc bwdData(
          convolution_backward_data::desc(algorithm::convolution_direct, xMd,
                                          wMd, yMd, strides, pad, pad),
          eng_, fwd);
      convolution_backward_weights::primitive_desc bwdWeights(
          convolution_backward_weights::desc(algorithm::convolution_direct, xMd,
                                             wMd, yMd, strides, pad, pad),
          eng_, fwd);
      userX_ = userMemory({xDims, f32, tag::nchw}, d.x);
      userW_ = userMemory({wDims, f32, tag::oihw}, d.w);
      userDy_ = userMemory({yDims, f32, tag::nchw}, d.dy);
      userY_ = userMemory({yDims, f32, tag::nchw}, {});
      userDx_ = userMemory({xDims, f32, tag::nchw}, {});
      userDw_ = userMemory({wDims, f32, tag::oihw}, {});
      ops_[0] = makeOp(convolution_forward(fwd), fwd.impl_info_str(),
                       {{DNNL_ARG_SRC, fwd.src_desc(), userX_},
                        {DNNL_ARG_WEIGHTS, fwd.weights_desc(), userW_}},
                       {DNNL_ARG_DST, fwd.dst_desc(), userY_});
      ops_[1] =
          makeOp(convolution_backward_data(bwdData), bwdData.impl_info_str(),
                 {{DNNL_ARG_DIFF_DST, bwdData.diff_dst_desc(), userDy_},
                  {DNNL_ARG_WEIGHTS, bwdData.weights_desc(), userW_}},
                 {DNNL_ARG_DIFF_SRC, bwdData.diff_src_desc(), userDx_});
      ops_[2] = makeOp(
          convolution_backward_weights(bwdWeights), bwdWeights.impl_info_str(),
          {{DNNL_ARG_SRC, bwdWeights.src_desc(), userX_},
           {DNNL_ARG_DIFF_DST, bwdWeights.diff_dst_desc(), userDy_}},
          {DNNL_ARG_DIFF_WEIGHTS, bwdWeights.diff_weights_desc(), userDw_});
    } catch (const dnnl::error &e) {
      std::fprintf(stderr, "  oneDNN: %s on %s: %s\n", name(), s.name.c_str(),
                   e.what());
      return false;
    }
    // Own formats: the operands are converted once, outside the timing.
    if (mode_ == DnnlMode::kAny)
      for (Op &op : ops_)
        for (Conversion &in : op.inputs)
          in.execute(strm_);
    strm_.wait();
    return true;
  }
  void run(ConvOp op) override {
    Op &o = ops_[static_cast<int>(op)];
    if (mode_ == DnnlMode::kAnyReorders)
      for (Conversion &in : o.inputs)
        in.execute(strm_);
    o.prim.execute(strm_, o.args);
    if (mode_ == DnnlMode::kAnyReorders)
      o.output.execute(strm_);
    strm_.wait();
  }
  std::vector<float> result(ConvOp op) override {
    Op &o = ops_[static_cast<int>(op)];
    if (mode_ == DnnlMode::kAny)
      o.output.execute(strm_);
    strm_.wait();
    const float *data =
        static_cast<const float *>(o.output.to.get_data_handle());
    return {data, data + o.output.to.get_desc().get_size() / sizeof(float)};
  }
  std::string kernelInfo(ConvOp op) const override {
    return ops_[static_cast<int>(op)].info;
  }

private:
  /// A reorder from `from` to `to`, or nothing when they share a layout.
  struct Conversion {
    dnnl::memory from, to;
    dnnl::reorder prim;
    bool needed = false;
    void execute(dnnl::stream &strm) {
      if (needed)
        prim.execute(strm, from, to);
    }
  };
  struct Op {
    dnnl::primitive prim;
    std::string info;
    std::unordered_map<int, dnnl::memory> args;
    std::vector<Conversion> inputs;
    Conversion output;
  };
  struct Arg {
    int id;
    dnnl::memory::desc want;
    dnnl::memory user;
  };

  dnnl::memory userMemory(const dnnl::memory::desc &md,
                          const std::vector<float> &data) {
    dnnl::memory m(md, eng_);
    if (!data.empty())
      std::memcpy(m.get_data_handle(), data.data(),
                  data.size() * sizeof(float));
    return m;
  }
  /// The primitive's memory for `a`: the user's own when layouts agree.
  Conversion convert(const Arg &a, bool toPrimitive) {
    Conversion conv;
    if (a.want == a.user.get_desc()) {
      conv.from = conv.to = a.user;
      return conv;
    }
    dnnl::memory prim(a.want, eng_);
    conv.from = toPrimitive ? a.user : prim;
    conv.to = toPrimitive ? prim : a.user;
    conv.prim = dnnl::reorder(conv.from, conv.to);
    conv.needed = true;
    return conv;
  }
  Op makeOp(dnnl::primitive prim, const char *info, std::vector<Arg> inputs,
            Arg output) {
    Op op;
    op.prim = std::move(prim);
    op.info = info;
    for (const Arg &a : inputs) {
      op.inputs.push_back(convert(a, true));
      op.args[a.id] = op.inputs.back().to;
    }
    op.output = convert(output, false);
    op.args[output.id] = op.output.from;
    return op;
  }

  DnnlMode mode_;
  dnnl::engine eng_{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm_;
  dnnl::memory userX_, userW_, userDy_, userY_, userDx_, userDw_;
  Op ops_[3];
};
#endif

std::vector<std::unique_ptr<ConvImpl>> makeConvImpls() {
  std::vector<std::unique_ptr<ConvImpl>> impls;
  impls.push_back(std::make_unique<DirectConv>());
#ifdef SIMCLR_BENCH_HAVE_OPENBLAS
  impls.push_back(std::make_unique<Im2colConv>("im2col + OpenBLAS",
                                               openblasSgemm,
                                               /*openmp=*/false));
#endif
#ifdef SIMCLR_BENCH_HAVE_BLIS
  impls.push_back(std::make_unique<Im2colConv>("im2col + BLIS", blisSgemm,
                                               /*openmp=*/true));
#endif
#ifdef SIMCLR_BENCH_HAVE_DNNL
  impls.push_back(std::make_unique<DnnlConv>(DnnlMode::kAny));
  impls.push_back(std::make_unique<DnnlConv>(DnnlMode::kAnyReorders));
  impls.push_back(std::make_unique<DnnlConv>(DnnlMode::kPlain));
#endif
  return impls;
}

//===----------------------------------------------------------------------===//
// GEMM implementations
//===----------------------------------------------------------------------===//

/// C[m,n] = A[m,k] B^T where B is [n,k]: nn.Linear's x W^T and NT-Xent's
/// z z^T both multiply by a transposed row-major operand.
struct GemmShape {
  std::string name;
  int64_t m, k, n;
  double flops() const { return 2.0 * m * n * k; }
};

struct GemmImpl {
  const char *name;
  std::function<void(const GemmShape &, const float *, const float *, float *)>
      run;
};

void naiveGemm(const GemmShape &s, const float *a, const float *b, float *c) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j) {
      float acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t p = 0; p < s.k; ++p)
        acc += a[i * s.k + p] * b[j * s.k + p];
      c[i * s.n + j] = acc;
    }
}

std::vector<GemmImpl> makeGemmImpls() {
  std::vector<GemmImpl> impls;
  impls.push_back({"plain loop -O3", naiveGemm});
  auto viaSgemm = [](Sgemm gemm) {
    return
        [gemm](const GemmShape &s, const float *a, const float *b, float *c) {
          gemm(false, true, s.m, s.n, s.k, a, s.k, b, s.k, 0.0f, c, s.n);
        };
  };
  (void)viaSgemm;
#ifdef SIMCLR_BENCH_HAVE_OPENBLAS
  impls.push_back({"OpenBLAS sgemm", viaSgemm(openblasSgemm)});
#endif
#ifdef SIMCLR_BENCH_HAVE_BLIS
  impls.push_back({"BLIS sgemm", viaSgemm(blisSgemm)});
#endif
#ifdef SIMCLR_BENCH_HAVE_DNNL
  impls.push_back({"oneDNN dnnl_sgemm", [](const GemmShape &s, const float *a,
                                           const float *b, float *c) {
                     dnnl_sgemm('N', 'T', s.m, s.n, s.k, 1.0f, a, s.k, b, s.k,
                                0.0f, c, s.n);
                   }});
#endif
  return impls;
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

std::vector<ConvShape> convShapes(int64_t cifarBatch) {
  // Fashion-MNIST spec (examples/fashion-mnist.toml): 2N = 512 views of
  // 1x28x28, ResNet with one basic block per stage, widths 16/32/64.
  const int64_t fm = 512;
  std::vector<ConvShape> shapes = {
      {"FM stem 3x3 1->16 @28", fm, 1, 28, 28, 16, 3, 1, 1, 1, false},
      {"FM layer1 3x3 16->16 @28", fm, 16, 28, 28, 16, 3, 1, 1, 2, true},
      {"FM layer2 3x3 16->32 s2 @28", fm, 16, 28, 28, 32, 3, 2, 1, 1, true},
      {"FM layer2 3x3 32->32 @14", fm, 32, 14, 14, 32, 3, 1, 1, 1, true},
      {"FM layer2 down 1x1 16->32 s2", fm, 16, 28, 28, 32, 1, 2, 0, 1, true},
      {"FM layer3 3x3 32->64 s2 @14", fm, 32, 14, 14, 64, 3, 2, 1, 1, true},
      {"FM layer3 3x3 64->64 @7", fm, 64, 7, 7, 64, 3, 1, 1, 1, true},
      {"FM layer3 down 1x1 32->64 s2", fm, 32, 14, 14, 64, 1, 2, 0, 1, true},
  };
  // examples/cifar10-simclr-paper.toml's ResNet-18, one 3x3 conv per stage.
  const int64_t cb = cifarBatch;
  std::vector<ConvShape> cifar = {
      {"C10 3x3 64->64 @32", cb, 64, 32, 32, 64, 3, 1, 1, 0, true},
      {"C10 3x3 128->128 @16", cb, 128, 16, 16, 128, 3, 1, 1, 0, true},
      {"C10 3x3 256->256 @8", cb, 256, 8, 8, 256, 3, 1, 1, 0, true},
      {"C10 3x3 512->512 @4", cb, 512, 4, 4, 512, 3, 1, 1, 0, true},
  };
  shapes.insert(shapes.end(), cifar.begin(), cifar.end());
  return shapes;
}

std::vector<GemmShape> gemmShapes() {
  return {
      {"FM head 512x64 * (128x64)^T", 512, 64, 128},
      {"FM head 512x128 * (64x128)^T", 512, 128, 64},
      {"FM sim 512x64 * (512x64)^T", 512, 64, 512},
      {"C10 head 1024x512 * (512x512)^T", 1024, 512, 512},
      {"C10 sim 1024x128 * (1024x128)^T", 1024, 128, 1024},
  };
}

bool keep(const Options &options, const std::string &shape, const char *impl) {
  return options.filter.empty() ||
         shape.find(options.filter) != std::string::npos ||
         std::string(impl).find(options.filter) != std::string::npos;
}

constexpr const char *kTableHeader =
    "| shape | op | implementation | ms | GFLOP/s | of peak | cpu/wall | "
    "max rel err | kernel |\n|---|---|---|---|---|---|---|---|---|\n";

struct Row {
  double gflops, peakFraction, cpuPerWall, error;
};

Row measure(const std::function<void()> &fn, double flops, double peak,
            double error, int repeats) {
  Timing t = timeMedian(fn, repeats);
  double gflops = flops / t.seconds / 1e9;
  return {gflops, peak > 0 ? gflops / peak : 0, t.cpuPerWall, error};
}

void printRow(const std::string &shape, const char *op, const char *impl,
              const Row &row, double ms, const std::string &info) {
  std::printf("| %s | %s | %s | %.3f | %.1f | %.0f%% | %.2f | %.1e%s | %s |\n",
              shape.c_str(), op, impl, ms, row.gflops, 100 * row.peakFraction,
              row.cpuPerWall, row.error,
              row.error <= kMaxRelativeError ? "" : " FAIL", info.c_str());
  std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv) {
  Options options;
  if (!parseOptions(argc, argv, options))
    return 2;

  std::printf("checks: every output against lib/Reference (float) at batch "
              "%lld, max |impl - ref| / max |ref| <= %.0e\n",
              static_cast<long long>(options.checkBatch), kMaxRelativeError);
#ifdef SIMCLR_BENCH_HAVE_OPENBLAS
  std::printf("OpenBLAS: %s, core %s\n", openblas_get_config(),
              openblas_get_corename());
#endif
#ifdef SIMCLR_BENCH_HAVE_BLIS
  std::printf("BLIS: %s, arch %s\n", bli_info_get_version_str(),
              bli_arch_string(bli_arch_query_id()));
#endif
#ifdef SIMCLR_BENCH_HAVE_DNNL
  const dnnl_version_t *v = dnnl_version();
  // ISA codes: dnnl_types.h's dnnl_cpu_isa_t (0x27 avx512_core, 0x3e7 amx).
  std::printf("oneDNN: %d.%d.%d, CPU runtime %s, effective ISA 0x%x\n",
              v->major, v->minor, v->patch,
              v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other",
              static_cast<unsigned>(dnnl_get_effective_cpu_isa()));
#endif

  std::vector<ConvShape> shapes = convShapes(options.cifarBatch);
  // The oracle's outputs at the check batch, computed once per shape when
  // first needed.
  std::vector<ConvData> checkData(shapes.size());
  std::vector<std::vector<std::vector<float>>> checkRef(shapes.size());

  bool allOk = true;
  for (int threads : options.threads) {
    std::printf("\n## %d thread(s)\n", threads);
    setThreads(threads);
    const char *isa = "";
    double peak = measureFmaPeak(threads, &isa);
    std::printf("FMA peak: %.1f GFLOP/s (%s)\n", peak, isa);

    std::printf("\n%s", kTableHeader);
    std::vector<std::unique_ptr<ConvImpl>> impls = makeConvImpls();
    std::vector<std::vector<double>> stepSeconds(impls.size(),
                                                 std::vector<double>(3, 0));
    for (size_t si = 0; si < shapes.size(); ++si) {
      const ConvShape &s = shapes[si];
      ConvData data = makeData(s);
      for (size_t ii = 0; ii < impls.size(); ++ii) {
        ConvImpl &impl = *impls[ii];
        if (!keep(options, s.name, impl.name()))
          continue;
        ConvShape small = s;
        small.n = std::min(s.n, options.checkBatch);
        if (checkRef[si].empty()) {
          checkData[si] = makeData(small);
          checkRef[si] = referenceConv(small, checkData[si]);
        }
        double errors[3] = {0, 0, 0};
        if (!impl.setup(small, checkData[si]))
          continue;
        for (ConvOp op : kConvOps) {
          impl.run(op);
          errors[static_cast<int>(op)] = relativeError(
              impl.result(op), checkRef[si][static_cast<int>(op)]);
        }
        if (!impl.setup(s, data))
          continue;
        for (ConvOp op : kConvOps) {
          if (op == ConvOp::kBackwardData && !s.needsBackwardData)
            continue;
          int o = static_cast<int>(op);
          Row row = measure([&] { impl.run(op); }, s.flops(), peak, errors[o],
                            options.repeats);
          double seconds = s.flops() / row.gflops / 1e9;
          stepSeconds[ii][o] += s.perStep * seconds;
          allOk &= row.error <= kMaxRelativeError;
          printRow(s.name, opName(op), impl.name(), row, 1e3 * seconds,
                   impl.kernelInfo(op));
        }
      }
    }
    if (options.filter.empty()) {
      std::printf("\nFashion-MNIST train step, all convolutions (ms, %d "
                  "thread(s)):\n\n| implementation | fwd | bwd-data | "
                  "bwd-weights | total |\n|---|---|---|---|---|\n",
                  threads);
      for (size_t ii = 0; ii < impls.size(); ++ii) {
        const std::vector<double> &t = stepSeconds[ii];
        std::printf("| %s | %.1f | %.1f | %.1f | %.1f |\n", impls[ii]->name(),
                    1e3 * t[0], 1e3 * t[1], 1e3 * t[2],
                    1e3 * (t[0] + t[1] + t[2]));
      }
    }

    std::printf("\n%s", kTableHeader);
    for (const GemmShape &g : gemmShapes()) {
      std::vector<float> a = randomVector(g.m * g.k, 4);
      std::vector<float> b = randomVector(g.n * g.k, 5);
      std::vector<float> c(g.m * g.n);
      auto want = ref::matmul<float>(ref::Tensor<float>({g.m, g.k}, a),
                                     ref::Tensor<float>({g.n, g.k}, b),
                                     /*transposeA=*/false,
                                     /*transposeB=*/true);
      if (!want)
        return 1; // unreachable: the shapes agree by construction
      for (const GemmImpl &impl : makeGemmImpls()) {
        if (!keep(options, g.name, impl.name))
          continue;
        std::fill(c.begin(), c.end(), 0.0f);
        impl.run(g, a.data(), b.data(), c.data());
        double error = relativeError(c, want->data);
        Row row = measure([&] { impl.run(g, a.data(), b.data(), c.data()); },
                          g.flops(), peak, error, options.repeats);
        allOk &= row.error <= kMaxRelativeError;
        printRow(g.name, "A B^T", impl.name, row,
                 1e3 * g.flops() / row.gflops / 1e9, "");
      }
    }
  }
  if (!allOk)
    std::fprintf(stderr, "simclr-conv-gemm-bench: error: an implementation "
                         "disagrees with the reference (FAIL rows)\n");
  return allOk ? 0 : 1;
}
