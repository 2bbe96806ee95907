//===- BackendRegistry.cpp - The targets this runtime runs ----------------===//
//
// The one place that lists runtime targets: a new target adds its folder
// beside runtime/Backend/Cpu and one line here. The CUDA target is built
// only where CMake found the toolkit's headers (SIMCLR_HAVE_CUDA_BACKEND).
//
//===----------------------------------------------------------------------===//
#include "simclr/Runtime/Backend.h"

#include "Cpu/CpuBackend.h"
#ifdef SIMCLR_HAVE_CUDA_BACKEND
#include "Cuda/CudaBackend.h"
#endif

namespace simclr::runtime {

KernelLibrary::~KernelLibrary() = default;
Backend::~Backend() = default;
RuntimeTarget::~RuntimeTarget() = default;

const RuntimeTarget *findRuntimeTarget(TargetKind kind) {
  const RuntimeTarget *targets[] = {
    &cpuRuntimeTarget(),
#ifdef SIMCLR_HAVE_CUDA_BACKEND
    &cudaRuntimeTarget(),
#endif
  };
  for (const RuntimeTarget *target : targets)
    if (target->kind() == kind)
      return target;
  return nullptr;
}

} // namespace simclr::runtime
