//===- CpuBackend.h - The CPU target's runtime -------------------*- C++ -*-===//
//
// x86-64 CPUs: kernel libraries are shared objects (dlopen) built for one
// x86-64 level (CpuIsa.h), which this machine must support; memory is host
// memory; generated kernels are called directly, extern routines through
// oneDNN (CpuExterns.h), collectives of one replica are copies. Kernels and
// oneDNN share one OpenMP pool of `threads` threads.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_BACKEND_CPU_CPUBACKEND_H
#define SIMCLR_RUNTIME_BACKEND_CPU_CPUBACKEND_H

#include "simclr/Runtime/Backend.h"

namespace simclr::runtime {

/// The CPU's RuntimeTarget (a static object).
const RuntimeTarget &cpuRuntimeTarget();

} // namespace simclr::runtime

#endif // SIMCLR_RUNTIME_BACKEND_CPU_CPUBACKEND_H
