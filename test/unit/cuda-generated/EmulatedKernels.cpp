//===- EmulatedKernels.cpp - A generated kernels.cu as a host library -----===//
//
// Compiled by CudaGeneratedKernelTests at test time, once per artifact:
//   c++ -x c++ -shared -fPIC -I lib/include -I test/unit/cuda
//       -DSIMCLR_GENERATED_CUDA='"DIR/kernels.cu"' EmulatedKernels.cpp
// CudaEmulation.h turns the __global__ launch functions of kernels.cu into
// host functions; simclr_emulated_launch runs one of them over a grid, as
// the CUDA runtime backend would launch it, block by block with every
// thread a fiber. The emulator's state (threadIdx, the fibers) lives in
// this library, so the test reaches it only through this entry point.
//
//===----------------------------------------------------------------------===//
#include "CudaEmulation.h"

#include SIMCLR_GENERATED_CUDA

#include <exception>
#include <string>

/// Runs `function` (one `NAME__launch<k>` of kernels.cu) on `operands`
/// over grid x block; returns null, or the emulator's error (a divergent
/// __syncthreads, dynamic shared memory) in a static string.
extern "C" const char *simclr_emulated_launch(void (*function)(void *const *),
                                              void *const *operands,
                                              const int64_t grid[3],
                                              const int64_t block[3],
                                              int64_t sharedBytes) {
  static std::string error;
  simclr::cuda::LaunchShape shape;
  for (int d = 0; d < 3; ++d) {
    shape.grid[d] = grid[d];
    shape.block[d] = block[d];
  }
  shape.sharedBytes = sharedBytes;
  try {
    simclr::cuda::emulation::launch({shape}, [&](int) { function(operands); });
  } catch (const std::exception &e) {
    error = e.what();
    return error.c_str();
  }
  return nullptr;
}
