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
//  - C++17, header-only, no other simclr header: the generated file is
//    compiled with g++ -std=c++17 -O3 -fopenmp and links only libgomp, libm.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_KERNELS_CPU_COMMON_H
#define SIMCLR_KERNELS_CPU_COMMON_H

#include <cstdint>

namespace simclr {
namespace cpu {

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

/// Elements a reduction block covers (rounded to whole rows): large enough
/// to amortize a task, small enough that every kernel of a SimCLR step has
/// many blocks. Changing it changes the rounding of the results (but never
/// their dependence on the thread count).
constexpr int64_t kReduceBlockElements = 4096;

/// Rows of `rowLength` elements per reduction block (at least one).
inline int64_t rowsPerBlock(int64_t rowLength) {
  int64_t rows = kReduceBlockElements / (rowLength > 0 ? rowLength : 1);
  return rows > 0 ? rows : 1;
}

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

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
