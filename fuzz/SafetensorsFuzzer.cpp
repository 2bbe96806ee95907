//===- SafetensorsFuzzer.cpp - Fuzzes SafetensorsReader and a round trip -===//
//
// Input: one safetensors file (u64 header length, JSON header, data). An
// accepted file must describe tensors inside it whose bytes read back, and
// what SafetensorsWriter writes from them must read back the same: a reader
// and writer that disagree would make a checkpoint unreadable after saving.
//
//===----------------------------------------------------------------------===//
#include "ReaderChecks.h"

#include "simclr/Support/Safetensors.h"

#include <cstring>

using namespace simclr;

namespace {

[[noreturn]] void finding(const std::string &what) {
  std::fprintf(stderr, "safetensors: %s\n", what.c_str());
  std::abort();
}

/// Every accepted tensor is inside the file, sized as its shape says, and
/// reads back through both accessors.
void checkTensors(const SafetensorsReader &reader, size_t fileSize) {
  for (const TensorInfo &tensor : reader.tensors()) {
    uint64_t elements = 1;
    for (int64_t dim : tensor.shape) {
      if (dim < 0)
        finding(tensor.name + ": negative dimension accepted");
      elements *= static_cast<uint64_t>(dim);
    }
    if (tensor.byteOffset > fileSize || tensor.byteSize > fileSize - tensor.byteOffset)
      finding(tensor.name + ": data outside the file accepted");
    if (tensor.byteSize != elements * dtypeByteSize(tensor.dtype))
      finding(tensor.name + ": size disagrees with its shape");
    if (!reader.data(tensor.name))
      finding(tensor.name + ": listed but data() fails");
    std::vector<uint8_t> copy(tensor.byteSize);
    Status read = reader.read(tensor.name, tensor.dtype, tensor.shape,
                              copy.data(), copy.size());
    if (!read)
      finding(tensor.name + ": listed but read() fails: " + read.message());
  }
}

/// Writes the accepted tensors and metadata again and reads them back.
void checkRoundTrip(const SafetensorsReader &reader) {
  SafetensorsWriter writer;
  for (const TensorInfo &tensor : reader.tensors())
    if (!writer.add(tensor.name, tensor.dtype, tensor.shape,
                    *reader.data(tensor.name)))
      return;
  for (const auto &[key, value] : reader.metadata())
    writer.setMetadata(key, value);
  Expected<std::vector<uint8_t>> written = writer.serialize();
  if (!written)
    return;
  Expected<SafetensorsReader> again =
      SafetensorsReader::fromBytes(*written, "rewritten");
  if (!again)
    finding("the writer's output does not read back: " + again.status().message());
  if (again->tensors().size() != reader.tensors().size() ||
      again->metadata() != reader.metadata())
    finding("the writer's output reads back different tensors or metadata");
  for (const TensorInfo &tensor : reader.tensors()) {
    const TensorInfo *other = again->find(tensor.name);
    if (!other || other->dtype != tensor.dtype || other->shape != tensor.shape ||
        std::memcmp(*again->data(tensor.name), *reader.data(tensor.name),
                    tensor.byteSize) != 0)
      finding(tensor.name + ": rewritten differently");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Expected<SafetensorsReader> reader = SafetensorsReader::fromBytes(
      std::vector<uint8_t>(data, data + size), "fuzz.safetensors");
  if (!reader) {
    fuzz::checkMessage(reader.status());
    return 0;
  }
  checkTensors(*reader, size);
  checkRoundTrip(*reader);
  return 0;
}
