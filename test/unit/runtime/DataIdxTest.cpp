//===- DataIdxTest.cpp - Tests for the IDX and Fashion-MNIST readers ------===//
#include "DataTestUtil.h"
#include "simclr/Runtime/Dataset.h"

#include <gtest/gtest.h>

#include <array>
#include <random>

namespace simclr {
namespace {

using testing::appendBigEndian32;
using testing::gzipBytes;
using testing::patternByte;
using testing::TempDir;
using testing::writeBytes;

constexpr uint32_t kImagesMagic = 0x00000803;
constexpr uint32_t kLabelsMagic = 0x00000801;

/// A small dataset: 3 images of 4x5 (76 bytes as IDX), labels 7, 0, 9.
constexpr uint32_t kCount = 3;
constexpr uint32_t kHeight = 4;
constexpr uint32_t kWidth = 5;
const std::vector<uint8_t> kLabels = {7, 0, 9};

std::vector<uint8_t> idxImages(uint32_t count, uint32_t height,
                               uint32_t width) {
  std::vector<uint8_t> bytes;
  appendBigEndian32(bytes, kImagesMagic);
  appendBigEndian32(bytes, count);
  appendBigEndian32(bytes, height);
  appendBigEndian32(bytes, width);
  for (size_t i = 0; i < size_t(count) * height * width; ++i)
    bytes.push_back(patternByte(i));
  return bytes;
}

std::vector<uint8_t> idxLabels(const std::vector<uint8_t> &labels) {
  std::vector<uint8_t> bytes;
  appendBigEndian32(bytes, kLabelsMagic);
  appendBigEndian32(bytes, static_cast<uint32_t>(labels.size()));
  bytes.insert(bytes.end(), labels.begin(), labels.end());
  return bytes;
}

void expectSmallDataset(const Expected<ImageDataset> &dataset) {
  ASSERT_TRUE(dataset) << dataset.status().toString();
  EXPECT_EQ(dataset->count, kCount);
  EXPECT_EQ(dataset->channels, 1);
  EXPECT_EQ(dataset->height, kHeight);
  EXPECT_EQ(dataset->width, kWidth);
  ASSERT_EQ(dataset->pixels.size(), size_t(kCount) * kHeight * kWidth);
  for (size_t i = 0; i < dataset->pixels.size(); ++i)
    ASSERT_EQ(dataset->pixels[i], patternByte(i)) << "pixel " << i;
  EXPECT_EQ(dataset->image(2), dataset->pixels.data() + 2 * kHeight * kWidth);
  EXPECT_EQ(dataset->labels,
            std::vector<int32_t>(kLabels.begin(), kLabels.end()));
}

TEST(DataIdxTest, ReadsRawFilesExactly) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ASSERT_TRUE(
      writeBytes(dir.file("images"), idxImages(kCount, kHeight, kWidth)));
  ASSERT_TRUE(writeBytes(dir.file("labels"), idxLabels(kLabels)));
  expectSmallDataset(
      readIdxImagesAndLabels(dir.file("images"), dir.file("labels")));
}

TEST(DataIdxTest, DetectsGzipByMagicNotName) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  // Gzipped files without .gz, and a raw file named .gz.
  ASSERT_TRUE(writeBytes(dir.file("images"),
                         gzipBytes(idxImages(kCount, kHeight, kWidth))));
  ASSERT_TRUE(writeBytes(dir.file("labels.gz"), idxLabels(kLabels)));
  expectSmallDataset(
      readIdxImagesAndLabels(dir.file("images"), dir.file("labels.gz")));
}

TEST(DataIdxTest, JoinsConcatenatedGzipMembers) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::vector<uint8_t> images = idxImages(kCount, kHeight, kWidth);
  size_t half = images.size() / 2;
  std::vector<uint8_t> file =
      gzipBytes(std::vector<uint8_t>(images.begin(), images.begin() + half));
  std::vector<uint8_t> second =
      gzipBytes(std::vector<uint8_t>(images.begin() + half, images.end()));
  file.insert(file.end(), second.begin(), second.end());
  ASSERT_TRUE(writeBytes(dir.file("images.gz"), file));
  ASSERT_TRUE(writeBytes(dir.file("labels.gz"), gzipBytes(idxLabels(kLabels))));
  expectSmallDataset(
      readIdxImagesAndLabels(dir.file("images.gz"), dir.file("labels.gz")));
}

