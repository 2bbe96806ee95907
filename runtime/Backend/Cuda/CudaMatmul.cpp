//===- CudaMatmul.cpp - The matmul extern and filter transposes through cuBLASLt ===//
#include "Cuda/CudaMatmul.h"

namespace simclr::runtime::cuda {
namespace {

/// A column-major float matrix layout, optionally a strided batch.
Status createLayout(const CublasLtApi &api, cublasLtMatrixLayout_t &layout,
                    int64_t rows, int64_t cols, int64_t ld, int32_t batch = 1,
                    int64_t batchStride = 0) {
  SIMCLR_CUBLASLT_CHECK(
      api, cublasLtMatrixLayoutCreate(&layout, CUDA_R_32F,
                                      static_cast<uint64_t>(rows),
                                      static_cast<uint64_t>(cols), ld));
  if (batch > 1) {
    SIMCLR_CUBLASLT_CHECK(api, cublasLtMatrixLayoutSetAttribute(
                                   layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                   &batch, sizeof(batch)));
    SIMCLR_CUBLASLT_CHECK(api, cublasLtMatrixLayoutSetAttribute(
                                   layout,
                                   CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                   &batchStride, sizeof(batchStride)));
  }
  return Status::ok();
}

cublasOperation_t operation(bool transpose) {
  return transpose ? CUBLAS_OP_T : CUBLAS_OP_N;
}

} // namespace

Expected<std::unique_ptr<LtMatmul>>
LtMatmul::plan(const CublasLtApi &api, cublasLtHandle_t handle,
               const MatmulProblem &problem) {
  std::unique_ptr<LtMatmul> matmul(new LtMatmul(api, handle));
  ColumnMajorGemm g = columnMajorGemm(problem);
  SIMCLR_CUBLASLT_CHECK(
      api,
      cublasLtMatmulDescCreate(&matmul->desc_, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  cublasOperation_t transA = operation(g.transposeA);
  cublasOperation_t transB = operation(g.transposeB);
  SIMCLR_CUBLASLT_CHECK(api, cublasLtMatmulDescSetAttribute(
                                 matmul->desc_, CUBLASLT_MATMUL_DESC_TRANSA,
                                 &transA, sizeof(transA)));
  SIMCLR_CUBLASLT_CHECK(api, cublasLtMatmulDescSetAttribute(
                                 matmul->desc_, CUBLASLT_MATMUL_DESC_TRANSB,
                                 &transB, sizeof(transB)));
  SIMCLR_RETURN_IF_ERROR(
      createLayout(api, matmul->a_, g.aRows, g.aCols, g.lda));
  SIMCLR_RETURN_IF_ERROR(
      createLayout(api, matmul->b_, g.bRows, g.bCols, g.ldb));
  SIMCLR_RETURN_IF_ERROR(createLayout(api, matmul->c_, g.m, g.n, g.ldc));

  cublasLtMatmulPreference_t preference = nullptr;
  SIMCLR_CUBLASLT_CHECK(api, cublasLtMatmulPreferenceCreate(&preference));
  size_t limit = kMatmulWorkspaceLimit;
  cublasStatus_t status = api.cublasLtMatmulPreferenceSetAttribute(
      preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &limit,
      sizeof(limit));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  if (status == CUBLAS_STATUS_SUCCESS)
    status = api.cublasLtMatmulAlgoGetHeuristic(
        handle, matmul->desc_, matmul->a_, matmul->b_, matmul->c_, matmul->c_,
        preference, 1, &result, &found);
  api.cublasLtMatmulPreferenceDestroy(preference);
  if (status != CUBLAS_STATUS_SUCCESS)
    return cublasLtError(api, status, "cublasLtMatmulAlgoGetHeuristic");
  if (found == 0)
    return unavailable(
        "cuBLASLt has no float32 algorithm for a " + std::to_string(problem.m) +
        " x " + std::to_string(problem.k) + " by " + std::to_string(problem.k) +
        " x " + std::to_string(problem.n) + " matmul");
  matmul->algo_ = result.algo;
  matmul->workspaceBytes_ = result.workspaceSize;
  return matmul;
}

LtMatmul::~LtMatmul() {
  if (a_)
    api_.cublasLtMatrixLayoutDestroy(a_);
  if (b_)
    api_.cublasLtMatrixLayoutDestroy(b_);
  if (c_)
    api_.cublasLtMatrixLayoutDestroy(c_);
  if (desc_)
    api_.cublasLtMatmulDescDestroy(desc_);
}

Status LtMatmul::run(CUstream stream, const void *a, const void *b, void *c,
                     void *workspace) const {
  const float one = 1.0f, zero = 0.0f;
  // Operands swapped: cuBLASLt's A is our b, its B our a (columnMajorGemm).
  SIMCLR_CUBLASLT_CHECK(
      api_, cublasLtMatmul(handle_, desc_, &one, b, a_, a, b_, &zero, c, c_, c,
                           c_, &algo_, workspace, workspaceBytes_, stream));
  return Status::ok();
}

Expected<std::unique_ptr<LtFilterTransform>>
LtFilterTransform::plan(const CublasLtApi &api, cublasLtHandle_t handle,
                        const Dims4 &dims, bool toKrsc) {
  std::unique_ptr<LtFilterTransform> transform(
      new LtFilterTransform(api, handle));
  SIMCLR_CUBLASLT_CHECK(
      api, cublasLtMatrixTransformDescCreate(&transform->desc_, CUDA_R_32F));
  cublasOperation_t transpose = CUBLAS_OP_T;
  SIMCLR_CUBLASLT_CHECK(api, cublasLtMatrixTransformDescSetAttribute(
                                 transform->desc_,
                                 CUBLASLT_MATRIX_TRANSFORM_DESC_TRANSA,
                                 &transpose, sizeof(transpose)));
  FilterTranspose t = filterTranspose(dims, toKrsc);
  int32_t batch = static_cast<int32_t>(t.batch);
  SIMCLR_RETURN_IF_ERROR(createLayout(api, transform->from_, t.from.rows,
                                      t.from.cols, t.from.ld, batch,
                                      t.batchStride));
  SIMCLR_RETURN_IF_ERROR(createLayout(api, transform->to_, t.to.rows, t.to.cols,
                                      t.to.ld, batch, t.batchStride));
  return transform;
}

LtFilterTransform::~LtFilterTransform() {
  if (from_)
    api_.cublasLtMatrixLayoutDestroy(from_);
  if (to_)
    api_.cublasLtMatrixLayoutDestroy(to_);
  if (desc_)
    api_.cublasLtMatrixTransformDescDestroy(desc_);
}

Status LtFilterTransform::run(CUstream stream, const void *from,
                              void *to) const {
  const float one = 1.0f, zero = 0.0f;
  SIMCLR_CUBLASLT_CHECK(
      api_, cublasLtMatrixTransform(handle_, desc_, &one, from, from_, &zero,
                                    nullptr, nullptr, to, to_, stream));
  return Status::ok();
}

} // namespace simclr::runtime::cuda
