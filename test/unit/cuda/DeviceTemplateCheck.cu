//===- DeviceTemplateCheck.cu - The CUDA templates on a real GPU ----------===//
//
// The GPU half of CudaTemplateTests: runs the templates on the device with
// Launch.h's launches, at the sizes of the CIFAR-10 example (2N = 1024,
// NHWC ResNet stage 1, NT-Xent 1024 x 128), compares them with the CPU
// templates on the same inputs (1e-5 relative, as the emulated tests;
// the GPU contracts a*b + c into FMAs, which the CPU build does not),
// checks that a second run gives the same bits, and prints each one's
// time. For the GPU machine, which has nvcc but no GoogleTest:
//   nvcc -arch=sm_90 -std=c++17 -O3 -Ilib/include \
//     test/unit/cuda/DeviceTemplateCheck.cu -o device-template-check
//   ./device-template-check        # exit 0 when every check passes
//
//===----------------------------------------------------------------------===//
#include "simclr/Kernels/Cpu/CpuKernels.h"
#include "simclr/Kernels/Cuda/CudaKernels.cuh"
#include "simclr/Kernels/Cuda/Launch.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using Floats = std::vector<float>;
namespace cu = simclr::cuda;

/// The brief's bound for float32 kernels against the CPU.
constexpr double kTol = 1e-5;

int failures = 0;

void check(cudaError_t status, const char *what) {
  if (status != cudaSuccess) {
    std::fprintf(stderr, "device-template-check: %s: %s\n", what,
                 cudaGetErrorString(status));
    std::exit(1);
  }
}

Floats randomFloats(size_t count, unsigned seed, double lo = -1.0,
                    double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  Floats values(count);
  for (float &value : values)
    value = static_cast<float>(dist(rng));
  return values;
}

/// A device copy of a host array.
template <typename T> class Device {
public:
  explicit Device(size_t count) : count_(count) {
    check(cudaMalloc(&data_, std::max<size_t>(count, 1) * sizeof(T)),
          "cudaMalloc");
    check(cudaMemset(data_, 0, std::max<size_t>(count, 1) * sizeof(T)),
          "cudaMemset");
  }
  explicit Device(const std::vector<T> &host) : Device(host.size()) {
    check(cudaMemcpy(data_, host.data(), count_ * sizeof(T),
                     cudaMemcpyHostToDevice),
          "cudaMemcpy to device");
  }
  ~Device() { cudaFree(data_); }
  Device(const Device &) = delete;
  Device &operator=(const Device &) = delete;
  T *get() const { return data_; }
  std::vector<T> host() const {
    std::vector<T> values(count_);
    check(cudaMemcpy(values.data(), data_, count_ * sizeof(T),
                     cudaMemcpyDeviceToHost),
          "cudaMemcpy to host");
    return values;
  }

private:
  size_t count_;
  T *data_ = nullptr;
};

/// Runs the phases of `name` for `dims`, `kernel(phase, args...)` each;
/// returns the milliseconds of the whole sequence.
template <typename... Params, typename... Args>
float runPhases(const char *name, const std::vector<int64_t> &dims,
                void (*kernel)(int, Params...), Args... args) {
  auto shapes = cu::launchesOf(name, dims);
  if (!shapes) {
    std::fprintf(stderr, "device-template-check: no launches for %s\n", name);
    std::exit(1);
  }
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  check(cudaEventRecord(start), "cudaEventRecord");
  for (size_t phase = 0; phase < shapes->size(); ++phase) {
    const cu::LaunchShape &s = (*shapes)[phase];
    kernel<<<dim3(static_cast<unsigned>(s.grid[0]),
                  static_cast<unsigned>(s.grid[1]),
                  static_cast<unsigned>(s.grid[2])),
             dim3(static_cast<unsigned>(s.block[0]),
                  static_cast<unsigned>(s.block[1]),
                  static_cast<unsigned>(s.block[2])),
             s.sharedBytes>>>(static_cast<int>(phase), args...);
    check(cudaGetLastError(), name);
  }
  check(cudaEventRecord(stop), "cudaEventRecord");
  check(cudaEventSynchronize(stop), name);
  float ms = 0;
  check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms;
}

