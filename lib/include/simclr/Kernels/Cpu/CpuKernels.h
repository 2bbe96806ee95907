//===- CpuKernels.h - Umbrella header of the CPU kernel templates ---------===//
//
// The header-only library that simclrc's generated C++ kernels call
// (namespace simclr::cpu, C++17, OpenMP, f32). Conventions shared by all
// kernels (prologue/epilogue hooks, layouts, determinism) are in Common.h.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CPU_CPUKERNELS_H
#define SIMCLR_KERNELS_CPU_CPUKERNELS_H

#include "simclr/Kernels/Cpu/Channel.h"
#include "simclr/Kernels/Cpu/Common.h"
#include "simclr/Kernels/Cpu/DataMovement.h"
#include "simclr/Kernels/Cpu/Loss.h"
#include "simclr/Kernels/Cpu/Optimizers.h"
#include "simclr/Kernels/Cpu/Pool.h"
#include "simclr/Kernels/Cpu/SyncBatchNorm.h"

#endif // SIMCLR_KERNELS_CPU_CPUKERNELS_H
