//===- BackendRegistry.cpp - The targets this runtime runs ----------------===//
//
// The one place that lists runtime targets: a new target adds its folder
// beside runtime/Backend/Cpu and one line here.
//
//===----------------------------------------------------------------------===//
#include "simclr/Runtime/Backend.h"

#include "Cpu/CpuBackend.h"

namespace simclr::runtime {

KernelLibrary::~KernelLibrary() = default;
Backend::~Backend() = default;
RuntimeTarget::~RuntimeTarget() = default;

const RuntimeTarget *findRuntimeTarget(TargetKind kind) {
  const RuntimeTarget *targets[] = {&cpuRuntimeTarget()};
  for (const RuntimeTarget *target : targets)
    if (target->kind() == kind)
      return target;
  return nullptr;
}

} // namespace simclr::runtime
