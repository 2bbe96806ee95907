//===- DTypeTest.cpp - Tests for the shared element-type enum -------------===//
#include "simclr/Support/DType.h"

#include <gtest/gtest.h>

#include <iterator>
#include <string>

namespace simclr {
namespace {

/// One row per DType: what the format, PyTorch and our diagnostics call it.
struct DTypeRow {
  DType dtype;
  size_t byteSize;
  const char *safetensorsName;
  const char *printableName;
};

constexpr DTypeRow kTable[] = {
    {DType::kF32, 4, "F32", "f32"}, {DType::kF64, 8, "F64", "f64"},
    {DType::kF16, 2, "F16", "f16"}, {DType::kBF16, 2, "BF16", "bf16"},
    {DType::kI64, 8, "I64", "i64"}, {DType::kI32, 4, "I32", "i32"},
    {DType::kU8, 1, "U8", "u8"},    {DType::kBool, 1, "BOOL", "bool"},
};

TEST(DTypeTest, TableCoversEveryDTypeInEnumOrder) {
  ASSERT_EQ(std::size(kAllDTypes), std::size(kTable));
  for (size_t i = 0; i < std::size(kTable); ++i) {
    EXPECT_EQ(kAllDTypes[i], kTable[i].dtype);
    // The numeric values are part of the artifact format.
    EXPECT_EQ(static_cast<size_t>(kAllDTypes[i]), i);
  }
}

TEST(DTypeTest, ByteSizesAndNames) {
  for (const DTypeRow &row : kTable) {
    SCOPED_TRACE(row.printableName);
    EXPECT_EQ(dtypeByteSize(row.dtype), row.byteSize);
    EXPECT_STREQ(dtypeSafetensorsName(row.dtype), row.safetensorsName);
    EXPECT_STREQ(dtypeName(row.dtype), row.printableName);
  }
}

TEST(DTypeTest, ParseSafetensorsNameRoundTrips) {
  for (const DTypeRow &row : kTable) {
    std::optional<DType> parsed = parseSafetensorsDType(row.safetensorsName);
    ASSERT_TRUE(parsed.has_value()) << row.safetensorsName;
    EXPECT_EQ(*parsed, row.dtype);
  }
}

TEST(DTypeTest, ParseRejectsUnknownAndMiscasedNames) {
  for (const char *name : {"f32", "I8", "U16", "F8_E4M3", "", "F32 ", "bool"})
    EXPECT_FALSE(parseSafetensorsDType(name).has_value()) << "'" << name << "'";
}

} // namespace
} // namespace simclr
