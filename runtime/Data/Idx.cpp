//===- Idx.cpp - IDX image/label files and Fashion-MNIST ------------------===//
#include "DataInternal.h"
#include "simclr/Runtime/Dataset.h"

#include <cstdio>

namespace simclr {
namespace {

using data::FileBytes;
using data::formatSize;

/// IDX magic: two zero bytes, type 0x08 (unsigned byte), dimension count
/// (LeCun et al., "THE MNIST DATABASE", file formats section).
constexpr uint32_t kIdxImagesMagic = 0x00000803;
constexpr uint32_t kIdxLabelsMagic = 0x00000801;
/// Every IDX header field (magic, then each dimension) is a big-endian u32.
constexpr size_t kIdxFieldBytes = 4;
constexpr size_t kIdxImagesHeaderBytes = 4 * kIdxFieldBytes;
constexpr size_t kIdxLabelsHeaderBytes = 2 * kIdxFieldBytes;
/// Byte offsets of the header fields.
constexpr size_t kIdxCountOffset = kIdxFieldBytes;
constexpr size_t kIdxHeightOffset = 2 * kIdxFieldBytes;
constexpr size_t kIdxWidthOffset = 3 * kIdxFieldBytes;

constexpr int64_t kFashionMnistSide = 28;
/// Class names in label order, from the Fashion-MNIST README
/// (zalandoresearch/fashion-mnist, "Labels").
const char *const kFashionMnistClassNames[] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
constexpr int32_t kFashionMnistClasses =
    sizeof(kFashionMnistClassNames) / sizeof(kFashionMnistClassNames[0]);

uint32_t readBigEndian32(const uint8_t *bytes) {
  return (uint32_t(bytes[0]) << 24) | (uint32_t(bytes[1]) << 16) |
         (uint32_t(bytes[2]) << 8) | uint32_t(bytes[3]);
}

std::string hex32(uint32_t value) {
  char text[sizeof("0x00000000")];
  std::snprintf(text, sizeof(text), "0x%08x", value);
  return text;
}

/// Checks the magic and that the whole header is present.
Status checkIdxHeader(const FileBytes &file, uint32_t magic, size_t headerBytes,
                      const char *what) {
  const std::vector<uint8_t> &bytes = file.bytes;
  if (bytes.size() >= kIdxFieldBytes) {
    uint32_t found = readBigEndian32(bytes.data());
    if (found != magic)
      return dataLoss(file.path + ": wrong magic " + hex32(found) + " at " +
                      file.at(0) + ": expected " + hex32(magic) + " (" + what +
                      ")");
  }
  if (bytes.size() < headerBytes)
    return dataLoss(file.path + ": truncated at " + file.at(bytes.size()) +
                    ": expected a " + std::to_string(headerBytes) +
                    "-byte header (" + what + ")");
  return Status::ok();
}

/// Checks that the file holds exactly `headerBytes + payloadBytes` bytes
/// and that its gzip stream, if any, ended properly.
Status checkIdxSize(const FileBytes &file, size_t headerBytes,
                    uint64_t payloadBytes, const std::string &contents) {
  uint64_t expected = headerBytes + payloadBytes;
  uint64_t found = file.bytes.size();
  if (found < expected)
    return dataLoss(file.path + ": truncated at " + file.at(found) +
                    ": expected " + std::to_string(expected) + " bytes (" +
                    contents + ")");
  if (found > expected)
    return dataLoss(file.path + ": unexpected data at " + file.at(expected) +
                    ": expected " + std::to_string(expected) + " bytes (" +
                    contents + "), found " + std::to_string(found));
  return file.checkStreamComplete();
}

/// What a particular dataset promises beyond the IDX format.
struct IdxExpectations {
  /// Required height and width; 0 accepts any.
  int64_t side = 0;
  /// Labels must lie in [0, numClasses); 0 accepts any byte.
  int32_t numClasses = 0;
};

Expected<ImageDataset> readIdxImages(const std::string &path,
                                     const IdxExpectations &expect) {
  Expected<FileBytes> file = data::readMaybeGzipFile(path);
  if (!file)
    return file.takeStatus();
  SIMCLR_RETURN_IF_ERROR(checkIdxHeader(*file, kIdxImagesMagic,
                                        kIdxImagesHeaderBytes,
                                        "IDX unsigned-byte images"));
  const uint8_t *header = file->bytes.data();
  uint32_t count = readBigEndian32(header + kIdxCountOffset);
  uint32_t height = readBigEndian32(header + kIdxHeightOffset);
  uint32_t width = readBigEndian32(header + kIdxWidthOffset);
  // A zero side would make any count of images fit in no bytes at all (found
  // by fuzz-idx: 117440512 images of 0x33816585 read from 16 bytes).
  if (height == 0 || width == 0)
    return dataLoss(path + ": images are " + formatSize(height, width) +
                    " at " + file->at(kIdxHeightOffset) +
                    "; an image needs at least one row and one column");
  if (expect.side != 0 && (height != expect.side || width != expect.side))
    return dataLoss(path + ": images are " + formatSize(height, width) +
                    " at " + file->at(kIdxHeightOffset) + ", expected " +
                    formatSize(expect.side, expect.side));
  // Three u32 factors can overflow u64; such a file is certainly truncated.
  uint64_t imageBytes = uint64_t(height) * width;
  uint64_t payloadBytes = 0;
  if (__builtin_mul_overflow(imageBytes, uint64_t(count), &payloadBytes) ||
      payloadBytes > UINT64_MAX - kIdxImagesHeaderBytes)
    return dataLoss(path + ": " + std::to_string(count) + " images of " +
                    formatSize(height, width) + " at " + file->at(0) +
                    " exceed any possible file size");
  // ImageDataset sizes are int64_t: with no image to contradict them (a
  // count of 0), sides of 2^32 - 1 would overflow imageBytes() (fuzz-idx).
  if (uint64_t(height) * width > uint64_t(INT64_MAX))
    return dataLoss(path + ": images of " + formatSize(height, width) + " at " +
                    file->at(kIdxHeightOffset) +
                    " have more bytes than a 64-bit size can count");
  SIMCLR_RETURN_IF_ERROR(checkIdxSize(
      *file, kIdxImagesHeaderBytes, payloadBytes,
      std::to_string(count) + " images of " + formatSize(height, width)));

  ImageDataset dataset;
  dataset.count = count;
  dataset.channels = 1;
  dataset.height = height;
  dataset.width = width;
  // Dropping the header in place avoids a second copy of the pixels.
  dataset.pixels = std::move(file->bytes);
  dataset.pixels.erase(dataset.pixels.begin(),
                       dataset.pixels.begin() + kIdxImagesHeaderBytes);
  return dataset;
}

Expected<std::vector<int32_t>> readIdxLabels(const std::string &path,
                                             const IdxExpectations &expect) {
  Expected<FileBytes> file = data::readMaybeGzipFile(path);
  if (!file)
    return file.takeStatus();
  SIMCLR_RETURN_IF_ERROR(checkIdxHeader(*file, kIdxLabelsMagic,
                                        kIdxLabelsHeaderBytes,
                                        "IDX unsigned-byte labels"));
  uint32_t count = readBigEndian32(file->bytes.data() + kIdxCountOffset);
  SIMCLR_RETURN_IF_ERROR(checkIdxSize(*file, kIdxLabelsHeaderBytes, count,
                                      std::to_string(count) + " labels"));
  const std::vector<uint8_t> &bytes = file->bytes;
  if (expect.numClasses != 0) {
    for (size_t offset = kIdxLabelsHeaderBytes; offset < bytes.size(); ++offset)
      if (bytes[offset] >= expect.numClasses)
        return dataLoss(path + ": label " + std::to_string(bytes[offset]) +
                        " at " + file->at(offset) + " is outside [0, " +
                        std::to_string(expect.numClasses - 1) + "]");
  }
  return std::vector<int32_t>(bytes.begin() + kIdxLabelsHeaderBytes,
                              bytes.end());
}

Expected<ImageDataset> readIdxPair(const std::string &imagesPath,
                                   const std::string &labelsPath,
                                   const IdxExpectations &expect) {
  return data::catchOutOfMemory(imagesPath, [&]() -> Expected<ImageDataset> {
    Expected<ImageDataset> dataset = readIdxImages(imagesPath, expect);
    if (!dataset || labelsPath.empty())
      return dataset;
    Expected<std::vector<int32_t>> labels = readIdxLabels(labelsPath, expect);
    if (!labels)
      return labels.takeStatus();
    if (static_cast<int64_t>(labels->size()) != dataset->count)
      return dataLoss(labelsPath + ": byte " + std::to_string(kIdxCountOffset) +
                      ": " + std::to_string(labels->size()) + " labels, but " +
                      imagesPath + " has " + std::to_string(dataset->count) +
                      " images");
    dataset->labels = std::move(*labels);
    return dataset;
  });
}

} // namespace

Expected<ImageDataset> readIdxImagesAndLabels(const std::string &imagesPath,
                                              const std::string &labelsPath) {
  return readIdxPair(imagesPath, labelsPath, IdxExpectations());
}

Expected<ImageDataset> readFashionMnist(const std::string &dir, Split split) {
  const std::string prefix = split == Split::kTrain ? "train" : "t10k";
  IdxExpectations expect;
  expect.side = kFashionMnistSide;
  expect.numClasses = kFashionMnistClasses;
  Expected<ImageDataset> dataset = readIdxPair(
      data::joinPath(dir, prefix + "-images-idx3-ubyte.gz"),
      data::joinPath(dir, prefix + "-labels-idx1-ubyte.gz"), expect);
  if (dataset)
    dataset->classNames.assign(std::begin(kFashionMnistClassNames),
                               std::end(kFashionMnistClassNames));
  return dataset;
}

} // namespace simclr
