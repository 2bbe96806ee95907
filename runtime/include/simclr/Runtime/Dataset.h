//===- Dataset.h - Readers for image datasets stored as uint8 ---*- C++ -*-===//
//
// Training data stays uint8 in memory (a quarter of float32's footprint);
// augmentation kernels convert to float at the last moment. Every reader
// returns a whole split as one ImageDataset in NCHW order.
//
// Ownership: an ImageDataset owns its pixels and labels; image() returns a
// pointer into them that lives as long as the dataset is not modified.
//
// Errors: no reader throws or crashes on any input. A failure is one line
// naming the file and, for corrupt contents, the byte offset:
//   "train-images-idx3-ubyte.gz: truncated at byte 7843 of the decompressed
//    data: expected 47040016 bytes (60000 images of 28x28)".
// A missing file is kNotFound ("PATH: cannot open: No such file or
// directory"), other OS failures kIoError, corrupt or inconsistent contents
// kDataLoss; bad arguments, and images that do not have the requested
// size, kInvalidArgument.
//
// Compression: IDX and CIFAR-10 files may be gzip-compressed; gzip is
// recognised by its magic bytes (1f 8b), not by the file name.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_DATASET_H
#define SIMCLR_RUNTIME_DATASET_H

#include "simclr/Support/Status.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace simclr {

/// Where Debian-packaged Fashion-MNIST lives on the build machines.
inline constexpr const char *kDefaultFashionMnistDir =
    "/usr/share/datasets/fashion-mnist";

/// Which half of a dataset with a fixed train/test split to read.
enum class Split { kTrain, kTest };

/// All images of one split, uint8, NCHW.
struct ImageDataset {
  int64_t count = 0;
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  /// count * channels * height * width bytes; image i starts at
  /// i * imageBytes().
  std::vector<uint8_t> pixels;
  /// One label per image, or empty for unlabeled data.
  std::vector<int32_t> labels;
  /// Human-readable name of each label value; may be empty.
  std::vector<std::string> classNames;

  /// Bytes per image: channels * height * width.
  int64_t imageBytes() const { return channels * height * width; }
  /// The first byte of image `i` (0 <= i < count), CHW.
  const uint8_t *image(int64_t i) const {
    return pixels.data() + i * imageBytes();
  }
};

/// Reads an IDX unsigned-byte image file (magic 0x00000803: count, height,
/// width) and, unless `labelsPath` is empty, the matching IDX label file
/// (magic 0x00000801: count). Either may be gzip-compressed. The result has
/// one channel; label values are not range-checked. Trailing bytes after the
/// last image or label are an error.
Expected<ImageDataset> readIdxImagesAndLabels(const std::string &imagesPath,
                                              const std::string &labelsPath);

/// Reads Fashion-MNIST from `dir` (pass kDefaultFashionMnistDir for the
/// packaged copy): train-images-idx3-ubyte.gz / train-labels-idx1-ubyte.gz,
/// or the t10k-* pair for Split::kTest. Checks 28x28 images and labels in
/// [0, 9], and fills classNames.
Expected<ImageDataset> readFashionMnist(const std::string &dir, Split split);

/// Reads CIFAR-10's binary version from `dir`: data_batch_1.bin ..
/// data_batch_5.bin concatenated in that order, or test_batch.bin. Each
/// record is 1 label byte in [0, 9] followed by 3x32x32 pixel bytes (CHW).
/// Class names come from batches.meta.txt (one per line, blank lines
/// ignored) when that file exists; otherwise classNames is empty.
Expected<ImageDataset> readCifar10(const std::string &dir, Split split);

/// Reads every .png, .jpg and .jpeg file (extension case-insensitive) under
/// `dir`, recursively, without following symbolic links to directories, in
/// lexicographic order of path. The result is unlabeled. `channels` is 1 or
/// 3; each image must be exactly `height` x `width` or the read fails naming
/// the file (no resizing). Conversion is explicit: a 1-channel target from
/// color uses ITU-R 601 luma with Pillow's rounding (as PIL's convert('L')),
/// a 3-channel target from gray replicates the gray value. Alpha and PNG
/// transparency are dropped, not composited; 16-bit PNG samples keep their
/// high byte. Files are decoded by their signature, so a JPEG named .png
/// still reads; a corrupt or truncated file (including JPEG data that
/// libjpeg only warns about) is an error naming it.
Expected<ImageDataset> readImageFolder(const std::string &dir, int64_t channels,
                                       int64_t height, int64_t width);

/// Reads split `split` at `path`, by what it holds: a Fashion-MNIST (gzip
/// IDX) directory (train-* or t10k-*), an uncompressed IDX directory, a
/// CIFAR-10 binary directory (data_batch_* or test_batch.bin); for
/// Split::kTrain also a single IDX image file or a folder of PNG/JPEG
/// images of `imageShape` (C, H, W). Anything without the split is
/// kNotFound naming the path and the file looked for.
Expected<ImageDataset> readDatasetSplit(const std::string &path, Split split,
                                        const std::array<int64_t, 3> &imageShape);

/// Copies images [begin, begin + count) of `dataset` (and their labels, and
/// its class names) into a new dataset.
Expected<ImageDataset> subset(const ImageDataset &dataset, int64_t begin,
                              int64_t count);

} // namespace simclr

#endif // SIMCLR_RUNTIME_DATASET_H
