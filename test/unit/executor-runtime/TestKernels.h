//===- TestKernels.h - The hand-written kernel library the tests load -*- C++ -*-===//
//
// simclr_test_kernels (test_kernels.cpp) stands in for a generated
// kernels.so: it exports the kernel ABI (ArtifactPlan.h) and a few kernels
// whose sizes are fixed here, as a generator bakes sizes into its kernels.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_TEST_EXECUTOR_RUNTIME_TESTKERNELS_H
#define SIMCLR_TEST_EXECUTOR_RUNTIME_TESTKERNELS_H

#include <cstdint>

namespace simclr::testkernels {

/// What simclr_kernel_library_fingerprint() returns.
inline constexpr const char *kFingerprint = "simclr-test-kernels-fingerprint-1";

/// simclr_test_relu: y[i] = max(x[i], 0); operands x, y (f32).
/// simclr_test_scale2: y[i] = 2 x[i]; operands x, y (f32).
inline constexpr int64_t kElementwiseCount = 512;

/// simclr_test_train_step: operands views (f32[kViewCount]), step (i64),
/// param (f32[kParamCount], state) -> param (updated in place), loss, lr
/// (f32 scalars):
///   loss = mean(views) * param[0], lr = kBaseLr / (1 + step),
///   param[i] -= lr for every i.
inline constexpr int64_t kViewCount = 2 * 1 * 4 * 4 * 2;
inline constexpr int64_t kParamCount = 4;
inline constexpr float kBaseLr = 0.5f;

/// simclr_test_encode: operands images (u8[kEncodeBatch * kFeatureDim]) ->
/// features (f32 [kEncodeBatch, kFeatureDim]) = images / 255.
inline constexpr int64_t kEncodeBatch = 2;
inline constexpr int64_t kFeatureDim = 16;

} // namespace simclr::testkernels

#endif // SIMCLR_TEST_EXECUTOR_RUNTIME_TESTKERNELS_H
