//===- Common.h - Hooks and helpers shared by the CPU kernel templates ----===//
//
// Conventions of every header under simclr/Kernels/Cpu (the library that
// generated C++ kernels call; see CpuKernels.h):
//  - f32 tensors, contiguous row-major (NCHW for images); sizes are int64_t
//    arguments, which the generator passes as literals so that GCC sees
//    constants after inlining.
//  - A prologue `Pro` is any functor `float(int64_t flatIndex)` returning an
//    input element; it may be called more than once per element. `Load`
//    wraps a plain pointer.
//  - An epilogue `Epi` is any functor `float(int64_t flatIndex, float value)`
//    applied to every output element (flat index of the output) before it is
//    stored; `Identity` stores the value unchanged.
//  - Outputs are deterministic: bit-identical for any OpenMP thread count.
//    Reductions split their domain into blocks whose size depends only on
//    the tensor sizes, accumulate each block sequentially in double, and
//    combine the blocks in a fixed order.
//  - Temporaries come from a `void *workspace` argument sized by
//    simclr/Kernels/Scratch.h (a planned region of the arena): no kernel
//    allocates.
//  - C++17, header-only, no simclr header but Scratch.h: the generated file
//    is compiled with g++ -std=c++17 -O3 -fopenmp and links only libgomp,
//    libm.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CPU_COMMON_H
#define SIMCLR_KERNELS_CPU_COMMON_H

#include "simclr/Kernels/Scratch.h"

#include <cstdint>

namespace simclr {
namespace cpu {

/// Hands out typed arrays from a kernel's workspace, in order, each
/// starting on a kernels::kScratchAlignment boundary, the way Scratch.h
/// counts them.
class Workspace {
public:
  explicit Workspace(void *base) : next_(static_cast<unsigned char *>(base)) {}
  template <typename T> T *take(int64_t count) {
    T *array = reinterpret_cast<T *>(next_);
    next_ += kernels::alignScratch(count * static_cast<int64_t>(sizeof(T)));
    return array;
  }

private:
  unsigned char *next_;
};

/// Prologue reading a plain array: Load{ptr}(i) == ptr[i].
struct Load {
  const float *ptr;
  float operator()(int64_t i) const { return ptr[i]; }
};

/// Epilogue that stores the computed value unchanged.
struct Identity {
  float operator()(int64_t, float value) const { return value; }
};

namespace detail {

/// Index of anchor i's positive among 2N rows: (i + N) mod 2N, the other
/// view of the same image (SimCLR's pairing).
inline int64_t positiveOf(int64_t i, int64_t rows2N) {
  int64_t half = rows2N / 2;
  return i < half ? i + half : i - half;
}

} // namespace detail
} // namespace cpu
} // namespace simclr

#endif // SIMCLR_KERNELS_CPU_COMMON_H