/// Compares as CudaTemplateTests does: |a - e| <= tol * (|e| + max|e|);
/// prints one line; counts a failure.
void compare(const char *what, const Floats &actual, const Floats &expected,
             const Floats &again, float ms) {
  double scale = 0, worst = 0;
  for (float e : expected)
    if (std::isfinite(e))
      scale = std::max(scale, std::fabs(static_cast<double>(e)));
  bool ok = actual.size() == expected.size();
  for (size_t i = 0; ok && i < expected.size(); ++i) {
    const double e = expected[i], a = actual[i];
    if (std::isnan(e) != std::isnan(a)) {
      ok = false;
      break;
    }
    if (!std::isnan(e))
      worst = std::max(worst, std::fabs(a - e) / (std::fabs(e) + scale));
  }
  ok = ok && worst <= kTol;
  const bool same = again.size() == actual.size() &&
                    std::memcmp(again.data(), actual.data(),
                                actual.size() * sizeof(float)) == 0;
  std::printf("%-44s %s  error %.2e  %s  %8.3f ms\n", what,
              ok && same ? "ok  " : "FAIL", worst,
              same ? "deterministic" : "NOT DETERMINISTIC", ms);
  failures += !(ok && same);
}

//===----------------------------------------------------------------------===//
// Kernels: one per template, called as generated code calls them.
//===----------------------------------------------------------------------===//

template <int64_t X>
__global__ void batchNormTrain(int phase, int64_t n, int64_t c, int64_t hw,
                               const float *x, const float *g, const float *b,
                               float *y, float *m, float *v, void *ws) {
  cu::batchNormTrainForward<X>(
      phase, n, c, hw, [&](int64_t i) -> float { return x[i] * 1.5f; }, g, b,
      1e-5, y, m, v, ws,
      [&](int64_t i, float r) -> float { return r < 0.0f ? 0.0f : r; });
}

template <int64_t X>
__global__ void
batchNormBackward(int phase, int64_t n, int64_t c, int64_t hw, const float *dy,
                  const float *x, const float *g, const float *m,
                  const float *v, float *dx, float *dg, float *db, void *ws) {
  cu::batchNormTrainBackward<X>(phase, n, c, hw, cu::Load{dy}, x, g, m, v, 1e-5,
                                dx, dg, db, ws, cu::Identity{});
}

template <int64_t X>
__global__ void avgPool(int phase, int64_t n, int64_t c, int64_t hw,
                        const float *x, float *y) {
  cu::globalAvgPoolForward<X>(phase, n, c, hw, cu::Load{x}, y, cu::Identity{});
}

__global__ void ntXent(int phase, int64_t rows, int64_t dim, const float *z,
                       const float *dloss, float *loss, float *dz, void *ws) {
  cu::ntXentForwardBackward(phase, rows, dim, z, 0.5, dloss, loss, dz, ws);
}

__global__ void maxPoolBackward(int phase, int64_t n, int64_t c, int64_t h,
                                int64_t w, const float *dy, const float *x,
                                float *dx) {
  cu::maxPool2dBackward(phase, n, c, h, w, 3, 3, 2, 2, 1, 1, dy, x, dx);
}

__global__ void lars(int phase, const cu::OptimizerSegment *segs, int64_t count,
                     void *ws) {
  cu::larsUpdateAll(phase, segs, count, 0.3f, 0.9, 1e-3, ws);
}

//===----------------------------------------------------------------------===//
// Checks
//===----------------------------------------------------------------------===//

