//===- Dense.cpp - Reference linear layer and matrix multiply -------------===//
#include "Checks.h"
#include "simclr/Reference/Kernels.h"

namespace simclr::ref {

namespace {

/// op(m) for a 2-D tensor: element (i, j) of m or of m^T.
template <typename T> struct MaybeTransposed {
  const Tensor<T> &m;
  bool transposed;
  int64_t rows() const { return transposed ? m.dim(1) : m.dim(0); }
  int64_t cols() const { return transposed ? m.dim(0) : m.dim(1); }
  const T &at(int64_t i, int64_t j) const {
    return transposed ? m.at(j, i) : m.at(i, j);
  }
};

/// Offset in m's own storage of element (i, j) of op(m).
template <typename T>
int64_t opOffset(const Tensor<T> &m, bool transposed, int64_t i, int64_t j) {
  return transposed ? m.offset(j, i) : m.offset(i, j);
}

template <typename T>
Status checkMatmul(const char *kernel, const Tensor<T> &a, const Tensor<T> &b,
                   bool transposeA, bool transposeB) {
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "a", a, 2));
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "b", b, 2));
  MaybeTransposed<T> opA{a, transposeA}, opB{b, transposeB};
  if (opA.cols() != opB.rows())
    return invalidArgument(
        std::string(kernel) + ": contraction mismatch: a " +
        shapeToString(a.shape) + (transposeA ? " (transposed)" : "") + ", b " +
        shapeToString(b.shape) + (transposeB ? " (transposed)" : ""));
  return Status::ok();
}

} // namespace

template <typename T>
Expected<Tensor<T>> linear(const Tensor<T> &x, const Tensor<T> &w,
                           const NoDeduce<Tensor<T>> *b) {
  const char *kernel = "linear";
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "x", x, 2));
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "w", w, 2));
  if (w.dim(1) != x.dim(1))
    return detail::operandError(kernel, "w", w,
                                "expected [M," + std::to_string(x.dim(1)) +
                                    "] for x of shape " +
                                    shapeToString(x.shape));
  if (b)
    SIMCLR_RETURN_IF_ERROR(detail::checkShape(kernel, "b", *b, {w.dim(0)}));
  Tensor<T> y = Tensor<T>::zeros({x.dim(0), w.dim(0)});
  for (int64_t n = 0; n < x.dim(0); ++n)
    for (int64_t m = 0; m < w.dim(0); ++m) {
      T sum = b ? b->at(m) : T(0);
      for (int64_t k = 0; k < x.dim(1); ++k)
        sum += x.at(n, k) * w.at(m, k);
      y.at(n, m) = sum;
    }
  return y;
}

template <typename T>
Expected<LinearGrads<T>> linearBackward(const Tensor<T> &dy, const Tensor<T> &x,
                                        const Tensor<T> &w, bool hasBias) {
  const char *kernel = "linearBackward";
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "x", x, 2));
  SIMCLR_RETURN_IF_ERROR(detail::checkRank(kernel, "w", w, 2));
  if (w.dim(1) != x.dim(1))
    return detail::operandError(kernel, "w", w,
                                "expected [M," + std::to_string(x.dim(1)) +
                                    "] for x of shape " +
                                    shapeToString(x.shape));
  SIMCLR_RETURN_IF_ERROR(
      detail::checkShape(kernel, "dy", dy, {x.dim(0), w.dim(0)}));
  LinearGrads<T> grads;
  grads.dx = Tensor<T>::zeros(x.shape);
  grads.dw = Tensor<T>::zeros(w.shape);
  if (hasBias)
    grads.db = Tensor<T>::zeros({w.dim(0)});
  for (int64_t n = 0; n < x.dim(0); ++n)
    for (int64_t m = 0; m < w.dim(0); ++m) {
      T upstream = dy.at(n, m);
      if (hasBias)
        grads.db.at(m) += upstream;
      for (int64_t k = 0; k < x.dim(1); ++k) {
        grads.dx.at(n, k) += upstream * w.at(m, k);
        grads.dw.at(m, k) += upstream * x.at(n, k);
      }
    }
  return grads;
}

template <typename T>
Expected<Tensor<T>> matmul(const Tensor<T> &a, const Tensor<T> &b,
                           bool transposeA, bool transposeB) {
  SIMCLR_RETURN_IF_ERROR(checkMatmul("matmul", a, b, transposeA, transposeB));
  MaybeTransposed<T> opA{a, transposeA}, opB{b, transposeB};
  Tensor<T> c = Tensor<T>::zeros({opA.rows(), opB.cols()});
  for (int64_t i = 0; i < opA.rows(); ++i)
    for (int64_t j = 0; j < opB.cols(); ++j) {
      T sum = 0;
      for (int64_t k = 0; k < opA.cols(); ++k)
        sum += opA.at(i, k) * opB.at(k, j);
      c.at(i, j) = sum;
    }
  return c;
}

template <typename T>
Expected<BinaryGrads<T>> matmulBackward(const Tensor<T> &dc, const Tensor<T> &a,
                                        const Tensor<T> &b, bool transposeA,
                                        bool transposeB) {
  const char *kernel = "matmulBackward";
  SIMCLR_RETURN_IF_ERROR(checkMatmul(kernel, a, b, transposeA, transposeB));
  MaybeTransposed<T> opA{a, transposeA}, opB{b, transposeB};
  SIMCLR_RETURN_IF_ERROR(
      detail::checkShape(kernel, "dc", dc, {opA.rows(), opB.cols()}));
  BinaryGrads<T> grads{Tensor<T>::zeros(a.shape), Tensor<T>::zeros(b.shape)};
  // Each product op(a)[i,k]*op(b)[k,j] feeds c[i,j]; its partials land at the
  // storage position of that element in a and in b.
  for (int64_t i = 0; i < opA.rows(); ++i)
    for (int64_t j = 0; j < opB.cols(); ++j)
      for (int64_t k = 0; k < opA.cols(); ++k) {
        T upstream = dc.at(i, j);
        grads.da.data[opOffset(a, transposeA, i, k)] += upstream * opB.at(k, j);
        grads.db.data[opOffset(b, transposeB, k, j)] += opA.at(i, k) * upstream;
      }
  return grads;
}

#define SIMCLR_INSTANTIATE_DENSE(T)                                            \
  template Expected<Tensor<T>> linear(const Tensor<T> &, const Tensor<T> &,    \
                                      const Tensor<T> *);                      \
  template Expected<LinearGrads<T>> linearBackward(                            \
      const Tensor<T> &, const Tensor<T> &, const Tensor<T> &, bool);          \
  template Expected<Tensor<T>> matmul(const Tensor<T> &, const Tensor<T> &,    \
                                      bool, bool);                             \
  template Expected<BinaryGrads<T>> matmulBackward(                            \
      const Tensor<T> &, const Tensor<T> &, const Tensor<T> &, bool, bool);
SIMCLR_INSTANTIATE_DENSE(float)
SIMCLR_INSTANTIATE_DENSE(double)
#undef SIMCLR_INSTANTIATE_DENSE

} // namespace simclr::ref
