//===- CudaKernels.cuh - The CUDA kernel template library -----------------===//
//
// What generated CUDA kernels include (compiled by NVRTC with
// -I lib/include): every device template of namespace simclr::cuda, each
// the CUDA form of the CPU template of the same name (CpuKernels.h) with a
// leading `int phase`; Launch.h gives the launches of each. Conventions are
// in Common.cuh.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CUDA_CUDAKERNELS_CUH
#define SIMCLR_KERNELS_CUDA_CUDAKERNELS_CUH

#include "simclr/Kernels/Cuda/Channel.cuh"
#include "simclr/Kernels/Cuda/Common.cuh"
#include "simclr/Kernels/Cuda/DataMovement.cuh"
#include "simclr/Kernels/Cuda/Loss.cuh"
#include "simclr/Kernels/Cuda/Optimizers.cuh"
#include "simclr/Kernels/Cuda/Pool.cuh"
#include "simclr/Kernels/Cuda/SyncBatchNorm.cuh"

#endif // SIMCLR_KERNELS_CUDA_CUDAKERNELS_CUH
