//===- Checks.h - Operand validation for reference kernels ------*- C++ -*-===//
//
// Every public kernel validates its operands first so that a caller's shape
// bug becomes an invalid-argument Status naming the kernel, the operand and
// its shape, instead of an out-of-bounds access.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_LIB_REFERENCE_CHECKS_H
#define SIMCLR_LIB_REFERENCE_CHECKS_H

#include "simclr/Reference/Tensor.h"
#include "simclr/Support/Status.h"

#include <string>
#include <vector>

namespace simclr::ref::detail {

/// Passed as checkRank's `rank` to accept any rank.
constexpr int64_t kAnyRank = -1;

/// "kernel: operand 'name' has shape [..]: problem".
template <typename T>
Status operandError(const char *kernel, const char *name, const Tensor<T> &t,
                    const std::string &problem) {
  return invalidArgument(std::string(kernel) + ": operand '" + name +
                         "' has shape " + shapeToString(t.shape) + ": " +
                         problem);
}

/// Checks that `t` is consistent and, unless `rank` is kAnyRank, has that
/// rank.
template <typename T>
Status checkRank(const char *kernel, const char *name, const Tensor<T> &t,
                 int64_t rank) {
  if (!t.isConsistent())
    return operandError(kernel, name, t,
                        "holds " + std::to_string(t.data.size()) +
                            " elements, which does not match the shape");
  if (rank != kAnyRank && t.rank() != rank)
    return operandError(kernel, name, t,
                        "expected rank " + std::to_string(rank));
  return Status::ok();
}

/// Checks that `t` is consistent and has exactly `shape`.
template <typename T>
Status checkShape(const char *kernel, const char *name, const Tensor<T> &t,
                  const std::vector<int64_t> &shape) {
  SIMCLR_RETURN_IF_ERROR(checkRank(kernel, name, t, kAnyRank));
  if (t.shape != shape)
    return operandError(kernel, name, t,
                        "expected shape " + shapeToString(shape));
  return Status::ok();
}

} // namespace simclr::ref::detail

#endif // SIMCLR_LIB_REFERENCE_CHECKS_H
