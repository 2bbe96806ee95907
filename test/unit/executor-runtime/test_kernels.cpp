//===- test_kernels.cpp - A hand-written kernel library for executor tests ===//
#include "TestKernels.h"

#include "simclr/Support/ArtifactPlan.h"

#include <algorithm>
#include <cstdint>

using namespace simclr::testkernels;

#ifndef SIMCLR_TEST_ABI_VERSION
/// The plan format version this library claims (a second build claims
/// another, to test the runtime's refusal).
#define SIMCLR_TEST_ABI_VERSION simclr::artifact::kPlanFormatVersion
#endif

extern "C" {

const char *simclr_kernel_library_fingerprint(void) { return kFingerprint; }

int64_t simclr_kernel_library_abi_version(void) { return SIMCLR_TEST_ABI_VERSION; }

void simclr_test_relu(void *const *operands) {
  const float *x = static_cast<const float *>(operands[0]);
  float *y = static_cast<float *>(operands[1]);
  for (int64_t i = 0; i < kElementwiseCount; ++i)
    y[i] = std::max(x[i], 0.0f);
}

void simclr_test_scale2(void *const *operands) {
  const float *x = static_cast<const float *>(operands[0]);
  float *y = static_cast<float *>(operands[1]);
  for (int64_t i = 0; i < kElementwiseCount; ++i)
    y[i] = 2.0f * x[i];
}

void simclr_test_train_step(void *const *operands) {
  const float *views = static_cast<const float *>(operands[0]);
  int64_t step = *static_cast<const int64_t *>(operands[1]);
  float *param = static_cast<float *>(operands[2]);
  float *loss = static_cast<float *>(operands[4]);
  float *lr = static_cast<float *>(operands[5]);
  float sum = 0;
  for (int64_t i = 0; i < kViewCount; ++i)
    sum += views[i];
  *loss = sum / kViewCount * param[0];
  *lr = kBaseLr / static_cast<float>(1 + step);
  for (int64_t i = 0; i < kParamCount; ++i)
    param[i] -= *lr;
}

void simclr_test_encode(void *const *operands) {
  const uint8_t *images = static_cast<const uint8_t *>(operands[0]);
  float *features = static_cast<float *>(operands[1]);
  constexpr float kMaxPixel = 255.0f;
  for (int64_t i = 0; i < kEncodeBatch * kFeatureDim; ++i)
    features[i] = images[i] / kMaxPixel;
}

} // extern "C"
