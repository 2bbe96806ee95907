//===- DataSplitTest.cpp - Tests for readDatasetSplit's choice of reader --===//
#include "DataTestUtil.h"
#include "simclr/Runtime/Dataset.h"

#include <gtest/gtest.h>

#include <array>

namespace simclr {
namespace {

using testing::appendBigEndian32;
using testing::patternByte;
using testing::TempDir;
using testing::writeBytes;

constexpr uint32_t kImagesMagic = 0x00000803;
constexpr uint32_t kLabelsMagic = 0x00000801;
constexpr uint32_t kSide = 4;
/// The folder reader's shape; the IDX and CIFAR-10 readers ignore it.
constexpr std::array<int64_t, 3> kFolderShape = {1, kSide, kSide};

std::vector<uint8_t> idxImages(uint32_t count) {
  std::vector<uint8_t> bytes;
  appendBigEndian32(bytes, kImagesMagic);
  appendBigEndian32(bytes, count);
  appendBigEndian32(bytes, kSide);
  appendBigEndian32(bytes, kSide);
  for (size_t i = 0; i < size_t(count) * kSide * kSide; ++i)
    bytes.push_back(patternByte(i));
  return bytes;
}

std::vector<uint8_t> idxLabels(uint32_t count) {
  std::vector<uint8_t> bytes;
  appendBigEndian32(bytes, kLabelsMagic);
  appendBigEndian32(bytes, count);
  bytes.resize(bytes.size() + count, 1);
  return bytes;
}

TEST(DataSplitTest, MissingPathIsNotFound) {
  Expected<ImageDataset> dataset =
      readDatasetSplit("/nonexistent/data", Split::kTrain, kFolderShape);
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(dataset.status().message(),
            "/nonexistent/data: no such file or directory");
}

TEST(DataSplitTest, RawIdxDirectoryReadsEachSplitsFiles) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ASSERT_TRUE(
      writeBytes(dir.file("train-images-idx3-ubyte"), idxImages(3)));
  ASSERT_TRUE(
      writeBytes(dir.file("train-labels-idx1-ubyte"), idxLabels(3)));
  ASSERT_TRUE(writeBytes(dir.file("t10k-images-idx3-ubyte"), idxImages(2)));

  Expected<ImageDataset> train =
      readDatasetSplit(dir.path(), Split::kTrain, kFolderShape);
  ASSERT_TRUE(train) << train.status().toString();
  EXPECT_EQ(train->count, 3);
  EXPECT_EQ(train->labels.size(), 3u);

  // No t10k labels file: the test split is read unlabeled.
  Expected<ImageDataset> test =
      readDatasetSplit(dir.path(), Split::kTest, kFolderShape);
  ASSERT_TRUE(test) << test.status().toString();
  EXPECT_EQ(test->count, 2);
  EXPECT_TRUE(test->labels.empty());
}

TEST(DataSplitTest, SingleIdxFileHasOnlyATrainSplit) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.file("images");
  ASSERT_TRUE(writeBytes(path, idxImages(2)));

  Expected<ImageDataset> train =
      readDatasetSplit(path, Split::kTrain, kFolderShape);
  ASSERT_TRUE(train) << train.status().toString();
  EXPECT_EQ(train->count, 2);

  Expected<ImageDataset> test =
      readDatasetSplit(path, Split::kTest, kFolderShape);
  ASSERT_FALSE(test);
  EXPECT_EQ(test.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(test.status().message(),
            path + ": a single IDX file has no test split; pass the directory "
                   "that holds t10k-images-idx3-ubyte");
}

TEST(DataSplitTest, CifarTestBatchIsTheTestSplit) {
  constexpr size_t kCifarImageBytes = 3 * 32 * 32;
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::vector<uint8_t> record = {4}; // label, then the pixels
  for (size_t i = 0; i < kCifarImageBytes; ++i)
    record.push_back(patternByte(i));
  ASSERT_TRUE(writeBytes(dir.file("test_batch.bin"), record));

  Expected<ImageDataset> test =
      readDatasetSplit(dir.path(), Split::kTest, kFolderShape);
  ASSERT_TRUE(test) << test.status().toString();
  EXPECT_EQ(test->count, 1);
  EXPECT_EQ(test->channels, 3);
  EXPECT_EQ(test->labels, std::vector<int32_t>{4});
}

TEST(DataSplitTest, DirectoryWithoutTestFilesHasNoTestSplit) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  Expected<ImageDataset> test =
      readDatasetSplit(dir.path(), Split::kTest, kFolderShape);
  ASSERT_FALSE(test);
  EXPECT_EQ(test.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(test.status().message(),
            dir.path() + ": no test split (looked for "
                         "t10k-images-idx3-ubyte[.gz] and test_batch.bin)");
}

} // namespace
} // namespace simclr
