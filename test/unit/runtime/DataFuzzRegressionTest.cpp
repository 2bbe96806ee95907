//===- DataFuzzRegressionTest.cpp - Inputs fuzz/ found wrong in the dataset readers -===//
//
// Each test feeds a reader the exact input a fuzzer of fuzz/ found
// mishandled, and expects the one-line error now reported
// (docs/reliability.md, "Fuzzing").
//
//===----------------------------------------------------------------------===//
#include "DataTestUtil.h"

#include "simclr/Runtime/Dataset.h"

#include <gtest/gtest.h>

namespace simclr {
namespace {

// fuzz-idx, crash-f6f3658c9add3be550325a23911940b92ea9bffd: a 16-byte IDX
// header claiming 117440512 images of 0x33816585 was accepted (zero bytes of
// pixels fit any count), a dataset of nothing that later code divides by.
TEST(DataFuzzRegressionTest, IdxImagesWithAZeroSide) {
  testing::TempDir dir;
  std::vector<uint8_t> input = {0x00, 0x00, 0x08, 0x03, 0x07, 0x00, 0x00, 0x00,
                                0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x00, 0x09};
  ASSERT_TRUE(testing::writeBytes(dir.file("images"), input));
  Expected<ImageDataset> dataset = readIdxImagesAndLabels(dir.file("images"), "");
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.status().message(),
            dir.file("images") +
                ": images are 0x33816585 at byte 8; an image needs at least "
                "one row and one column");
}

// fuzz-idx, crash-91f1e53746eb4f1369d190ccfee055e14c7bccd0: no images of
// 4294967295x4294967048 were accepted, and ImageDataset::imageBytes()
// overflowed int64_t on them (UBSan).
TEST(DataFuzzRegressionTest, IdxImageBytesBeyondInt64) {
  testing::TempDir dir;
  std::vector<uint8_t> input = {0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x00, 0x00,
                                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x08};
  ASSERT_TRUE(testing::writeBytes(dir.file("images"), input));
  Expected<ImageDataset> dataset = readIdxImagesAndLabels(dir.file("images"), "");
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.status().message(),
            dir.file("images") +
                ": images of 4294967295x4294967048 at byte 8 have more bytes "
                "than a 64-bit size can count");
}

} // namespace
} // namespace simclr
