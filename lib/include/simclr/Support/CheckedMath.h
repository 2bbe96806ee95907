//===- CheckedMath.h - Overflow-checked 64-bit arithmetic -------*- C++ -*-===//
//
// Every count derived from a spec or a command line (steps, parameters,
// elements, batch x image bytes) is computed with these, so a value the
// user wrote too large is an error naming that value instead of a silently
// wrapped count (issue 14). Callers turn std::nullopt into a message that
// names the spec key or flag and the factors involved.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_SUPPORT_CHECKEDMATH_H
#define SIMCLR_SUPPORT_CHECKEDMATH_H

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>

namespace simclr {

/// a * b, or nothing when it does not fit in int64_t.
inline std::optional<int64_t> checkedMul(int64_t a, int64_t b) {
  int64_t product;
  if (__builtin_mul_overflow(a, b, &product))
    return std::nullopt;
  return product;
}

/// a + b, or nothing when it does not fit in int64_t.
inline std::optional<int64_t> checkedAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum))
    return std::nullopt;
  return sum;
}

/// The product of `factors`, or nothing when any partial product overflows.
template <typename Range> std::optional<int64_t> checkedProduct(const Range &factors) {
  int64_t product = 1;
  for (int64_t factor : factors) {
    std::optional<int64_t> next = checkedMul(product, factor);
    if (!next)
      return std::nullopt;
    product = *next;
  }
  return product;
}

inline std::optional<int64_t> checkedProduct(std::initializer_list<int64_t> factors) {
  return checkedProduct<std::initializer_list<int64_t>>(factors);
}

/// std::llround(value) when the rounded value fits in int64_t (a finite
/// value below 2^63 in magnitude), nothing otherwise: llround of a value
/// out of range is unspecified and yields garbage such as INT64_MIN.
inline std::optional<int64_t> checkedRound(double value) {
  // 2^63 is exactly representable; every double below it rounds into range.
  constexpr double kLimit = 9223372036854775808.0;
  if (!(std::fabs(value) < kLimit))
    return std::nullopt;
  return static_cast<int64_t>(std::llround(value));
}

} // namespace simclr

#endif // SIMCLR_SUPPORT_CHECKEDMATH_H
