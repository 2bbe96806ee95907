//===- DataCifarTest.cpp - Tests for the CIFAR-10 binary reader -----------===//
#include "DataTestUtil.h"
#include "simclr/Runtime/Dataset.h"

#include <gtest/gtest.h>

namespace simclr {
namespace {

using testing::gzipBytes;
using testing::patternByte;
using testing::TempDir;
using testing::writeBytes;

constexpr size_t kImageBytes = 3 * 32 * 32;
constexpr size_t kRecordBytes = 1 + kImageBytes;

/// The pixel byte `index` of image `image` in the synthetic batches.
uint8_t cifarPixel(size_t image, size_t index) {
  return patternByte(image * kImageBytes + index);
}

/// Records for images [first, first + labels.size()).
std::vector<uint8_t> cifarBatch(size_t first,
                                const std::vector<uint8_t> &labels) {
  std::vector<uint8_t> bytes;
  for (size_t r = 0; r < labels.size(); ++r) {
    bytes.push_back(labels[r]);
    for (size_t i = 0; i < kImageBytes; ++i)
      bytes.push_back(cifarPixel(first + r, i));
  }
  return bytes;
}

/// Writes data_batch_1..5.bin with 2, 1, 3, 1, 2 records (labels cycle 0..9)
/// and test_batch.bin with 2; returns the training labels.
std::vector<uint8_t> writeSyntheticCifar(const TempDir &dir) {
  const size_t batchSizes[] = {2, 1, 3, 1, 2};
  std::vector<uint8_t> allLabels;
  size_t first = 0;
  for (int b = 0; b < 5; ++b) {
    std::vector<uint8_t> labels;
    for (size_t r = 0; r < batchSizes[b]; ++r)
      labels.push_back(static_cast<uint8_t>((first + r) % 10));
    EXPECT_TRUE(
        writeBytes(dir.file("data_batch_" + std::to_string(b + 1) + ".bin"),
                   cifarBatch(first, labels)));
    allLabels.insert(allLabels.end(), labels.begin(), labels.end());
    first += labels.size();
  }
  EXPECT_TRUE(writeBytes(dir.file("test_batch.bin"), cifarBatch(100, {3, 8})));
  return allLabels;
}

TEST(DataCifarTest, ReadsTrainBatchesInOrder) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::vector<uint8_t> labels = writeSyntheticCifar(dir);
  Expected<ImageDataset> dataset = readCifar10(dir.path(), Split::kTrain);
  ASSERT_TRUE(dataset) << dataset.status().toString();
  EXPECT_EQ(dataset->count, 9);
  EXPECT_EQ(dataset->channels, 3);
  EXPECT_EQ(dataset->height, 32);
  EXPECT_EQ(dataset->width, 32);
  EXPECT_EQ(dataset->labels,
            std::vector<int32_t>(labels.begin(), labels.end()));
  ASSERT_EQ(dataset->pixels.size(), 9 * kImageBytes);
  for (int64_t n = 0; n < dataset->count; ++n)
    for (size_t i = 0; i < kImageBytes; ++i)
      ASSERT_EQ(dataset->image(n)[i], cifarPixel(n, i)) << n << " " << i;
  EXPECT_TRUE(dataset->classNames.empty());
}

TEST(DataCifarTest, ReadsTestBatchAndClassNames) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  writeSyntheticCifar(dir);
  std::string meta = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\n"
                     "ship\ntruck\n\n";
  ASSERT_TRUE(writeBytes(dir.file("batches.meta.txt"),
                         std::vector<uint8_t>(meta.begin(), meta.end())));
  // Gzipped batches read too.
  ASSERT_TRUE(writeBytes(dir.file("test_batch.bin"),
                         gzipBytes(cifarBatch(100, {3, 8}))));
  Expected<ImageDataset> dataset = readCifar10(dir.path(), Split::kTest);
  ASSERT_TRUE(dataset) << dataset.status().toString();
  EXPECT_EQ(dataset->count, 2);
  EXPECT_EQ(dataset->labels, (std::vector<int32_t>{3, 8}));
  EXPECT_EQ(dataset->image(1)[kImageBytes - 1],
            cifarPixel(101, kImageBytes - 1));
  ASSERT_EQ(dataset->classNames.size(), 10u);
  EXPECT_EQ(dataset->classNames[0], "airplane");
  EXPECT_EQ(dataset->classNames[9], "truck");
}

TEST(DataCifarTest, WrongNumberOfClassNamesIsRejected) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  writeSyntheticCifar(dir);
  std::string meta = "airplane\nautomobile\n";
  ASSERT_TRUE(writeBytes(dir.file("batches.meta.txt"),
                         std::vector<uint8_t>(meta.begin(), meta.end())));
  Expected<ImageDataset> dataset = readCifar10(dir.path(), Split::kTest);
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.status().message(),
            dir.file("batches.meta.txt") + ": 2 class names, expected 10");
}

TEST(DataCifarTest, TruncatedRecordNamesFileAndOffset) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  writeSyntheticCifar(dir);
  std::vector<uint8_t> batch = cifarBatch(0, {1, 2, 3});
  batch.resize(2 * kRecordBytes + 100);
  ASSERT_TRUE(writeBytes(dir.file("data_batch_3.bin"), batch));
  Expected<ImageDataset> dataset = readCifar10(dir.path(), Split::kTrain);
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(
      dataset.status().message(),
      dir.file("data_batch_3.bin") +
          ": truncated record 2 at byte 6146: expected 3073 bytes, found 100");
}

TEST(DataCifarTest, EveryTruncationFails) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::vector<uint8_t> batch = cifarBatch(0, {4});
  std::vector<uint8_t> gz = gzipBytes(batch);
  for (const std::vector<uint8_t> *bytes : {&batch, &gz}) {
    for (size_t size = 0; size < bytes->size(); ++size) {
      ASSERT_TRUE(writeBytes(
          dir.file("test_batch.bin"),
          std::vector<uint8_t>(bytes->begin(), bytes->begin() + size)));
      Expected<ImageDataset> dataset = readCifar10(dir.path(), Split::kTest);
      ASSERT_FALSE(dataset) << "cut at " << size;
      EXPECT_EQ(dataset.status().message().rfind(
                    dir.file("test_batch.bin") + ": ", 0),
                0u);
    }
  }
}

TEST(DataCifarTest, LabelOutOfRangeIsRejected) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ASSERT_TRUE(writeBytes(dir.file("test_batch.bin"), cifarBatch(0, {9, 10})));
  Expected<ImageDataset> dataset = readCifar10(dir.path(), Split::kTest);
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.status().message(),
            dir.file("test_batch.bin") +
                ": label 10 at byte 3073 is outside [0, 9]");
}

TEST(DataCifarTest, MissingBatchIsNotFound) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  writeSyntheticCifar(dir);
  std::filesystem::remove(dir.file("data_batch_4.bin"));
  Expected<ImageDataset> dataset = readCifar10(dir.path(), Split::kTrain);
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(dataset.status().message(),
            dir.file("data_batch_4.bin") +
                ": cannot open: No such file or directory");
}

} // namespace
} // namespace simclr
