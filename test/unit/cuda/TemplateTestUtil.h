//===- TemplateTestUtil.h - Shared helpers of the CUDA template tests -----===//
//
// Random inputs, the tolerance check, guarded workspaces and the emulated
// launch of one template, for CudaTemplateTests.cpp and its siblings.
// Includes the CPU templates, then CudaEmulation.h, then the CUDA ones (the
// emulation's macros must come after the standard headers the CPU
// templates include).
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_TEST_UNIT_CUDA_TEMPLATETESTUTIL_H
#define SIMCLR_TEST_UNIT_CUDA_TEMPLATETESTUTIL_H

#include "simclr/Kernels/Cpu/CpuKernels.h"

#include "CudaEmulation.h"

#include "simclr/Kernels/Cuda/CudaKernels.cuh"
#include "simclr/Kernels/Cuda/Launch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace simclr::cuda::test {

using Floats = std::vector<float>;

//===----------------------------------------------------------------------===//
// Tolerances: |actual - expected| <= tol * (|expected| + max|expected|), as
// CpuKernelTest measures them.
//===----------------------------------------------------------------------===//

/// The brief's bound for float32 kernels against the CPU: both sides run
/// the same float formulas; only the order of double sums differs (double
/// rounding, far below float's) and, on a GPU, FMA contraction.
constexpr double kTol = 1e-5;
/// Where the CPU adds in the same order (max-pool gradients, average
/// pooling, copies, optimizers, the mean of the per-row losses) the
/// emulated results are the CPU's bit for bit.
constexpr double kExact = 0;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

inline Floats randomFloats(size_t count, unsigned seed, double lo = -1.0,
                           double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  Floats values(count);
  for (float &value : values)
    value = static_cast<float>(dist(rng));
  return values;
}

inline void expectClose(const Floats &actual, const Floats &expected,
                        double tol, const std::string &what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  double scale = 0;
  for (float value : expected)
    if (std::isfinite(value))
      scale = std::max(scale, std::fabs(static_cast<double>(value)));
  int failures = 0;
  for (size_t i = 0; i < expected.size() && failures < 5; ++i) {
    const double e = expected[i], a = actual[i];
    const bool ok = std::isnan(e)
                        ? std::isnan(a)
                        : std::fabs(a - e) <= tol * (std::fabs(e) + scale);
    if (!ok) {
      ++failures;
      ADD_FAILURE() << what << ": element " << i << " is " << a << ", expected "
                    << e << " (tolerance " << tol << ")";
    }
  }
}

/// A workspace of exactly `planned` bytes (Scratch.h) and a guard after it.
class Scratch {
public:
  explicit Scratch(int64_t planned)
      : planned_(static_cast<size_t>(planned)),
        bytes_(planned_ + kGuardBytes + kernels::kScratchAlignment) {
    // Aligned as the arena aligns every region.
    const auto address = reinterpret_cast<uintptr_t>(bytes_.data());
    offset_ =
        (kernels::kScratchAlignment - address % kernels::kScratchAlignment) %
        kernels::kScratchAlignment;
    std::fill(bytes_.begin(), bytes_.end(), kGuardByte);
  }
  void *data() { return bytes_.data() + offset_; }
  bool guardIntact() const {
    for (size_t i = 0; i < kGuardBytes; ++i)
      if (bytes_[offset_ + planned_ + i] != kGuardByte)
        return false;
    return true;
  }

private:
  static constexpr size_t kGuardBytes = 256;
  static constexpr unsigned char kGuardByte = 0xA5;
  size_t planned_;
  std::vector<unsigned char> bytes_;
  size_t offset_ = 0;
};

/// Runs the phases of template `name` for `dims` through the emulator.
template <typename F>
void run(const std::string &name, const std::vector<int64_t> &dims,
         F phaseFunction) {
  std::optional<std::vector<LaunchShape>> shapes = launchesOf(name, dims);
  ASSERT_TRUE(shapes.has_value()) << name << " has no launches";
  emulation::launch(*shapes, phaseFunction);
}

/// A prologue and an epilogue as the emitter prints them (fused
/// elementwise work on the flat index).
struct Hooks {
  const float *input;
  float operator()(int64_t i) const { return input[i] * 1.5f - 0.25f; }
};
struct Relu {
  float operator()(int64_t i, float r) const {
    return r < 0.0f ? 0.01f * static_cast<float>(i % 7) : r;
  }
};

} // namespace simclr::cuda::test

#endif // SIMCLR_TEST_UNIT_CUDA_TEMPLATETESTUTIL_H