TEST(DataIdxTest, ImagesWithoutLabelsAreUnlabeled) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ASSERT_TRUE(
      writeBytes(dir.file("images"), idxImages(kCount, kHeight, kWidth)));
  Expected<ImageDataset> dataset =
      readIdxImagesAndLabels(dir.file("images"), "");
  ASSERT_TRUE(dataset) << dataset.status().toString();
  EXPECT_EQ(dataset->count, kCount);
  EXPECT_TRUE(dataset->labels.empty());
}

TEST(DataIdxTest, TruncationMessageNamesFileAndOffset) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::vector<uint8_t> images = idxImages(kCount, kHeight, kWidth);
  images.resize(50);
  ASSERT_TRUE(writeBytes(dir.file("images"), images));
  Expected<ImageDataset> raw = readIdxImagesAndLabels(dir.file("images"), "");
  ASSERT_FALSE(raw);
  EXPECT_EQ(raw.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(raw.status().message(),
            dir.file("images") +
                ": truncated at byte 50: expected 76 bytes (3 images of 4x5)");

  ASSERT_TRUE(writeBytes(dir.file("images.gz"), gzipBytes(images)));
  Expected<ImageDataset> gz = readIdxImagesAndLabels(dir.file("images.gz"), "");
  ASSERT_FALSE(gz);
  EXPECT_EQ(gz.status().message(),
            dir.file("images.gz") +
                ": truncated at byte 50 of the decompressed "
                "data: expected 76 bytes (3 images of 4x5)");
}

/// Checks that reading `images`/`labels` cut at every length fails with a
/// one-line message naming the cut file.
void expectEveryTruncationFails(const std::vector<uint8_t> &images,
                                const std::vector<uint8_t> &labels) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string imagesPath = dir.file("images");
  std::string labelsPath = dir.file("labels");
  ASSERT_TRUE(writeBytes(labelsPath, labels));
  for (size_t size = 0; size < images.size(); ++size) {
    ASSERT_TRUE(
        writeBytes(imagesPath, std::vector<uint8_t>(images.begin(),
                                                    images.begin() + size)));
    Expected<ImageDataset> dataset =
        readIdxImagesAndLabels(imagesPath, labelsPath);
    ASSERT_FALSE(dataset) << "images cut at " << size;
    const std::string &message = dataset.status().message();
    EXPECT_EQ(message.rfind(imagesPath + ": ", 0), 0u) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  ASSERT_TRUE(writeBytes(imagesPath, images));
  for (size_t size = 0; size < labels.size(); ++size) {
    ASSERT_TRUE(
        writeBytes(labelsPath, std::vector<uint8_t>(labels.begin(),
                                                    labels.begin() + size)));
    Expected<ImageDataset> dataset =
        readIdxImagesAndLabels(imagesPath, labelsPath);
    ASSERT_FALSE(dataset) << "labels cut at " << size;
    EXPECT_EQ(dataset.status().message().rfind(labelsPath + ": ", 0), 0u)
        << dataset.status().message();
  }
}

TEST(DataIdxTest, EveryTruncationOfRawFilesFails) {
  expectEveryTruncationFails(idxImages(kCount, kHeight, kWidth),
                             idxLabels(kLabels));
}

TEST(DataIdxTest, EveryTruncationOfGzipFilesFails) {
  expectEveryTruncationFails(gzipBytes(idxImages(kCount, kHeight, kWidth)),
                             gzipBytes(idxLabels(kLabels)));
}

TEST(DataIdxTest, CutGzipTrailerIsReported) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::vector<uint8_t> gz = gzipBytes(idxImages(kCount, kHeight, kWidth));
  // The last 8 bytes are CRC-32 and size; the pixels are all present.
  gz.resize(gz.size() - 1);
  ASSERT_TRUE(writeBytes(dir.file("images"), gz));
  Expected<ImageDataset> dataset =
      readIdxImagesAndLabels(dir.file("images"), "");
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.status().message(), dir.file("images") +
                                            ": gzip stream truncated at byte " +
                                            std::to_string(gz.size()) +
                                            " (end of file) after 76 "
                                            "decompressed bytes");
}

