//===- DatasetSplit.cpp - One split of a dataset, by what its path holds --===//
#include "simclr/Runtime/Dataset.h"

#include <filesystem>

namespace simclr {

namespace fs = std::filesystem;

namespace {

bool isRegularFile(const fs::path &path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

} // namespace

Expected<ImageDataset> readDatasetSplit(const std::string &path, Split split,
                                        const std::array<int64_t, 3> &imageShape) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    return notFound(path + ": no such file or directory");
  const bool train = split == Split::kTrain;
  if (isRegularFile(path)) {
    if (!train)
      return notFound(path + ": a single IDX file has no test split; pass the "
                             "directory that holds t10k-images-idx3-ubyte");
    return readIdxImagesAndLabels(path, "");
  }
  fs::path dir(path);
  const std::string prefix = train ? "train" : "t10k";
  if (isRegularFile(dir / (prefix + "-images-idx3-ubyte.gz")))
    return readFashionMnist(path, split);
  if (isRegularFile(dir / (prefix + "-images-idx3-ubyte"))) {
    fs::path labels = dir / (prefix + "-labels-idx1-ubyte");
    return readIdxImagesAndLabels((dir / (prefix + "-images-idx3-ubyte")).string(),
                                  isRegularFile(labels) ? labels.string() : "");
  }
  if (isRegularFile(dir / (train ? "data_batch_1.bin" : "test_batch.bin")))
    return readCifar10(path, split);
  if (!train)
    return notFound(path + ": no test split (looked for t10k-images-idx3-ubyte[.gz] "
                           "and test_batch.bin)");
  return readImageFolder(path, imageShape[0], imageShape[1], imageShape[2]);
}

} // namespace simclr
