//===- Safetensors.h - Read and write safetensors files ---------*- C++ -*-===//
//
// Parameters, running statistics, optimizer state and checkpoints are stored
// as safetensors, so PyTorch's safetensors.torch.load_file reads what we write
// and we read what it writes. The format
// (https://github.com/huggingface/safetensors):
//
//   u64 little-endian N | N bytes of JSON header | data section
//
// The header is an object {"name": {"dtype": "F32", "shape": [2, 3],
// "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "value"}} with
// offsets relative to the start of the data section; writers pad it with
// spaces to a multiple of 8 bytes so the data section starts 8-byte aligned.
// Tensor data is raw, row-major and little-endian.
//
// Ownership: a SafetensorsReader owns the whole file's bytes; pointers from
// data() stay valid while the reader lives. A SafetensorsWriter copies the
// tensors given to add(). Errors are one line naming the file and, where
// there is one, the tensor and the byte offset in the file.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_SUPPORT_SAFETENSORS_H
#define SIMCLR_SUPPORT_SAFETENSORS_H

#include "simclr/Support/DType.h"
#include "simclr/Support/Status.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace simclr {

/// The header's largest accepted size, as in the reference implementation: a
/// larger length field means a corrupt or hostile file, not a real header.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

/// The metadata key prefix of a tensor's data checksum: "sha256:NAME".
inline constexpr const char *kTensorChecksumPrefix = "sha256:";

/// Where one tensor lives in a safetensors file.
struct TensorInfo {
  std::string name;
  DType dtype;
  /// Row-major dimensions; empty for a scalar.
  std::vector<int64_t> shape;
  /// Offset of the first byte from the start of the file (not of the data
  /// section, as in the header).
  uint64_t byteOffset;
  uint64_t byteSize;
};

/// A validated, in-memory safetensors file.
///
/// open() and fromBytes() check everything the format promises (see
/// Safetensors.cpp) before returning, so later calls never read out of
/// bounds. Tensors may be laid out with gaps or trailing bytes, which the
/// format's reference reader rejects; we accept them because they cannot make
/// us read the wrong bytes.
class SafetensorsReader {
public:
  /// Reads and validates the file at `path`; messages name `path`.
  static Expected<SafetensorsReader> open(const std::string &path);

  /// Validates `bytes` as a safetensors file; messages name `displayName`.
  static Expected<SafetensorsReader> fromBytes(std::vector<uint8_t> bytes,
                                               std::string displayName);

  /// All tensors, in the order of their data in the file.
  const std::vector<TensorInfo> &tensors() const { return tensors_; }

  /// Returns the tensor called `name`, or nullptr.
  const TensorInfo *find(const std::string &name) const;

  /// The "__metadata__" map; empty when the file has none.
  const std::map<std::string, std::string> &metadata() const {
    return metadata_;
  }

  /// Copies tensor `name` into `dst` after checking that it exists (else
  /// kNotFound), has dtype `expected` and shape `expectedShape`, and that
  /// `dstBytes` equals its size (else kInvalidArgument, naming both the
  /// expected and the found value).
  Status read(const std::string &name, DType expected,
              const std::vector<int64_t> &expectedShape, void *dst,
              size_t dstBytes) const;

  /// Returns a pointer to tensor `name`'s raw little-endian bytes inside the
  /// reader. It may be unaligned (the format packs tensors without padding),
  /// so copy with memcpy rather than casting to a typed pointer.
  Expected<const uint8_t *> data(const std::string &name) const;

  /// Checks tensor `name`'s bytes against its SHA-256 in the metadata
  /// (kTensorChecksumPrefix + name, written by recordChecksums): kDataLoss
  /// naming the file and tensor when they differ, or when `required` and
  /// there is no checksum. Files from elsewhere have none and pass unless
  /// `required`.
  Status verifyChecksum(const std::string &name, bool required = false) const;

  /// verifyChecksum of every tensor.
  Status verifyChecksums(bool required = false) const;

  /// The name used in messages: the path or the display name.
  const std::string &displayName() const { return displayName_; }

private:
  SafetensorsReader() = default;

  std::string displayName_;
  std::vector<uint8_t> bytes_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> indexByName_;
  std::map<std::string, std::string> metadata_;
};

/// Builds a safetensors file from tensors added in order.
///
/// Output is deterministic: the header lists "__metadata__" (when set) and
/// then the tensors in insertion order, with keys in the order dtype, shape,
/// data_offsets; tensor data is packed in insertion order with no gaps; the
/// header is padded with spaces to a multiple of 8 bytes.
class SafetensorsWriter {
public:
  /// Copies `data` (prod(shape) elements of `dtype`, row-major,
  /// little-endian) as tensor `name`. Fails with kInvalidArgument on a
  /// duplicate or reserved name, a negative dimension, a size that overflows,
  /// or null data for a non-empty tensor.
  Status add(const std::string &name, DType dtype,
             const std::vector<int64_t> &shape, const void *data);

  /// Sets metadata entry `key`, replacing an earlier value.
  void setMetadata(const std::string &key, const std::string &value);

  /// Records the SHA-256 of every tensor added so far as metadata
  /// kTensorChecksumPrefix + name (lower-case hex). The file stays plain
  /// safetensors (metadata is string -> string); readers of this library
  /// verify it with verifyChecksum, so a flipped data byte is found.
  void recordChecksums();

  /// Returns the complete file image. Fails with kInvalidArgument if a name,
  /// key or value is not valid UTF-8 (JSON requires it).
  Expected<std::vector<uint8_t>> serialize() const;

  /// Writes the file to `path` via writeFileAtomically, streaming the tensor
  /// data instead of building the whole image in memory.
  Status writeAtomically(const std::string &path) const;

private:
  struct PendingTensor {
    std::string name;
    /// The name as a quoted, escaped JSON string, ready for the header.
    std::string jsonName;
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };

  /// Returns the 8-byte length prefix followed by the padded JSON header.
  Expected<std::vector<uint8_t>> buildPreamble() const;

  std::vector<PendingTensor> tensors_;
  std::unordered_set<std::string> names_;
  std::map<std::string, std::string> metadata_;
};

} // namespace simclr

#endif // SIMCLR_SUPPORT_SAFETENSORS_H
