//===- CudaMatmul.h - The matmul extern and filter transposes through cuBLASLt -*- C++ -*-===//
//
// "matmul" runs as cublasLtMatmul in float32 with CUBLAS_COMPUTE_32F (not
// _FAST_TF32: TF32 would break the 1e-4 comparisons against the CPU), the
// row-major problem computed column-major with its operands swapped
// (columnMajorGemm), the algorithm the first of cuBLASLt's heuristic for a
// workspace of at most kMatmulWorkspaceLimit.
//
// Filter transposes OIHW <-> KRSC (for cuDNN engines that need channels-
// last filters next to channels-last activations) are
// cublasLtMatrixTransform calls: for each of the K filters, a transpose of
// the C x (R*S) matrix, K of them as one strided batch.
//
// Ownership: each object owns its cuBLASLt descriptors; the handle belongs
// to the CudaBackend and outlives them.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_BACKEND_CUDA_CUDAMATMUL_H
#define SIMCLR_RUNTIME_BACKEND_CUDA_CUDAMATMUL_H

#include "Cuda/CudaExternProblems.h"
#include "Cuda/CudaLibraries.h"

#include <memory>

namespace simclr::runtime::cuda {

/// The most workspace a matmul's algorithm may ask for: 32 MiB, what
/// cuBLAS's documentation recommends on Hopper.
inline constexpr size_t kMatmulWorkspaceLimit = size_t{32} << 20;

class LtMatmul {
public:
  /// Describes `problem` and picks its algorithm.
  static Expected<std::unique_ptr<LtMatmul>> plan(const CublasLtApi &api,
                                                  cublasLtHandle_t handle,
                                                  const MatmulProblem &problem);
  ~LtMatmul();
  size_t workspaceBytes() const { return workspaceBytes_; }
  /// Enqueues c = op(a) op(b) (row-major) on `stream`.
  Status run(CUstream stream, const void *a, const void *b, void *c,
             void *workspace) const;

private:
  explicit LtMatmul(const CublasLtApi &api, cublasLtHandle_t handle)
      : api_(api), handle_(handle) {}
  const CublasLtApi &api_;
  cublasLtHandle_t handle_;
  cublasLtMatmulDesc_t desc_ = nullptr;
  cublasLtMatrixLayout_t a_ = nullptr, b_ = nullptr, c_ = nullptr;
  cublasLtMatmulAlgo_t algo_{};
  size_t workspaceBytes_ = 0;
};

class LtFilterTransform {
public:
  /// OIHW -> KRSC when `toKrsc`, KRSC -> OIHW otherwise, for a float
  /// filter of `dims` (K, C, R, S).
  static Expected<std::unique_ptr<LtFilterTransform>>
  plan(const CublasLtApi &api, cublasLtHandle_t handle, const Dims4 &dims,
       bool toKrsc);
  ~LtFilterTransform();
  Status run(CUstream stream, const void *from, void *to) const;

private:
  explicit LtFilterTransform(const CublasLtApi &api, cublasLtHandle_t handle)
      : api_(api), handle_(handle) {}
  const CublasLtApi &api_;
  cublasLtHandle_t handle_;
  cublasLtMatrixTransformDesc_t desc_ = nullptr;
  cublasLtMatrixLayout_t from_ = nullptr, to_ = nullptr;
};

} // namespace simclr::runtime::cuda

#endif // SIMCLR_RUNTIME_BACKEND_CUDA_CUDAMATMUL_H
