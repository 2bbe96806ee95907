//===- CudaSyncBatchNormTemplateTests.cpp - Synchronized BN, CUDA vs CPU --===//
//
// The CUDA templates of Kernels/Cuda/SyncBatchNorm.cuh run through
// CudaEmulation.h with Launch.h's launches and are compared with the CPU
// templates of the same name (Cpu/SyncBatchNorm.h, themselves checked
// against batch_norm_train in CpuKernelTests) on the same inputs: NCHW
// (X = 1) and NHWC (X = c), several channel tiles and row blocks, hw = 1,
// prologue and epilogue hooks. Statistics are compared as doubles with
// kTol; workspaces are exactly Scratch.h's, followed by a guard.
//
//===----------------------------------------------------------------------===//
#include "TemplateTestUtil.h"

#include <string>
#include <vector>

namespace simclr::cuda::test {
namespace {

using Doubles = std::vector<double>;

/// Doubles compared as CudaTemplateTests compares floats.
void expectCloseDoubles(const Doubles &actual, const Doubles &expected,
                        const std::string &what) {
  Floats a(actual.begin(), actual.end()), e(expected.begin(), expected.end());
  expectClose(a, e, kTol, what);
}

template <int64_t X>
void checkSyncBatchNorm(int64_t n, int64_t c, int64_t hw) {
  SCOPED_TRACE("X=" + std::to_string(X) + " n=" + std::to_string(n) +
               " c=" + std::to_string(c) + " hw=" + std::to_string(hw));
  const int64_t count = n * c * hw;
  const std::vector<int64_t> dims{X, n, c, hw};
  const Floats x = randomFloats(count, 41, 0.5, 2.0);
  const Floats gamma = randomFloats(c, 42, 0.5, 1.5);
  const Floats beta = randomFloats(c, 43);
  const Floats dy = randomFloats(count, 44);
  const Floats runMean = randomFloats(c, 45), runVar = randomFloats(c, 46, 0, 2);
  const int64_t sumsBytes = kernels::channelSumsScratchBytes(n, c, hw);
  const int64_t coefBytes = kernels::channelCoefficientsScratchBytes(c);

  // Forward statistics (with a prologue) and apply (with an epilogue).
  Doubles statsCpu(3 * c), statsGpu(3 * c);
  Scratch cpuSums(sumsBytes), gpuSums(sumsBytes);
  cpu::batchNormStatistics<X>(n, c, hw, Hooks{x.data()}, statsCpu.data(),
                              cpuSums.data());
  run("batchNormStatistics", dims, [&](int phase) {
    batchNormStatistics<X>(phase, n, c, hw, Hooks{x.data()}, statsGpu.data(),
                           gpuSums.data());
  });
  expectCloseDoubles(statsGpu, statsCpu, "statistics");
  EXPECT_TRUE(gpuSums.guardIntact());

  Floats yCpu(count), meanCpu(c), varCpu(c), yGpu(count), meanGpu(c), varGpu(c);
  Scratch cpuCoef(coefBytes), gpuCoef(coefBytes);
  cpu::batchNormApply<X>(n, c, hw, Hooks{x.data()}, gamma.data(), beta.data(),
                         statsCpu.data(), 1e-5, yCpu.data(), meanCpu.data(),
                         varCpu.data(), cpuCoef.data(), Relu{});
  run("batchNormApply", dims, [&](int phase) {
    batchNormApply<X>(phase, n, c, hw, Hooks{x.data()}, gamma.data(),
                      beta.data(), statsCpu.data(), 1e-5, yGpu.data(),
                      meanGpu.data(), varGpu.data(), gpuCoef.data(), Relu{});
  });
  expectClose(yGpu, yCpu, kTol, "apply y");
  expectClose(meanGpu, meanCpu, kExact, "apply mean");
  expectClose(varGpu, varCpu, kExact, "apply var");
  EXPECT_TRUE(gpuCoef.guardIntact());

  Floats newMeanCpu(c), newVarCpu(c), newMeanGpu(c), newVarGpu(c);
  cpu::runningStatsFromSums(c, runMean.data(), runVar.data(), statsCpu.data(),
                            0.1, newMeanCpu.data(), newVarCpu.data());
  run("runningStatsFromSums", {c}, [&](int phase) {
    runningStatsFromSums(phase, c, runMean.data(), runVar.data(),
                         statsCpu.data(), 0.1, newMeanGpu.data(),
                         newVarGpu.data());
  });
  expectClose(newMeanGpu, newMeanCpu, kExact, "running mean from sums");
  expectClose(newVarGpu, newVarCpu, kExact, "running var from sums");

  // Backward statistics (with a prologue) and apply (with an epilogue).
  cpu::batchNormBackwardStatistics<X>(n, c, hw, Hooks{dy.data()}, x.data(),
                                      meanCpu.data(), varCpu.data(), 1e-5,
                                      statsCpu.data(), cpuSums.data());
  run("batchNormBackwardStatistics", dims, [&](int phase) {
    batchNormBackwardStatistics<X>(phase, n, c, hw, Hooks{dy.data()}, x.data(),
                                   meanCpu.data(), varCpu.data(), 1e-5,
                                   statsGpu.data(), gpuSums.data());
  });
  expectCloseDoubles(statsGpu, statsCpu, "backward statistics");
  EXPECT_TRUE(gpuSums.guardIntact());

  Floats dxCpu(count), dgCpu(c), dbCpu(c), dxGpu(count), dgGpu(c), dbGpu(c);
  cpu::batchNormBackwardApply<X>(n, c, hw, Hooks{dy.data()}, x.data(),
                                 gamma.data(), meanCpu.data(), varCpu.data(),
                                 statsCpu.data(), 1e-5, dxCpu.data(),
                                 dgCpu.data(), dbCpu.data(), cpuCoef.data(),
                                 Relu{});
  run("batchNormBackwardApply", dims, [&](int phase) {
    batchNormBackwardApply<X>(phase, n, c, hw, Hooks{dy.data()}, x.data(),
                              gamma.data(), meanCpu.data(), varCpu.data(),
                              statsCpu.data(), 1e-5, dxGpu.data(),
                              dgGpu.data(), dbGpu.data(), gpuCoef.data(),
                              Relu{});
  });
  expectClose(dxGpu, dxCpu, kTol, "backward apply dx");
  expectClose(dgGpu, dgCpu, kExact, "backward apply dgamma");
  expectClose(dbGpu, dbCpu, kExact, "backward apply dbeta");
  EXPECT_TRUE(gpuCoef.guardIntact());
}

TEST(CudaSyncBatchNormTemplates, Nchw) {
  checkSyncBatchNorm<1>(5, 3, 7);
  checkSyncBatchNorm<1>(9, 3, 1000);
  checkSyncBatchNorm<1>(37, 5, 1);
  checkSyncBatchNorm<1>(3, 40, 9);
}

TEST(CudaSyncBatchNormTemplates, Nhwc) {
  checkSyncBatchNorm<6>(5, 6, 7);
  checkSyncBatchNorm<3>(9, 3, 1000);
  checkSyncBatchNorm<5>(37, 5, 1);
  checkSyncBatchNorm<40>(3, 40, 9);
}

} // namespace
} // namespace simclr::cuda::test