TEST(DataIdxTest, CorruptGzipReportsZlibMessage) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::vector<uint8_t> gz = gzipBytes(idxImages(kCount, kHeight, kWidth));
  // Byte -8 is the first byte of the CRC-32 trailer.
  constexpr size_t kCrcFromEnd = 8;
  gz[gz.size() - kCrcFromEnd] ^= 0xff;
  ASSERT_TRUE(writeBytes(dir.file("images"), gz));
  Expected<ImageDataset> dataset =
      readIdxImagesAndLabels(dir.file("images"), "");
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(dataset.status().message().find(dir.file("images") +
                                            ": corrupt gzip stream near byte "),
            std::string::npos)
      << dataset.status().message();
  EXPECT_NE(dataset.status().message().find("incorrect data check"),
            std::string::npos)
      << dataset.status().message();
}

TEST(DataIdxTest, GarbageAfterGzipStreamIsRejected) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::vector<uint8_t> gz = gzipBytes(idxImages(kCount, kHeight, kWidth));
  size_t end = gz.size();
  gz.push_back(0);
  ASSERT_TRUE(writeBytes(dir.file("images"), gz));
  Expected<ImageDataset> dataset =
      readIdxImagesAndLabels(dir.file("images"), "");
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.status().message(),
            dir.file("images") +
                ": unexpected data after the gzip stream at byte " +
                std::to_string(end));
}

TEST(DataIdxTest, TrailingDataIsRejected) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::vector<uint8_t> images = idxImages(kCount, kHeight, kWidth);
  images.push_back(0);
  ASSERT_TRUE(writeBytes(dir.file("images"), images));
  Expected<ImageDataset> dataset =
      readIdxImagesAndLabels(dir.file("images"), "");
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.status().message(),
            dir.file("images") + ": unexpected data at byte 76: expected 76 "
                                 "bytes (3 images of 4x5), found 77");
}

TEST(DataIdxTest, WrongMagicIsRejected) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ASSERT_TRUE(writeBytes(dir.file("labels"), idxLabels(kLabels)));
  ASSERT_TRUE(
      writeBytes(dir.file("images"), idxImages(kCount, kHeight, kWidth)));
  Expected<ImageDataset> swapped =
      readIdxImagesAndLabels(dir.file("labels"), dir.file("images"));
  ASSERT_FALSE(swapped);
  EXPECT_EQ(swapped.status().message(),
            dir.file("labels") + ": wrong magic 0x00000801 at byte 0: expected "
                                 "0x00000803 (IDX unsigned-byte images)");
  Expected<ImageDataset> badLabels =
      readIdxImagesAndLabels(dir.file("images"), dir.file("images"));
  ASSERT_FALSE(badLabels);
  EXPECT_EQ(badLabels.status().message(),
            dir.file("images") + ": wrong magic 0x00000803 at byte 0: expected "
                                 "0x00000801 (IDX unsigned-byte labels)");
}

TEST(DataIdxTest, CountMismatchIsRejected) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ASSERT_TRUE(
      writeBytes(dir.file("images"), idxImages(kCount, kHeight, kWidth)));
  ASSERT_TRUE(writeBytes(dir.file("labels"), idxLabels({1, 2})));
  Expected<ImageDataset> dataset =
      readIdxImagesAndLabels(dir.file("images"), dir.file("labels"));
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.status().message(),
            dir.file("labels") + ": byte 4: 2 labels, but " +
                dir.file("images") + " has 3 images");
}

TEST(DataIdxTest, HugeHeaderDimensionsFailWithoutAllocating) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  constexpr uint32_t kMax = 0xffffffff;
  std::vector<uint8_t> overflowing;
  appendBigEndian32(overflowing, kImagesMagic);
  for (int i = 0; i < 3; ++i)
    appendBigEndian32(overflowing, kMax);
  ASSERT_TRUE(writeBytes(dir.file("overflowing"), overflowing));
  Expected<ImageDataset> dataset =
      readIdxImagesAndLabels(dir.file("overflowing"), "");
  ASSERT_FALSE(dataset);
  EXPECT_NE(dataset.status().message().find("exceed any possible file size"),
            std::string::npos);

  std::vector<uint8_t> huge;
  appendBigEndian32(huge, kImagesMagic);
  appendBigEndian32(huge, kMax);
  appendBigEndian32(huge, kMax);
  appendBigEndian32(huge, 1);
  ASSERT_TRUE(writeBytes(dir.file("huge"), huge));
  dataset = readIdxImagesAndLabels(dir.file("huge"), "");
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.status().message(),
            dir.file("huge") + ": truncated at byte 16: expected "
                               "18446744065119617041 bytes (4294967295 images "
                               "of 4294967295x1)");
}

