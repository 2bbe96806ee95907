//===- CudaTemplateTests.cpp - CUDA templates against the CPU templates ---===//
//
// Every simclr::cuda template runs on the CPU through CudaEmulation.h with
// the launches Launch.h gives, on random inputs of small, awkward shapes
// (channel counts that are not powers of two or span several channel
// tiles, hw = 1, several reduction row blocks, rows beyond one block),
// NCHW (X = 1) and NHWC (X = c), with prologue and epilogue lambdas on
// some, and is compared with the CPU template of the same name on the same
// inputs. The CPU templates are themselves checked against the reference
// kernels (CpuKernelTest), so this pins the CUDA forms to the same math.
// Each workspace is exactly what Scratch.h plans, followed by a guard that
// must stay untouched.
//
//===----------------------------------------------------------------------===//
#include "TemplateTestUtil.h"

#include <string>
#include <vector>

namespace simclr::cuda::test {
namespace {

/// [n, c, hw] cases of the channel templates: several channel tiles (40),
/// several reduction row blocks (hw = 1000: 4 rows each), hw = 1.
struct ChannelCase {
  int64_t n, c, hw;
};

//===----------------------------------------------------------------------===//
// Per-channel kernels
//===----------------------------------------------------------------------===//

template <int64_t X>
void checkBatchNormTrain(int64_t n, int64_t c, int64_t hw, bool hooks) {
  SCOPED_TRACE("X=" + std::to_string(X) + " n=" + std::to_string(n) +
               " c=" + std::to_string(c) + " hw=" + std::to_string(hw));
  const int64_t count = n * c * hw;
  // An offset mean stresses the shifted one-pass variance.
  const Floats x = randomFloats(count, 11, 2.0, 4.0);
  const Floats gamma = randomFloats(c, 12, 0.5, 1.5);
  const Floats beta = randomFloats(c, 13);
  const Floats dy = randomFloats(count, 14);
  const int64_t bytes = kernels::channelStatisticsScratchBytes(n, c, hw);
  Floats yCpu(count), meanCpu(c), varCpu(c), yGpu(count), meanGpu(c), varGpu(c);
  Scratch cpuWs(bytes), gpuWs(bytes);
  const std::vector<int64_t> dims{X, n, c, hw};
  if (hooks) {
    cpu::batchNormTrainForward<X>(
        n, c, hw, Hooks{x.data()}, gamma.data(), beta.data(), 1e-5, yCpu.data(),
        meanCpu.data(), varCpu.data(), cpuWs.data(), Relu{});
    run("batchNormTrainForward", dims, [&](int phase) {
      batchNormTrainForward<X>(phase, n, c, hw, Hooks{x.data()}, gamma.data(),
                               beta.data(), 1e-5, yGpu.data(), meanGpu.data(),
                               varGpu.data(), gpuWs.data(), Relu{});
    });
  } else {
    cpu::batchNormTrainForward<X>(n, c, hw, cpu::Load{x.data()}, gamma.data(),
                                  beta.data(), 1e-5, yCpu.data(),
                                  meanCpu.data(), varCpu.data(), cpuWs.data(),
                                  cpu::Identity{});
    run("batchNormTrainForward", dims, [&](int phase) {
      batchNormTrainForward<X>(phase, n, c, hw, Load{x.data()}, gamma.data(),
                               beta.data(), 1e-5, yGpu.data(), meanGpu.data(),
                               varGpu.data(), gpuWs.data(), Identity{});
    });
  }
  expectClose(yGpu, yCpu, kTol, "batch norm y");
  expectClose(meanGpu, meanCpu, kTol, "batch mean");
  expectClose(varGpu, varCpu, kTol, "batch var");
  EXPECT_TRUE(gpuWs.guardIntact());

  Floats dxCpu(count), dgCpu(c), dbCpu(c), dxGpu(count), dgGpu(c), dbGpu(c);
  cpu::batchNormTrainBackward<X>(n, c, hw, cpu::Load{dy.data()}, x.data(),
                                 gamma.data(), meanCpu.data(), varCpu.data(),
                                 1e-5, dxCpu.data(), dgCpu.data(), dbCpu.data(),
                                 cpuWs.data(), cpu::Identity{});
  run("batchNormTrainBackward", dims, [&](int phase) {
    batchNormTrainBackward<X>(phase, n, c, hw, Load{dy.data()}, x.data(),
                              gamma.data(), meanCpu.data(), varCpu.data(), 1e-5,
                              dxGpu.data(), dgGpu.data(), dbGpu.data(),
                              gpuWs.data(), Identity{});
  });
  expectClose(dxGpu, dxCpu, kTol, "batch norm dx");
  expectClose(dgGpu, dgCpu, kTol, "batch norm dgamma");
  expectClose(dbGpu, dbCpu, kTol, "batch norm dbeta");
  EXPECT_TRUE(gpuWs.guardIntact());
}

template <int64_t X>
void checkChannelElementwise(int64_t n, int64_t c, int64_t hw) {
  SCOPED_TRACE("X=" + std::to_string(X) + " n=" + std::to_string(n) +
               " c=" + std::to_string(c) + " hw=" + std::to_string(hw));
  const int64_t count = n * c * hw;
  const std::vector<int64_t> dims{X, n, c, hw};
  const Floats x = randomFloats(count, 21);
  const Floats gamma = randomFloats(c, 22), beta = randomFloats(c, 23);
  const Floats runMean = randomFloats(c, 24);
  const Floats runVar = randomFloats(c, 25, 0.1, 2.0);
  const Floats stddev = randomFloats(c, 26, 0.2, 1.0);

  Floats cpuOut(count), gpuOut(count);
  Scratch cpuWs(kernels::batchNormInferenceScratchBytes(c)),
      gpuWs(kernels::batchNormInferenceScratchBytes(c));
  cpu::batchNormInference<X>(n, c, hw, Hooks{x.data()}, gamma.data(),
                             beta.data(), runMean.data(), runVar.data(), 1e-5,
                             cpuOut.data(), cpuWs.data(), Relu{});
  run("batchNormInference", dims, [&](int phase) {
    batchNormInference<X>(phase, n, c, hw, Hooks{x.data()}, gamma.data(),
                          beta.data(), runMean.data(), runVar.data(), 1e-5,
                          gpuOut.data(), gpuWs.data(), Relu{});
  });
  expectClose(gpuOut, cpuOut, kTol, "batch norm inference");
  EXPECT_TRUE(gpuWs.guardIntact());

  cpu::normalizeChannels<X>(n, c, hw, cpu::Load{x.data()}, runMean.data(),
                            stddev.data(), cpuOut.data(), Relu{});
  run("normalizeChannels", dims, [&](int phase) {
    normalizeChannels<X>(phase, n, c, hw, Load{x.data()}, runMean.data(),
                         stddev.data(), gpuOut.data(), Relu{});
  });
  expectClose(gpuOut, cpuOut, kTol, "normalize");

  Floats cpuSums(c), gpuSums(c);
  const int64_t bytes = kernels::channelStatisticsScratchBytes(n, c, hw);
  Scratch cpuStats(bytes), gpuStats(bytes);
  cpu::sumToChannels<X>(n, c, hw, Hooks{x.data()}, cpuSums.data(),
                        cpuStats.data(), Relu{});
  run("sumToChannels", dims, [&](int phase) {
    sumToChannels<X>(phase, n, c, hw, Hooks{x.data()}, gpuSums.data(),
                     gpuStats.data(), Relu{});
  });
  expectClose(gpuSums, cpuSums, kTol, "sum_to_channels");
  EXPECT_TRUE(gpuStats.guardIntact());

  Floats cpuPool(n * c), gpuPool(n * c);
  cpu::globalAvgPoolForward<X>(n, c, hw, Hooks{x.data()}, cpuPool.data(),
                               Relu{});
  run("globalAvgPoolForward", dims, [&](int phase) {
    globalAvgPoolForward<X>(phase, n, c, hw, Hooks{x.data()}, gpuPool.data(),
                            Relu{});
  });
  expectClose(gpuPool, cpuPool, kExact, "global_avg_pool");
  cpu::globalAvgPoolBackward<X>(n, c, hw, cpu::Load{cpuPool.data()},
                                cpuOut.data(), Relu{});
  run("globalAvgPoolBackward", dims, [&](int phase) {
    globalAvgPoolBackward<X>(phase, n, c, hw, Load{cpuPool.data()},
                             gpuOut.data(), Relu{});
  });
  expectClose(gpuOut, cpuOut, kExact, "global_avg_pool_backward");
}

TEST(CudaChannelTemplates, BatchNormTrainNchw) {
  for (ChannelCase s : {ChannelCase{5, 3, 7}, ChannelCase{9, 3, 1000},
                        ChannelCase{37, 5, 1}, ChannelCase{3, 40, 9}})
    for (bool hooks : {false, true})
      checkBatchNormTrain<1>(s.n, s.c, s.hw, hooks);
}

TEST(CudaChannelTemplates, BatchNormTrainNhwc) {
  checkBatchNormTrain<6>(5, 6, 7, true);
  checkBatchNormTrain<3>(9, 3, 1000, false);
  checkBatchNormTrain<5>(37, 5, 1, true);
  checkBatchNormTrain<40>(3, 40, 9, false);
  checkBatchNormTrain<40>(3, 40, 9, true);
}

TEST(CudaChannelTemplates, InferenceNormalizeSumPoolNchw) {
  for (ChannelCase s : {ChannelCase{5, 3, 7}, ChannelCase{9, 3, 1000},
                        ChannelCase{37, 5, 1}, ChannelCase{3, 40, 9}})
    checkChannelElementwise<1>(s.n, s.c, s.hw);
}

TEST(CudaChannelTemplates, InferenceNormalizeSumPoolNhwc) {
  checkChannelElementwise<6>(5, 6, 7);
  checkChannelElementwise<3>(9, 3, 1000);
  checkChannelElementwise<5>(37, 5, 1);
  checkChannelElementwise<40>(3, 40, 9);
}

TEST(CudaChannelTemplates, RunningStatsUpdate) {
  const int64_t c = 300; // Beyond one block.
  const Floats runMean = randomFloats(c, 31),
               runVar = randomFloats(c, 32, 0, 2);
  const Floats batchMean = randomFloats(c, 33),
               batchVar = randomFloats(c, 34, 0, 2);
  Floats meanCpu(c), varCpu(c), meanGpu(c), varGpu(c);
  cpu::runningStatsUpdate(c, runMean.data(), runVar.data(), batchMean.data(),
                          batchVar.data(), 0.1, 98, meanCpu.data(),
                          varCpu.data());
  run("runningStatsUpdate", {c}, [&](int phase) {
    runningStatsUpdate(phase, c, runMean.data(), runVar.data(),
                       batchMean.data(), batchVar.data(), 0.1, 98,
                       meanGpu.data(), varGpu.data());
  });
  expectClose(meanGpu, meanCpu, kExact, "running mean");
  expectClose(varGpu, varCpu, kExact, "running var");
}

//===----------------------------------------------------------------------===//
// Max pooling
//===----------------------------------------------------------------------===//

TEST(CudaPoolTemplates, MaxPoolForwardBackward) {
  struct Window {
    int64_t n, c, h, w, kh, kw, sh, sw, ph, pw;
  };
  for (Window p : {Window{2, 3, 9, 7, 3, 3, 2, 2, 1, 1},
                   Window{1, 2, 8, 8, 2, 2, 2, 2, 0, 0},
                   Window{2, 1, 5, 6, 3, 2, 1, 1, 1, 0}}) {
    const int64_t oh = (p.h + 2 * p.ph - p.kh) / p.sh + 1;
    const int64_t ow = (p.w + 2 * p.pw - p.kw) / p.sw + 1;
    Floats x = randomFloats(p.n * p.c * p.h * p.w, 41);
    // Few distinct values: ties, whose first occurrence must win.
    for (float &v : x)
      v = std::round(v * 2.0f);
    x[5] = std::nanf("");
    const Floats dy = randomFloats(p.n * p.c * oh * ow, 42);
    Floats yCpu(dy.size()), yGpu(dy.size()), dxCpu(x.size()), dxGpu(x.size());
    const std::vector<int64_t> dims{p.n,  p.c,  p.h,  p.w,  p.kh,
                                    p.kw, p.sh, p.sw, p.ph, p.pw};
    cpu::maxPool2dForward(p.n, p.c, p.h, p.w, p.kh, p.kw, p.sh, p.sw, p.ph,
                          p.pw, x.data(), yCpu.data());
    run("maxPool2dForward", dims, [&](int phase) {
      maxPool2dForward(phase, p.n, p.c, p.h, p.w, p.kh, p.kw, p.sh, p.sw, p.ph,
                       p.pw, x.data(), yGpu.data());
    });
    expectClose(yGpu, yCpu, kExact, "max_pool2d");
    cpu::maxPool2dBackward(p.n, p.c, p.h, p.w, p.kh, p.kw, p.sh, p.sw, p.ph,
                           p.pw, dy.data(), x.data(), dxCpu.data());
    run("maxPool2dBackward", dims, [&](int phase) {
      maxPool2dBackward(phase, p.n, p.c, p.h, p.w, p.kh, p.kw, p.sh, p.sw, p.ph,
                        p.pw, dy.data(), x.data(), dxGpu.data());
    });
    expectClose(dxGpu, dxCpu, kExact, "max_pool2d_backward");
  }
}

} // namespace
} // namespace simclr::cuda::test
