//===- CudaExternProblems.h - The CUDA extern table's calls, checked -*- C++ -*-===//
//
// Pure host code (no CUDA headers), so it is tested on any machine: what a
// convolution or matmul extern entry asks for (the same routines and
// attributes as the CPU table, CpuExterns.h), checked against its
// operands' shapes, and the strides cuDNN's tensor descriptors take.
//
// cuDNN describes every 4-D tensor by dimensions in N, C, H, W order (K, C,
// R, S for filters) plus strides saying where each dimension lies in
// memory, so one descriptor covers NCHW and NHWC activations and OIHW and
// KRSC filters alike.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_BACKEND_CUDA_CUDAEXTERNPROBLEMS_H
#define SIMCLR_RUNTIME_BACKEND_CUDA_CUDAEXTERNPROBLEMS_H

#include "simclr/Support/ArtifactPlan.h"
#include "simclr/Support/Status.h"

#include <array>
#include <cstdint>
#include <vector>

namespace simclr::runtime::cuda {

using Dims4 = std::array<int64_t, 4>;

/// How a filter lies in memory: OIHW (the state's, as torchvision's
/// checkpoints), or KRSC (channels last, the layout cuDNN's NHWC engines
/// want), a copy the backend makes in its workspace when no engine takes
/// the OIHW filter with channels-last activations.
enum class FilterLayout { kOihw, kKrsc };

/// Strides, in elements, of a 4-D activation of `dims` = (N, C, H, W) in
/// `layout`, in N, C, H, W order; an error for a layout cuDNN cannot
/// describe by strides (the CPU's blocked nChw8c/nChw16c).
Expected<Dims4> activationStrides(Layout layout, const Dims4 &dims);
/// Strides of a filter of `dims` = (K, C, R, S) in `layout`, in K, C, R, S
/// order.
Dims4 filterStrides(FilterLayout layout, const Dims4 &dims);

enum class ConvDirection { kForward, kBackwardData, kBackwardFilter };

/// A convolution extern, checked: x (N, C, H, W), w (K, C/groups, R, S),
/// y (N, K, P, Q), and which operand holds each.
struct ConvProblem {
  ConvDirection direction = ConvDirection::kForward;
  Dims4 x{}, w{}, y{};
  Layout xLayout = Layout::kPlain, yLayout = Layout::kPlain;
  /// Operand indices of x (or dx), w (or dw) and y (or dy).
  size_t xOperand = 0, wOperand = 1, yOperand = 2;
  std::array<int64_t, 2> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  int64_t groups = 1;
};

/// A matmul extern C[M, N] = op(A)[M, K] op(B)[K, N], all row-major.
struct MatmulProblem {
  int64_t m = 0, n = 0, k = 0;
  bool transposeA = false, transposeB = false;
};

/// Checks extern `entry` on `buffers` (its inputs and output) as the CPU
/// table does: a known routine, two f32 inputs and one f32 output, rank-4
/// shapes that agree with stride/padding/dilation/groups (defaults 1, 0,
/// 1, 1), or rank-2 shapes that agree with transpose_lhs/transpose_rhs
/// (0 or 1, default 0); plain filters. Errors say what is wrong, naming
/// the operand, without the entry (the caller adds it).
Expected<ConvProblem>
parseConvProblem(const artifact::ScheduleEntry &entry,
                 const std::vector<const artifact::Buffer *> &buffers);
Expected<MatmulProblem>
parseMatmulProblem(const artifact::ScheduleEntry &entry,
                   const std::vector<const artifact::Buffer *> &buffers);

/// cuBLASLt is column-major: a row-major C = op(A) op(B) is computed as
/// the column-major C^T = op(B)^T op(A)^T, i.e. with the operands swapped.
struct ColumnMajorGemm {
  /// cuBLASLt's m, n, k.
  int64_t m = 0, n = 0, k = 0;
  /// Its A is our B, its B our A: whether each is transposed, and the
  /// rows, columns and leading dimension of each as stored (column-major).
  bool transposeA = false, transposeB = false;
  int64_t aRows = 0, aCols = 0, lda = 0;
  int64_t bRows = 0, bCols = 0, ldb = 0;
  int64_t ldc = 0;
};
ColumnMajorGemm columnMajorGemm(const MatmulProblem &problem);

/// An OIHW <-> KRSC filter transpose as cublasLtMatrixTransform computes
/// it (C = op(A) with op = transpose): per filter k, the row-major C x
/// (R*S) matrix, read column-major, transposed; the K filters one strided
/// batch. Column-major rows, columns and leading dimension of A (`from`)
/// and C (`to`).
struct FilterTranspose {
  struct Matrix {
    int64_t rows = 0, cols = 0, ld = 0;
  };
  Matrix from, to;
  int64_t batch = 0, batchStride = 0;
};
/// OIHW -> KRSC when `toKrsc`, KRSC -> OIHW otherwise, for a filter of
/// `dims` = (K, C, R, S).
FilterTranspose filterTranspose(const Dims4 &dims, bool toKrsc);

} // namespace simclr::runtime::cuda

#endif // SIMCLR_RUNTIME_BACKEND_CUDA_CUDAEXTERNPROBLEMS_H