TEST(DataIdxTest, RandomCorruptionNeverCrashes) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::vector<uint8_t> raw = idxImages(kCount, kHeight, kWidth);
  std::vector<uint8_t> gz = gzipBytes(raw);
  std::mt19937 random(1234);
  constexpr int kTrials = 500;
  int accepted = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    std::vector<uint8_t> bytes = trial % 2 ? gz : raw;
    bytes[random() % bytes.size()] = static_cast<uint8_t>(random());
    ASSERT_TRUE(writeBytes(dir.file("images"), bytes));
    Expected<ImageDataset> dataset =
        readIdxImagesAndLabels(dir.file("images"), "");
    // A flipped pixel byte of the raw file is still a valid file.
    if (dataset)
      ++accepted;
    else
      EXPECT_EQ(dataset.status().message().find('\n'), std::string::npos);
  }
  EXPECT_LT(accepted, kTrials);
}

TEST(DataIdxTest, MissingFileIsNotFound) {
  Expected<ImageDataset> dataset =
      readIdxImagesAndLabels("/nonexistent/images-idx3-ubyte.gz", "");
  ASSERT_FALSE(dataset);
  EXPECT_EQ(dataset.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(dataset.status().message(),
            "/nonexistent/images-idx3-ubyte.gz: cannot open: No such file or "
            "directory");
}

TEST(DataIdxTest, SubsetCopiesImagesAndLabels) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ASSERT_TRUE(
      writeBytes(dir.file("images"), idxImages(kCount, kHeight, kWidth)));
  ASSERT_TRUE(writeBytes(dir.file("labels"), idxLabels(kLabels)));
  Expected<ImageDataset> dataset =
      readIdxImagesAndLabels(dir.file("images"), dir.file("labels"));
  ASSERT_TRUE(dataset) << dataset.status().toString();
  Expected<ImageDataset> tail = subset(*dataset, 1, 2);
  ASSERT_TRUE(tail) << tail.status().toString();
  EXPECT_EQ(tail->count, 2);
  EXPECT_EQ(tail->labels, (std::vector<int32_t>{0, 9}));
  EXPECT_EQ(tail->pixels,
            std::vector<uint8_t>(dataset->image(1),
                                 dataset->image(1) + 2 * kHeight * kWidth));
  EXPECT_TRUE(subset(*dataset, 3, 0));
  Expected<ImageDataset> outside = subset(*dataset, 2, 2);
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(subset(*dataset, -1, 1));
}

//===----------------------------------------------------------------------===//
// Fashion-MNIST
//===----------------------------------------------------------------------===//

constexpr int64_t kFashionSide = 28;
constexpr int32_t kFashionClasses = 10;

/// Writes a synthetic Fashion-MNIST test split with the given labels.
void writeFashionTestSplit(const TempDir &dir, uint32_t side,
                           const std::vector<uint8_t> &labels) {
  ASSERT_TRUE(writeBytes(dir.file("t10k-images-idx3-ubyte.gz"),
                         gzipBytes(idxImages(labels.size(), side, side))));
  ASSERT_TRUE(writeBytes(dir.file("t10k-labels-idx1-ubyte.gz"),
                         gzipBytes(idxLabels(labels))));
}

TEST(DataFashionMnistTest, ReadsSyntheticSplit) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  writeFashionTestSplit(dir, kFashionSide, {9, 0});
  Expected<ImageDataset> dataset = readFashionMnist(dir.path(), Split::kTest);
  ASSERT_TRUE(dataset) << dataset.status().toString();
  EXPECT_EQ(dataset->count, 2);
  EXPECT_EQ(dataset->labels, (std::vector<int32_t>{9, 0}));
  ASSERT_EQ(dataset->classNames.size(), size_t(kFashionClasses));
  EXPECT_EQ(dataset->classNames[9], "Ankle boot");
  Expected<ImageDataset> train = readFashionMnist(dir.path(), Split::kTrain);
  ASSERT_FALSE(train);
  EXPECT_EQ(train.status().code(), StatusCode::kNotFound);
  EXPECT_NE(
      train.status().message().find("train-images-idx3-ubyte.gz: cannot open"),
      std::string::npos);
}