template <int64_t X> void checkBatchNorm(int64_t n, int64_t c, int64_t hw) {
  const size_t count = static_cast<size_t>(n * c * hw);
  const Floats x = randomFloats(count, 1, 1.0, 3.0),
               dy = randomFloats(count, 2);
  const Floats g = randomFloats(c, 3, 0.5, 1.5), b = randomFloats(c, 4);
  const int64_t bytes =
      simclr::kernels::channelStatisticsScratchBytes(n, c, hw);
  Floats y(count), m(c), v(c), dx(count), dg(c), db(c);
  std::vector<unsigned char> ws(bytes);
  simclr::cpu::batchNormTrainForward<X>(
      n, c, hw, [&](int64_t i) { return x[i] * 1.5f; }, g.data(), b.data(),
      1e-5, y.data(), m.data(), v.data(), ws.data(),
      [](int64_t, float r) { return r < 0.0f ? 0.0f : r; });
  simclr::cpu::batchNormTrainBackward<X>(n, c, hw, simclr::cpu::Load{dy.data()},
                                         x.data(), g.data(), m.data(), v.data(),
                                         1e-5, dx.data(), dg.data(), db.data(),
                                         ws.data(), simclr::cpu::Identity{});

  Device<float> dX(x), dDy(dy), dG(g), dB(b), dYo(count), dM(c), dV(c),
      dDx(count), dDg(c), dDb(c);
  Device<unsigned char> dWs(bytes);
  const std::vector<int64_t> dims{X, n, c, hw};
  Floats runs[2], gradRuns[2];
  float ms = 0, gradMs = 0;
  for (int run = 0; run < 2; ++run) {
    ms = runPhases("batchNormTrainForward", dims, batchNormTrain<X>, n, c, hw,
                   dX.get(), dG.get(), dB.get(), dYo.get(), dM.get(), dV.get(),
                   static_cast<void *>(dWs.get()));
    runs[run] = dYo.host();
    gradMs = runPhases("batchNormTrainBackward", dims, batchNormBackward<X>, n,
                       c, hw, dDy.get(), dX.get(), dG.get(),
                       static_cast<const float *>(dM.get()),
                       static_cast<const float *>(dV.get()), dDx.get(),
                       dDg.get(), dDb.get(), static_cast<void *>(dWs.get()));
    gradRuns[run] = dDx.host();
  }
  const std::string shape = "[" + std::to_string(n) + "," + std::to_string(c) +
                            "," + std::to_string(hw) +
                            "] X=" + std::to_string(X);
  compare(("batchNormTrainForward y " + shape).c_str(), runs[1], y, runs[0],
          ms);
  compare(("  batch mean " + shape).c_str(), dM.host(), m, dM.host(), 0);
  compare(("  batch var " + shape).c_str(), dV.host(), v, dV.host(), 0);
  compare(("batchNormTrainBackward dx " + shape).c_str(), gradRuns[1], dx,
          gradRuns[0], gradMs);
  compare(("  dgamma " + shape).c_str(), dDg.host(), dg, dDg.host(), 0);

  Floats pooled(n * c);
  simclr::cpu::globalAvgPoolForward<X>(n, c, hw, simclr::cpu::Load{x.data()},
                                       pooled.data(), simclr::cpu::Identity{});
  Device<float> dPooled(n * c);
  const float poolMs = runPhases("globalAvgPoolForward", dims, avgPool<X>, n, c,
                                 hw, dX.get(), dPooled.get());
  compare(("globalAvgPoolForward " + shape).c_str(), dPooled.host(), pooled,
          dPooled.host(), poolMs);
}

void checkNtXent(int64_t rows, int64_t dim) {
  const Floats z = randomFloats(rows * dim, 5, -2.0, 2.0);
  const Floats dloss = {1.0f};
  const int64_t bytes = simclr::kernels::ntXentScratchBytes(rows, dim);
  Floats loss(1), dz(z.size());
  std::vector<unsigned char> ws(bytes);
  simclr::cpu::ntXentForwardBackward(rows, dim, z.data(), 0.5, dloss.data(),
                                     loss.data(), dz.data(), ws.data());
  Device<float> dZ(z), dDloss(dloss), dLoss(1), dDz(z.size());
  Device<unsigned char> dWs(bytes);
  Floats runs[2], lossRuns[2];
  float ms = 0;
  for (int run = 0; run < 2; ++run) {
    ms = runPhases("ntXentForwardBackward", {rows, dim}, ntXent, rows, dim,
                   static_cast<const float *>(dZ.get()),
                   static_cast<const float *>(dDloss.get()), dLoss.get(),
                   dDz.get(), static_cast<void *>(dWs.get()));
    runs[run] = dDz.host();
    lossRuns[run] = dLoss.host();
  }
  const std::string shape =
      "[" + std::to_string(rows) + "," + std::to_string(dim) + "]";
  compare(("ntXentForwardBackward loss " + shape).c_str(), lossRuns[1], loss,
          lossRuns[0], ms);
  compare(("ntXentForwardBackward dz " + shape).c_str(), runs[1], dz, runs[0],
          ms);
}

