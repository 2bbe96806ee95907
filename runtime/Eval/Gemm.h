//===- Gemm.h - The few row-major matrix products runtime/Eval needs ------===//
//
// Thin wrappers so the algorithms read as math and the BLAS dependency stays
// in one file: OpenBLAS's cblas_?gemm when found at configure time, plain
// (threaded) loops otherwise. All matrices are row-major with the
// given leading dimensions; C is overwritten (beta = 0).
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_EVAL_GEMM_H
#define SIMCLR_EVAL_GEMM_H

#include <cstdint>

namespace simclr::eval::detail {

/// C[m, n] = A[m, k] * B[n, k]^T.
void gemmNT(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
            const float *b, int64_t ldb, float *c, int64_t ldc);
void gemmNT(int64_t m, int64_t n, int64_t k, const double *a, int64_t lda,
            const double *b, int64_t ldb, double *c, int64_t ldc);

/// C[m, n] = A[k, m]^T * B[k, n].
void gemmTN(int64_t m, int64_t n, int64_t k, const double *a, int64_t lda,
            const double *b, int64_t ldb, double *c, int64_t ldc);

} // namespace simclr::eval::detail

#endif // SIMCLR_EVAL_GEMM_H
