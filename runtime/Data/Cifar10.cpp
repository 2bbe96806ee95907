//===- Cifar10.cpp - CIFAR-10 binary-version reader -----------------------===//
#include "DataInternal.h"
#include "simclr/Runtime/Dataset.h"

#include <cstring>

namespace simclr {
namespace {

using data::FileBytes;

/// Layout of the binary version (Krizhevsky, "The CIFAR-10 dataset",
/// "Binary version"): each record is one label byte, then the 32x32 red,
/// green and blue planes in row-major order.
constexpr int64_t kCifarChannels = 3;
constexpr int64_t kCifarSide = 32;
constexpr size_t kCifarImageBytes = kCifarChannels * kCifarSide * kCifarSide;
constexpr size_t kCifarRecordBytes = 1 + kCifarImageBytes;
constexpr int32_t kCifarClasses = 10;
/// The training split ships as data_batch_1.bin .. data_batch_5.bin.
constexpr int kCifarTrainBatches = 5;
constexpr const char *kCifarTestBatch = "test_batch.bin";
constexpr const char *kCifarMetaFile = "batches.meta.txt";

/// Appends the records of one batch file to `dataset`.
Status appendBatch(const FileBytes &file, ImageDataset &dataset) {
  const std::vector<uint8_t> &bytes = file.bytes;
  if (bytes.empty())
    return dataLoss(file.path + ": empty file: expected " +
                    std::to_string(kCifarRecordBytes) + "-byte records");
  size_t records = bytes.size() / kCifarRecordBytes;
  size_t partial = bytes.size() % kCifarRecordBytes;
  if (partial != 0)
    return dataLoss(file.path + ": truncated record " +
                    std::to_string(records) + " at " +
                    file.at(records * kCifarRecordBytes) + ": expected " +
                    std::to_string(kCifarRecordBytes) + " bytes, found " +
                    std::to_string(partial));
  SIMCLR_RETURN_IF_ERROR(file.checkStreamComplete());

  size_t first = dataset.pixels.size();
  dataset.pixels.resize(first + records * kCifarImageBytes);
  dataset.labels.reserve(dataset.labels.size() + records);
  for (size_t r = 0; r < records; ++r) {
    const uint8_t *record = bytes.data() + r * kCifarRecordBytes;
    if (record[0] >= kCifarClasses)
      return dataLoss(file.path + ": label " + std::to_string(record[0]) +
                      " at " + file.at(r * kCifarRecordBytes) +
                      " is outside [0, " + std::to_string(kCifarClasses - 1) +
                      "]");
    dataset.labels.push_back(record[0]);
    std::memcpy(dataset.pixels.data() + first + r * kCifarImageBytes,
                record + 1, kCifarImageBytes);
  }
  dataset.count += static_cast<int64_t>(records);
  return Status::ok();
}

/// Reads batches.meta.txt into `names` if it exists.
Status readClassNames(const std::string &dir, std::vector<std::string> &names) {
  std::string path = data::joinPath(dir, kCifarMetaFile);
  Expected<std::vector<uint8_t>> bytes = data::readRawFile(path);
  if (!bytes)
    return bytes.status().code() == StatusCode::kNotFound ? Status::ok()
                                                          : bytes.takeStatus();
  std::string line;
  for (size_t i = 0; i <= bytes->size(); ++i) {
    char c = i < bytes->size() ? static_cast<char>((*bytes)[i]) : '\n';
    if (c != '\n') {
      line += c;
      continue;
    }
    // The official file ends in blank lines; Windows copies add '\r'.
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
      line.pop_back();
    if (!line.empty())
      names.push_back(line);
    line.clear();
  }
  if (names.size() != static_cast<size_t>(kCifarClasses))
    return dataLoss(path + ": " + std::to_string(names.size()) +
                    " class names, expected " + std::to_string(kCifarClasses));
  return Status::ok();
}

} // namespace

Expected<ImageDataset> readCifar10(const std::string &dir, Split split) {
  std::vector<std::string> paths;
  if (split == Split::kTrain) {
    for (int i = 1; i <= kCifarTrainBatches; ++i)
      paths.push_back(
          data::joinPath(dir, "data_batch_" + std::to_string(i) + ".bin"));
  } else {
    paths.push_back(data::joinPath(dir, kCifarTestBatch));
  }
  return data::catchOutOfMemory(dir, [&]() -> Expected<ImageDataset> {
    ImageDataset dataset;
    dataset.channels = kCifarChannels;
    dataset.height = kCifarSide;
    dataset.width = kCifarSide;
    for (const std::string &path : paths) {
      Expected<FileBytes> file = data::readMaybeGzipFile(path);
      if (!file)
        return file.takeStatus();
      SIMCLR_RETURN_IF_ERROR(appendBatch(*file, dataset));
    }
    SIMCLR_RETURN_IF_ERROR(readClassNames(dir, dataset.classNames));
    return dataset;
  });
}

} // namespace simclr
