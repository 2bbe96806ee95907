//===- DType.cpp - Element types shared by compiler and runtime -----------===//
#include "simclr/Support/DType.h"

#include <cassert>

namespace simclr {

size_t dtypeByteSize(DType dtype) {
  // Half-precision types have no C++17 type; uint16_t has their size.
  switch (dtype) {
  case DType::kF32:
    return sizeof(float);
  case DType::kF64:
    return sizeof(double);
  case DType::kF16:
  case DType::kBF16:
    return sizeof(uint16_t);
  case DType::kI64:
    return sizeof(int64_t);
  case DType::kI32:
    return sizeof(int32_t);
  case DType::kU8:
  case DType::kBool:
    return sizeof(uint8_t);
  }
  assert(false && "DType value outside the enum");
  return 0;
}

const char *dtypeSafetensorsName(DType dtype) {
  switch (dtype) {
  case DType::kF32:
    return "F32";
  case DType::kF64:
    return "F64";
  case DType::kF16:
    return "F16";
  case DType::kBF16:
    return "BF16";
  case DType::kI64:
    return "I64";
  case DType::kI32:
    return "I32";
  case DType::kU8:
    return "U8";
  case DType::kBool:
    return "BOOL";
  }
  assert(false && "DType value outside the enum");
  return "?";
}

std::optional<DType> parseSafetensorsDType(std::string_view name) {
  for (DType dtype : kAllDTypes)
    if (name == dtypeSafetensorsName(dtype))
      return dtype;
  return std::nullopt;
}

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::kF32:
    return "f32";
  case DType::kF64:
    return "f64";
  case DType::kF16:
    return "f16";
  case DType::kBF16:
    return "bf16";
  case DType::kI64:
    return "i64";
  case DType::kI32:
    return "i32";
  case DType::kU8:
    return "u8";
  case DType::kBool:
    return "bool";
  }
  assert(false && "DType value outside the enum");
  return "?";
}

} // namespace simclr
