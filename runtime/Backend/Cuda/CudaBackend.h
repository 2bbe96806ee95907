//===- CudaBackend.h - The CUDA target's runtime -----------------*- C++ -*-===//
//
// NVIDIA GPUs. The kernel library is a cubin (NVRTC, for plan.json's
// library.architecture, sm_XY) loaded as a module on the chosen device;
// memory is device memory, one allocation per block; generated kernels run
// as their entries' launches (CudaLaunch.h), convolutions through cuDNN
// (CudaConvolution.h), matmuls through cuBLASLt (CudaMatmul.h), collectives
// of one replica as device-to-device copies. Every entry is enqueued on one
// stream; a program's sequence of entries runs eagerly the first time, is
// captured into a CUDA graph the second time and replayed from then on.
// The driver, cuDNN and cuBLASLt are opened with dlopen (CudaLibraries.h):
// the runtime links none of them.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_BACKEND_CUDA_CUDABACKEND_H
#define SIMCLR_RUNTIME_BACKEND_CUDA_CUDABACKEND_H

#include "simclr/Runtime/Backend.h"

namespace simclr::runtime {

/// The CUDA RuntimeTarget (a static object).
const RuntimeTarget &cudaRuntimeTarget();

} // namespace simclr::runtime

#endif // SIMCLR_RUNTIME_BACKEND_CUDA_CUDABACKEND_H
