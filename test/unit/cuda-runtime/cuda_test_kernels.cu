//===- cuda_test_kernels.cu - A stand-in for an NVRTC kernel library ------===//
//
// Compiled by nvcc to a cubin for sm_90 at build time (CMakeLists.txt): the
// kernel ABI of a CUDA artifact (Vocabulary.h launch attributes,
// ArtifactPlan.h symbols), so CudaDeviceTest runs the CUDA backend on a
// real module where a GPU is present.
//
//===----------------------------------------------------------------------===//
#include "simclr/Support/ArtifactPlan.h"

/// What the test plan's library.fingerprint says.
extern "C" __device__ const char simclr_kernel_library_fingerprint[] =
    "cuda-runtime-test-kernels";
extern "C" __device__ const long long simclr_kernel_library_abi_version =
    simclr::artifact::kPlanFormatVersion;

/// Launch 0 of entry "scale_shift": out[i] = 2 a[i] (operands: a, n, out;
/// one block).
extern "C" __global__ void scale_shift_0(void *const *operands) {
  const float *a = static_cast<const float *>(operands[0]);
  const long long *n = static_cast<const long long *>(operands[1]);
  float *out = static_cast<float *>(operands[2]);
  for (long long i = threadIdx.x; i < *n; i += blockDim.x)
    out[i] = 2.0f * a[i];
}

/// Launch 1: out[i] += 1, after launch 0 (the launches run in order).
extern "C" __global__ void scale_shift_1(void *const *operands) {
  const long long *n = static_cast<const long long *>(operands[1]);
  float *out = static_cast<float *>(operands[2]);
  for (long long i = threadIdx.x; i < *n; i += blockDim.x)
    out[i] += 1.0f;
}
