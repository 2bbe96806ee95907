//===- DType.h - Element types shared by compiler and runtime ---*- C++ -*-===//
//
// THE one definition of the element types simclrc knows. The compiler, the
// artifact format, the runtime and the safetensors files all use this enum;
// no other copy may exist (STYLE.md rule 2). The numeric values are part of
// the artifact format: append new types at the end and bump the artifact
// version, never reorder.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_SUPPORT_DTYPE_H
#define SIMCLR_SUPPORT_DTYPE_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace simclr {

/// The element type of a tensor. All multi-byte types are stored
/// little-endian in files.
enum class DType : uint8_t {
  kF32,
  kF64,
  kF16,
  /// bfloat16: the upper half of an IEEE float32.
  kBF16,
  kI64,
  kI32,
  kU8,
  /// One byte per element, 0 or 1 (as PyTorch and safetensors store it).
  kBool,
};

/// Every DType, in enum order; for iterating and for tests.
inline constexpr DType kAllDTypes[] = {DType::kF32,  DType::kF64, DType::kF16,
                                       DType::kBF16, DType::kI64, DType::kI32,
                                       DType::kU8,   DType::kBool};

/// Returns the size of one element in bytes.
size_t dtypeByteSize(DType dtype);

/// Returns the dtype's name in the safetensors header ("F32", "BF16", "BOOL").
const char *dtypeSafetensorsName(DType dtype);

/// Parses a safetensors dtype name (case-sensitive, as the format requires).
/// Returns std::nullopt for names simclrc does not support, so the caller can
/// report them with its own file and tensor context.
std::optional<DType> parseSafetensorsDType(std::string_view name);

/// Returns the lower-case name used in diagnostics and IR ("f32", "bool").
const char *dtypeName(DType dtype);

} // namespace simclr

#endif // SIMCLR_SUPPORT_DTYPE_H
