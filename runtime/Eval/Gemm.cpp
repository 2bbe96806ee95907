//===- Gemm.cpp - BLAS or loop matrix products for runtime/Eval -----------===//
#include "Gemm.h"

#ifndef SIMCLR_EVAL_HAVE_CBLAS
#include "Parallel.h"
#endif

#ifdef SIMCLR_EVAL_HAVE_CBLAS
#include <cblas.h>
#endif

namespace simclr::eval::detail {

#ifdef SIMCLR_EVAL_HAVE_CBLAS

void gemmNT(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
            const float *b, int64_t ldb, float *c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, lda,
              b, ldb, 0.0f, c, ldc);
}

void gemmNT(int64_t m, int64_t n, int64_t k, const double *a, int64_t lda,
            const double *b, int64_t ldb, double *c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0, a, lda,
              b, ldb, 0.0, c, ldc);
}

void gemmTN(int64_t m, int64_t n, int64_t k, const double *a, int64_t lda,
            const double *b, int64_t ldb, double *c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, 1.0, a, lda,
              b, ldb, 0.0, c, ldc);
}

#else

namespace {

template <typename T>
void loopGemmNT(int64_t m, int64_t n, int64_t k, const T *a, int64_t lda,
                const T *b, int64_t ldb, T *c, int64_t ldc) {
  parallelFor(m, 1, [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      for (int64_t j = 0; j < n; ++j) {
        T sum = 0;
        for (int64_t p = 0; p < k; ++p)
          sum += a[i * lda + p] * b[j * ldb + p];
        c[i * ldc + j] = sum;
      }
  });
}

} // namespace

void gemmNT(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
            const float *b, int64_t ldb, float *c, int64_t ldc) {
  loopGemmNT(m, n, k, a, lda, b, ldb, c, ldc);
}

void gemmNT(int64_t m, int64_t n, int64_t k, const double *a, int64_t lda,
            const double *b, int64_t ldb, double *c, int64_t ldc) {
  loopGemmNT(m, n, k, a, lda, b, ldb, c, ldc);
}

void gemmTN(int64_t m, int64_t n, int64_t k, const double *a, int64_t lda,
            const double *b, int64_t ldb, double *c, int64_t ldc) {
  parallelFor(m, 1, [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      for (int64_t j = 0; j < n; ++j)
        c[i * ldc + j] = 0;
      for (int64_t p = 0; p < k; ++p) {
        double ai = a[p * lda + i];
        for (int64_t j = 0; j < n; ++j)
          c[i * ldc + j] += ai * b[p * ldb + j];
      }
    }
  });
}

#endif

} // namespace simclr::eval::detail