TEST(DataFashionMnistTest, LabelOutOfRangeIsRejected) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  writeFashionTestSplit(dir, kFashionSide, {9, 10});
  Expected<ImageDataset> dataset = readFashionMnist(dir.path(), Split::kTest);
  ASSERT_FALSE(dataset);
  EXPECT_EQ(
      dataset.status().message(),
      dir.file("t10k-labels-idx1-ubyte.gz") +
          ": label 10 at byte 9 of the decompressed data is outside [0, 9]");
}

TEST(DataFashionMnistTest, WrongImageSizeIsRejected) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  writeFashionTestSplit(dir, 32, {1});
  Expected<ImageDataset> dataset = readFashionMnist(dir.path(), Split::kTest);
  ASSERT_FALSE(dataset);
  EXPECT_EQ(
      dataset.status().message(),
      dir.file("t10k-images-idx3-ubyte.gz") +
          ": images are 32x32 at byte 8 of the decompressed data, expected "
          "28x28");
}

/// Skips unless the packaged Fashion-MNIST is installed.
#define SKIP_WITHOUT_FASHION_MNIST()                                           \
  if (!std::filesystem::exists(kDefaultFashionMnistDir))                       \
  GTEST_SKIP() << kDefaultFashionMnistDir << " is not installed"

TEST(DataFashionMnistTest, RealTrainSplit) {
  SKIP_WITHOUT_FASHION_MNIST();
  Expected<ImageDataset> dataset =
      readFashionMnist(kDefaultFashionMnistDir, Split::kTrain);
  ASSERT_TRUE(dataset) << dataset.status().toString();
  EXPECT_EQ(dataset->count, 60000);
  EXPECT_EQ(dataset->channels, 1);
  EXPECT_EQ(dataset->height, kFashionSide);
  EXPECT_EQ(dataset->width, kFashionSide);
  ASSERT_EQ(dataset->labels.size(), 60000u);
  std::array<int, kFashionClasses> perClass{};
  for (int32_t label : dataset->labels) {
    ASSERT_GE(label, 0);
    ASSERT_LT(label, kFashionClasses);
    ++perClass[label];
  }
  for (int count : perClass)
    EXPECT_EQ(count, 6000);

  // Pinned with Python's gzip module on the packaged files: image 0 is an
  // ankle boot whose 784 pixels sum to 76247, 433 of them nonzero.
  EXPECT_EQ(dataset->labels[0], 9);
  EXPECT_EQ(dataset->classNames[dataset->labels[0]], "Ankle boot");
  const uint8_t *first = dataset->image(0);
  int64_t sum = 0;
  int nonzero = 0;
  for (int64_t i = 0; i < dataset->imageBytes(); ++i) {
    sum += first[i];
    nonzero += first[i] != 0;
  }
  EXPECT_EQ(sum, 76247);
  EXPECT_EQ(nonzero, 433);
  const std::vector<uint8_t> row14 = {
      0,   0,   1,   4,   6,   7,   2,   0,   0,   0,   0,   0,   237, 226,
      217, 223, 222, 219, 222, 221, 216, 223, 229, 215, 218, 255, 77,  0};
  EXPECT_EQ(std::vector<uint8_t>(first + 14 * kFashionSide,
                                 first + 15 * kFashionSide),
            row14);
  EXPECT_EQ(crc32(0, dataset->pixels.data(), dataset->pixels.size()),
            2925911245u);
  EXPECT_EQ(dataset->labels.back(), 5);
}

TEST(DataFashionMnistTest, RealTestSplit) {
  SKIP_WITHOUT_FASHION_MNIST();
  Expected<ImageDataset> dataset =
      readFashionMnist(kDefaultFashionMnistDir, Split::kTest);
  ASSERT_TRUE(dataset) << dataset.status().toString();
  EXPECT_EQ(dataset->count, 10000);
  EXPECT_EQ(dataset->height, kFashionSide);
  std::array<int, kFashionClasses> perClass{};
  for (int32_t label : dataset->labels)
    ++perClass[label];
  for (int count : perClass)
    EXPECT_EQ(count, 1000);
  // Pinned with Python's gzip module, as above.
  EXPECT_EQ(dataset->labels[0], 9);
  EXPECT_EQ(crc32(0, dataset->pixels.data(), dataset->pixels.size()),
            309494841u);
}

} // namespace
} // namespace simclr
