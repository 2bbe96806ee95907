//===- Cifar10Fuzzer.cpp - Fuzzes the CIFAR-10 binary reader -------------===//
//
// Input parts (split at kPartSeparator): test_batch.bin, then
// batches.meta.txt, then data_batch_1.bin .. data_batch_5.bin. The test
// split is always read; the train split when all five batches are given.
//
//===----------------------------------------------------------------------===//
#include "FuzzInput.h"
#include "ReaderChecks.h"

#include "simclr/Runtime/Dataset.h"

using namespace simclr;

namespace {
/// test_batch.bin, batches.meta.txt, then the five training batches.
constexpr int kTrainBatches = 5;
constexpr size_t kFirstTrainPart = 2;

void readAndCheck(const std::string &dir, Split split) {
  Expected<ImageDataset> dataset = readCifar10(dir, split);
  if (dataset)
    fuzz::checkDataset(*dataset);
  else
    fuzz::checkMessage(dataset.status());
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<std::string_view> parts = fuzz::splitParts(data, size);
  std::string dir = fuzz::freshDirectory("cifar10");
  fuzz::writeBytes(dir + "/test_batch.bin", parts[0]);
  if (parts.size() > 1)
    fuzz::writeBytes(dir + "/batches.meta.txt", parts[1]);
  readAndCheck(dir, Split::kTest);
  if (parts.size() < kFirstTrainPart + kTrainBatches)
    return 0;
  for (int b = 0; b < kTrainBatches; ++b)
    fuzz::writeBytes(dir + "/data_batch_" + std::to_string(b + 1) + ".bin",
                     parts[kFirstTrainPart + b]);
  readAndCheck(dir, Split::kTrain);
  return 0;
}