void checkMaxPoolBackward(int64_t n, int64_t c, int64_t h, int64_t w) {
  const int64_t oh = (h + 2 - 3) / 2 + 1, ow = (w + 2 - 3) / 2 + 1;
  const Floats x = randomFloats(n * c * h * w, 6);
  const Floats dy = randomFloats(n * c * oh * ow, 7);
  Floats dx(x.size());
  simclr::cpu::maxPool2dBackward(n, c, h, w, 3, 3, 2, 2, 1, 1, dy.data(),
                                 x.data(), dx.data());
  Device<float> dX(x), dDy(dy), dDx(x.size());
  Floats runs[2];
  float ms = 0;
  for (int run = 0; run < 2; ++run) {
    ms = runPhases("maxPool2dBackward", {n, c, h, w, 3, 3, 2, 2, 1, 1},
                   maxPoolBackward, n, c, h, w,
                   static_cast<const float *>(dDy.get()),
                   static_cast<const float *>(dX.get()), dDx.get());
    runs[run] = dDx.host();
  }
  compare("maxPool2dBackward 3x3/2 NCHW", runs[1], dx, runs[0], ms);
}

void checkLars(const std::vector<int64_t> &sizes) {
  const int64_t count = static_cast<int64_t>(sizes.size());
  std::vector<Floats> p, g, v;
  int64_t chunks = 0;
  for (size_t s = 0; s < sizes.size(); ++s) {
    p.push_back(randomFloats(sizes[s], 10 + s));
    g.push_back(randomFloats(sizes[s], 50 + s));
    v.push_back(randomFloats(sizes[s], 90 + s, -0.01, 0.01));
    chunks += simclr::kernels::optimizerChunks(sizes[s]);
  }
  const int64_t bytes = simclr::kernels::optimizerScratchBytes(count, chunks);
  std::vector<std::unique_ptr<Device<float>>> dP, dG, dV;
  std::vector<cu::OptimizerSegment> table;
  std::vector<simclr::cpu::OptimizerSegment> cpuTable;
  for (int64_t s = 0; s < count; ++s) {
    dP.push_back(std::make_unique<Device<float>>(p[s]));
    dG.push_back(std::make_unique<Device<float>>(g[s]));
    dV.push_back(std::make_unique<Device<float>>(v[s]));
    const int flags = s % 3 == 2 ? 0 : simclr::cpu::kOptimizerLayerAdaptation;
    table.push_back({dP[s]->get(), dG[s]->get(), dV[s]->get(), nullptr,
                     sizes[s], 1e-6, flags});
    cpuTable.push_back({p[s].data(), g[s].data(), v[s].data(), nullptr,
                        sizes[s], 1e-6, flags});
  }
  std::vector<unsigned char> ws(bytes);
  simclr::cpu::larsUpdateAll(cpuTable.data(), count, 0.3f, 0.9, 1e-3,
                             ws.data());
  Device<cu::OptimizerSegment> dTable(table);
  Device<unsigned char> dWs(bytes);
  const float ms =
      runPhases("larsUpdateAll", {count, chunks}, lars,
                static_cast<const cu::OptimizerSegment *>(dTable.get()), count,
                static_cast<void *>(dWs.get()));
  Floats all, expected;
  for (int64_t s = 0; s < count; ++s) {
    const Floats updated = dP[s]->host();
    all.insert(all.end(), updated.begin(), updated.end());
    expected.insert(expected.end(), p[s].begin(), p[s].end());
  }
  compare("larsUpdateAll params (one step)", all, expected, all, ms);
}

} // namespace

int main() {
  int devices = 0;
  check(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
  cudaDeviceProp props;
  check(cudaGetDeviceProperties(&props, 0), "cudaGetDeviceProperties");
  std::printf("device-template-check on %s (sm_%d%d)\n", props.name,
              props.major, props.minor);
  // ResNet-18 CIFAR at batch 512: stage 1 and stage 4, NHWC and NCHW.
  checkBatchNorm<64>(1024, 64, 1024);
  checkBatchNorm<1>(1024, 64, 1024);
  checkBatchNorm<512>(1024, 512, 16);
  checkBatchNorm<512>(1024, 512, 1);
  checkNtXent(1024, 128);
  checkMaxPoolBackward(64, 64, 32, 32);
  // ResNet-18's largest tensor (2.4M) and small ones.
  checkLars({2359296, 512, 512, 147456, 10, 65536});
  std::printf("device-template-check: %s\n",
              failures == 0 ? "all passed" : "FAILED");
  return failures == 0 ? 0 : 1;
}
