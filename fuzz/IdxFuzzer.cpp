//===- IdxFuzzer.cpp - Fuzzes the IDX reader (plain or gzip) -------------===//
//
// Input: the image file, optionally followed by kPartSeparator and the label
// file; either may be gzip-compressed (the reader detects the magic bytes).
//
//===----------------------------------------------------------------------===//
#include "FuzzInput.h"
#include "ReaderChecks.h"

#include "simclr/Runtime/Dataset.h"

using namespace simclr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<std::string_view> parts = fuzz::splitParts(data, size);
  std::string dir = fuzz::freshDirectory("idx");
  std::string images = dir + "/images-idx3-ubyte";
  std::string labels;
  fuzz::writeBytes(images, parts[0]);
  if (parts.size() > 1) {
    labels = dir + "/labels-idx1-ubyte";
    fuzz::writeBytes(labels, parts[1]);
  }
  Expected<ImageDataset> dataset = readIdxImagesAndLabels(images, labels);
  if (dataset)
    fuzz::checkDataset(*dataset);
  else
    fuzz::checkMessage(dataset.status());
  return 0;
}
