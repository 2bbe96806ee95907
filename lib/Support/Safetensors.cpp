//===- Safetensors.cpp - Read and write safetensors files -----------------===//
//
// Validation done by SafetensorsReader::fromBytes, in order; the first
// failure is reported:
//   1. The file holds at least the 8-byte header length.
//   2. The header length is at most kMaxSafetensorsHeaderBytes and the header
//      fits in the file.
//   3. The header is valid JSON with no duplicate key in any object, and its
//      root is an object.
//   4. "__metadata__", if present, is an object of strings.
//   5. Every other entry is an object with a known string "dtype", a "shape"
//      of non-negative integers and "data_offsets" [begin, end] of
//      non-negative integers with begin <= end, end - begin equal to
//      prod(shape) * dtype size (computed without overflow), and the range
//      inside the file.
//   6. No two non-empty data ranges overlap.
//
//===----------------------------------------------------------------------===//
#include "simclr/Support/Safetensors.h"

#include "simclr/Support/ArtifactPlan.h"
#include "simclr/Support/FileIO.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <climits>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_set>

// Tensor bytes are copied between files and memory unchanged, which is only
// right on a little-endian host.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors I/O assumes a little-endian host");

namespace simclr {
namespace {

using Json = nlohmann::json;

/// Size of the little-endian u64 that precedes the JSON header.
constexpr size_t kLengthPrefixBytes = sizeof(uint64_t);

/// Writers pad the header so the data section starts at a multiple of this,
/// keeping 8-byte element types aligned when a file is memory-mapped.
constexpr size_t kHeaderAlignment = 8;

/// "data_offsets" holds exactly [begin, end].
constexpr size_t kOffsetsLength = 2;

/// The header key that holds string metadata instead of a tensor.
constexpr const char *kMetadataKey = "__metadata__";

/// Returns `text` with control, non-ASCII and backslash bytes escaped as
/// \xNN, so every message stays one printable line.
std::string escapeBytes(const std::string &text) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  constexpr unsigned char kFirstPrintable = 0x20;
  constexpr unsigned char kLastPrintable = 0x7e;
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= kFirstPrintable && byte <= kLastPrintable && c != '\\') {
      out += c;
      continue;
    }
    out += "\\x";
    out += kHexDigits[byte >> 4];
    out += kHexDigits[byte & 0xf];
  }
  return out;
}

/// Returns `text` escaped and in single quotes, for names in messages.
std::string singleQuoted(const std::string &text) {
  return "'" + escapeBytes(text) + "'";
}

/// Formats a shape as "[2, 3]"; a scalar is "[]".
std::string formatShape(const std::vector<int64_t> &shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i != 0)
      out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

/// Formats a half-open byte range as "[begin, end)".
std::string formatRange(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

/// Returns prod(shape) * dtype size, or nullopt if a dimension is negative or
/// the product overflows 64 bits.
std::optional<uint64_t> checkedByteSize(const std::vector<int64_t> &shape,
                                        DType dtype) {
  uint64_t size = dtypeByteSize(dtype);
  for (int64_t dim : shape) {
    if (dim < 0 ||
        __builtin_mul_overflow(size, static_cast<uint64_t>(dim), &size))
      return std::nullopt;
  }
  return size;
}

/// Returns `text` as a quoted, escaped JSON string, or nullopt if it is not
/// valid UTF-8 (which JSON requires).
std::optional<std::string> toJsonString(const std::string &text) {
  try {
    return Json(text).dump(-1, ' ', false, Json::error_handler_t::strict);
  } catch (const Json::exception &) {
    return std::nullopt;
  }
}

uint64_t readLittleEndianU64(const uint8_t *bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < sizeof(uint64_t); ++i)
    value |= static_cast<uint64_t>(bytes[i]) << (CHAR_BIT * i);
  return value;
}

void appendLittleEndianU64(std::vector<uint8_t> &out, uint64_t value) {
  for (size_t i = 0; i < sizeof(uint64_t); ++i)
    out.push_back(static_cast<uint8_t>(value >> (CHAR_BIT * i)));
}

/// Validates one header entry and the file region it describes; the entry
/// keys are checked in the order dtype, shape, data_offsets.
class EntryParser {
public:
  EntryParser(const std::string &file, const std::string &name,
              uint64_t dataStart, uint64_t fileSize)
      : prefix_(file + ": tensor " + singleQuoted(name) + ": "), name_(name),
        dataStart_(dataStart), fileSize_(fileSize) {}

  Expected<TensorInfo> parse(const Json &entry) {
    if (!entry.is_object())
      return error("header entry is a JSON " + std::string(entry.type_name()) +
                   ", expected an object");
    TensorInfo info;
    info.name = name_;

    auto dtypeIt = entry.find("dtype");
    if (dtypeIt == entry.end())
      return error("header entry has no \"dtype\"");
    if (!dtypeIt->is_string())
      return error("\"dtype\" is a JSON " + std::string(dtypeIt->type_name()) +
                   ", expected a string");
    const auto &dtypeName = dtypeIt->get_ref<const std::string &>();
    std::optional<DType> dtype = parseSafetensorsDType(dtypeName);
    if (!dtype)
      return error("unknown dtype " + singleQuoted(dtypeName) +
                   " (simclrc supports F32, F64, F16, BF16, I64, I32, U8, "
                   "BOOL)");
    info.dtype = *dtype;

    auto shapeIt = entry.find("shape");
    if (shapeIt == entry.end())
      return error("header entry has no \"shape\"");
    if (!shapeIt->is_array())
      return error("\"shape\" is a JSON " + std::string(shapeIt->type_name()) +
                   ", expected an array of integers");
    for (const Json &dim : *shapeIt) {
      Expected<uint64_t> value = nonNegativeInteger(dim, "dimension");
      if (!value)
        return value.takeStatus();
      if (*value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return error("dimension " + std::to_string(*value) + " is too large");
      info.shape.push_back(static_cast<int64_t>(*value));
    }

    auto offsetsIt = entry.find("data_offsets");
    if (offsetsIt == entry.end())
      return error("header entry has no \"data_offsets\"");
    if (!offsetsIt->is_array())
      return error("\"data_offsets\" is a JSON " +
                   std::string(offsetsIt->type_name()) +
                   ", expected an array [begin, end]");
    if (offsetsIt->size() != kOffsetsLength)
      return error("\"data_offsets\" has " + std::to_string(offsetsIt->size()) +
                   " elements, expected [begin, end]");
    Expected<uint64_t> begin = nonNegativeInteger((*offsetsIt)[0], "offset");
    if (!begin)
      return begin.takeStatus();
    Expected<uint64_t> end = nonNegativeInteger((*offsetsIt)[1], "offset");
    if (!end)
      return end.takeStatus();
    if (*end < *begin)
      return error("data_offsets [" + std::to_string(*begin) + ", " +
                   std::to_string(*end) + "] end before they begin");

    std::optional<uint64_t> expectedSize = checkedByteSize(info.shape, *dtype);
    if (!expectedSize)
      return error("shape " + formatShape(info.shape) + " of " +
                   dtypeSafetensorsName(*dtype) + " is too large to address");
    uint64_t size = *end - *begin;
    if (size != *expectedSize)
      return error("data_offsets [" + std::to_string(*begin) + ", " +
                   std::to_string(*end) + "] hold " + std::to_string(size) +
                   " bytes, but shape " + formatShape(info.shape) + " of " +
                   dtypeSafetensorsName(*dtype) + " needs " +
                   std::to_string(*expectedSize));

    // Compare against the space left after the header so huge offsets
    // cannot overflow when made absolute.
    if (*end > fileSize_ - dataStart_)
      return dataLoss(
          prefix_ + "data [" + fileOffset(*begin) + ", " + fileOffset(*end) +
          ") extends past the end of the file (" + std::to_string(fileSize_) +
          " bytes); the file is truncated");
    info.byteOffset = dataStart_ + *begin;
    info.byteSize = size;
    return info;
  }

private:
  Status error(const std::string &message) const {
    return dataLoss(prefix_ + message);
  }

  /// Formats data-section offset `offset` as a file offset, or relative to
  /// the data section if the sum would overflow.
  std::string fileOffset(uint64_t offset) const {
    if (offset > std::numeric_limits<uint64_t>::max() - dataStart_)
      return "data section + " + std::to_string(offset);
    return std::to_string(dataStart_ + offset);
  }

  /// Checks that `value` is a JSON integer >= 0; `what` names it in errors.
  /// Only numbers are printed: dumping an arbitrary value could produce a
  /// huge message, and nlohmann's dump() recurses once per nesting level.
  Expected<uint64_t> nonNegativeInteger(const Json &value, const char *what) {
    if (value.is_number_unsigned())
      return value.get<uint64_t>();
    if (value.is_number_integer())
      return error("negative " + std::string(what) + " " + value.dump());
    if (value.is_number())
      return error(std::string(what) + " " + value.dump() +
                   " is not an integer");
    return error(std::string(what) + " is a JSON " +
                 std::string(value.type_name()) +
                 ", expected a non-negative integer");
  }

  std::string prefix_;
  std::string name_;
  uint64_t dataStart_;
  uint64_t fileSize_;
};

/// A SAX handler that stops at the first key repeated within one JSON
/// object, which nlohmann's DOM parser would silently resolve to the last
/// value. (nlohmann's callback parser could also see keys, but it rescans the
/// enclosing object at every object end, which is quadratic in the number of
/// tensors.)
class DuplicateKeyFinder : public nlohmann::json_sax<Json> {
public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t &) override { return true; }
  bool string(string_t &) override { return true; }
  bool binary(binary_t &) override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool start_object(std::size_t) override {
    openObjects_.emplace_back();
    return true;
  }
  bool end_object() override {
    openObjects_.pop_back();
    return true;
  }
  bool key(string_t &key) override {
    if (openObjects_.back().insert(key).second)
      return true;
    duplicate_ = key;
    return false;
  }
  bool parse_error(std::size_t, const std::string &,
                   const Json::exception &) override {
    return false;
  }

  /// The first repeated key, if any.
  const std::optional<std::string> &duplicate() const { return duplicate_; }

private:
  std::vector<std::unordered_set<std::string>> openObjects_;
  std::optional<std::string> duplicate_;
};

/// Parses `text` as JSON, failing on syntax errors and on a key repeated in
/// one object.
Expected<Json> parseHeaderJson(const std::string &file, const char *text,
                               size_t size) {
  std::string headerRange =
      "header " + formatRange(kLengthPrefixBytes, kLengthPrefixBytes + size);
  Json header;
  try {
    header = Json::parse(text, text + size);
  } catch (const Json::parse_error &e) {
    // nlohmann's e.byte is the 1-based index of the last byte it read.
    std::string what = e.what();
    size_t reason = what.find("] ");
    if (reason != std::string::npos)
      what = what.substr(reason + 2);
    return dataLoss(file + ": " + headerRange +
                    " is not valid JSON (error near file byte " +
                    std::to_string(kLengthPrefixBytes + e.byte - 1) +
                    "): " + escapeBytes(what));
  } catch (const Json::exception &e) {
    // A number beyond double's range (out_of_range.406) has no byte offset.
    std::string what = e.what();
    size_t reason = what.find("] ");
    if (reason != std::string::npos)
      what = what.substr(reason + 2);
    return dataLoss(file + ": " + headerRange + " is not valid JSON: " +
                    escapeBytes(what));
  }
  // A second, linear pass; the text is known to be valid JSON by now.
  DuplicateKeyFinder finder;
  Json::sax_parse(text, text + size, &finder);
  if (finder.duplicate())
    return dataLoss(file + ": " + headerRange + " repeats the key " +
                    singleQuoted(*finder.duplicate()));
  if (!header.is_object())
    return dataLoss(file + ": " + headerRange + " is a JSON " +
                    std::string(header.type_name()) + ", expected an object");
  return header;
}

} // namespace

//===----------------------------------------------------------------------===//
// SafetensorsReader
//===----------------------------------------------------------------------===//

Expected<SafetensorsReader> SafetensorsReader::open(const std::string &path) {
  Expected<std::vector<uint8_t>> bytes = readFile(path);
  if (!bytes)
    return bytes.takeStatus();
  return fromBytes(std::move(*bytes), path);
}

Expected<SafetensorsReader>
SafetensorsReader::fromBytes(std::vector<uint8_t> bytes,
                             std::string displayName) {
  const std::string &file = displayName;
  uint64_t fileSize = bytes.size();
  if (fileSize < kLengthPrefixBytes)
    return dataLoss(file + ": file is " + std::to_string(fileSize) +
                    " bytes, too short for the " +
                    std::to_string(kLengthPrefixBytes) +
                    "-byte header length; the file is truncated");
  uint64_t headerBytes = readLittleEndianU64(bytes.data());
  if (headerBytes > kMaxSafetensorsHeaderBytes)
    return dataLoss(file + ": header length " + std::to_string(headerBytes) +
                    " at byte 0 exceeds the limit of " +
                    std::to_string(kMaxSafetensorsHeaderBytes) +
                    " bytes; not a safetensors file or corrupt");
  uint64_t dataStart = kLengthPrefixBytes + headerBytes;
  if (dataStart > fileSize)
    return dataLoss(
        file + ": header " + formatRange(kLengthPrefixBytes, dataStart) +
        " extends past the end of the file (" + std::to_string(fileSize) +
        " bytes); the file is truncated");

  Expected<Json> header = parseHeaderJson(
      file, reinterpret_cast<const char *>(bytes.data() + kLengthPrefixBytes),
      headerBytes);
  if (!header)
    return header.takeStatus();

  SafetensorsReader reader;
  try {
    for (const auto &[key, value] : header->items()) {
      if (key == kMetadataKey) {
        if (!value.is_object())
          return dataLoss(file + ": \"__metadata__\" is a JSON " +
                          std::string(value.type_name()) +
                          ", expected an object of strings");
        for (const auto &[metaKey, metaValue] : value.items()) {
          if (!metaValue.is_string())
            return dataLoss(file + ": \"__metadata__\" entry " +
                            singleQuoted(metaKey) + " is a JSON " +
                            std::string(metaValue.type_name()) +
                            ", expected a string");
          reader.metadata_[metaKey] = metaValue.get<std::string>();
        }
        continue;
      }
      EntryParser parser(file, key, dataStart, fileSize);
      Expected<TensorInfo> info = parser.parse(value);
      if (!info)
        return info.takeStatus();
      reader.tensors_.push_back(std::move(*info));
    }
  } catch (const Json::exception &e) {
    return internalError(file +
                         ": unexpected JSON error while reading the "
                         "header: " +
                         std::string(e.what()));
  }

  std::vector<TensorInfo> &tensors = reader.tensors_;
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorInfo &a, const TensorInfo &b) {
              if (a.byteOffset != b.byteOffset)
                return a.byteOffset < b.byteOffset;
              if (a.byteSize != b.byteSize)
                return a.byteSize < b.byteSize;
              return a.name < b.name;
            });
  // Empty ranges hold no bytes and so cannot overlap anything.
  const TensorInfo *furthest = nullptr;
  for (const TensorInfo &info : tensors) {
    if (info.byteSize == 0)
      continue;
    if (furthest && info.byteOffset < furthest->byteOffset + furthest->byteSize)
      return dataLoss(
          file + ": tensor " + singleQuoted(info.name) + ": data " +
          formatRange(info.byteOffset, info.byteOffset + info.byteSize) +
          " overlaps tensor " + singleQuoted(furthest->name) + " at " +
          formatRange(furthest->byteOffset,
                      furthest->byteOffset + furthest->byteSize));
    if (!furthest || info.byteOffset + info.byteSize >
                         furthest->byteOffset + furthest->byteSize)
      furthest = &info;
  }

  for (size_t i = 0; i < tensors.size(); ++i)
    reader.indexByName_.emplace(tensors[i].name, i);
  reader.bytes_ = std::move(bytes);
  reader.displayName_ = std::move(displayName);
  return reader;
}

const TensorInfo *SafetensorsReader::find(const std::string &name) const {
  auto it = indexByName_.find(name);
  return it == indexByName_.end() ? nullptr : &tensors_[it->second];
}

Status SafetensorsReader::read(const std::string &name, DType expected,
                               const std::vector<int64_t> &expectedShape,
                               void *dst, size_t dstBytes) const {
  const TensorInfo *info = find(name);
  if (!info)
    return notFound(displayName_ + ": no tensor named " + singleQuoted(name));
  std::string prefix = displayName_ + ": tensor " + singleQuoted(name) + ": ";
  if (info->dtype != expected)
    return invalidArgument(prefix + "expected dtype " +
                           dtypeSafetensorsName(expected) + ", found " +
                           dtypeSafetensorsName(info->dtype));
  if (info->shape != expectedShape)
    return invalidArgument(prefix + "expected shape " +
                           formatShape(expectedShape) + ", found " +
                           formatShape(info->shape));
  if (dstBytes != info->byteSize)
    return invalidArgument(prefix + "destination holds " +
                           std::to_string(dstBytes) + " bytes, the tensor " +
                           std::to_string(info->byteSize));
  if (info->byteSize != 0)
    std::memcpy(dst, bytes_.data() + info->byteOffset, info->byteSize);
  return Status::ok();
}

Status SafetensorsReader::verifyChecksum(const std::string &name,
                                         bool required) const {
  const TensorInfo *info = find(name);
  if (!info)
    return notFound(displayName_ + ": no tensor named " + singleQuoted(name));
  auto it = metadata_.find(kTensorChecksumPrefix + name);
  if (it == metadata_.end())
    return required ? dataLoss(displayName_ + ": tensor " + singleQuoted(name) +
                               " has no checksum (metadata '" +
                               kTensorChecksumPrefix + name + "')")
                    : Status::ok();
  std::string actual =
      artifact::sha256Hex(bytes_.data() + info->byteOffset, info->byteSize);
  if (actual != it->second)
    return dataLoss(displayName_ + ": tensor " + singleQuoted(name) + ": bytes " +
                    formatRange(info->byteOffset, info->byteOffset + info->byteSize) +
                    " have SHA-256 " + actual + ", the metadata records " +
                    it->second + "; the file is corrupt");
  return Status::ok();
}

Status SafetensorsReader::verifyChecksums(bool required) const {
  for (const TensorInfo &info : tensors_)
    SIMCLR_RETURN_IF_ERROR(verifyChecksum(info.name, required));
  return Status::ok();
}

Expected<const uint8_t *>
SafetensorsReader::data(const std::string &name) const {
  const TensorInfo *info = find(name);
  if (!info)
    return notFound(displayName_ + ": no tensor named " + singleQuoted(name));
  return bytes_.data() + info->byteOffset;
}

//===----------------------------------------------------------------------===//
// SafetensorsWriter
//===----------------------------------------------------------------------===//

Status SafetensorsWriter::add(const std::string &name, DType dtype,
                              const std::vector<int64_t> &shape,
                              const void *data) {
  std::string prefix =
      "safetensors writer: tensor " + singleQuoted(name) + ": ";
  if (name == kMetadataKey)
    return invalidArgument(prefix + "the name is reserved for metadata");
  std::optional<std::string> jsonName = toJsonString(name);
  if (!jsonName)
    return invalidArgument(prefix + "the name is not valid UTF-8");
  if (names_.count(name))
    return invalidArgument(prefix + "added twice");
  for (int64_t dim : shape)
    if (dim < 0)
      return invalidArgument(prefix + "negative dimension in shape " +
                             formatShape(shape));
  std::optional<uint64_t> size = checkedByteSize(shape, dtype);
  if (!size || *size > std::numeric_limits<size_t>::max())
    return invalidArgument(prefix + "shape " + formatShape(shape) +
                           " is too large to address");
  if (*size != 0 && data == nullptr)
    return invalidArgument(prefix + "data is null");

  const auto *begin = static_cast<const uint8_t *>(data);
  std::vector<uint8_t> copy;
  if (*size != 0)
    copy.assign(begin, begin + *size);
  tensors_.push_back(
      PendingTensor{name, std::move(*jsonName), dtype, shape, std::move(copy)});
  names_.insert(name);
  return Status::ok();
}

void SafetensorsWriter::setMetadata(const std::string &key,
                                    const std::string &value) {
  metadata_[key] = value;
}

void SafetensorsWriter::recordChecksums() {
  for (const PendingTensor &tensor : tensors_)
    metadata_[kTensorChecksumPrefix + tensor.name] =
        artifact::sha256Hex(tensor.bytes.data(), tensor.bytes.size());
}

Expected<std::vector<uint8_t>> SafetensorsWriter::buildPreamble() const {
  // Built by hand rather than with nlohmann's ordered_json, whose key lookup
  // is linear and would make writing many tensors quadratic. The layout
  // matches the reference writer's: "__metadata__" first, entries with keys
  // dtype, shape, data_offsets, no whitespace.
  std::string text = "{";
  if (!metadata_.empty()) {
    text += "\"";
    text += kMetadataKey;
    text += "\":{";
    for (auto it = metadata_.begin(); it != metadata_.end(); ++it) {
      std::optional<std::string> key = toJsonString(it->first);
      std::optional<std::string> value = toJsonString(it->second);
      if (!key || !value)
        return invalidArgument("safetensors writer: metadata entry " +
                               singleQuoted(it->first) + " is not valid UTF-8");
      if (it != metadata_.begin())
        text += ',';
      text += *key + ':' + *value;
    }
    text += '}';
  }
  uint64_t offset = 0;
  for (const PendingTensor &tensor : tensors_) {
    if (text.size() > 1)
      text += ',';
    uint64_t end = offset + tensor.bytes.size();
    text += tensor.jsonName + ":{\"dtype\":\"" +
            dtypeSafetensorsName(tensor.dtype) + "\",\"shape\":[";
    for (size_t i = 0; i < tensor.shape.size(); ++i) {
      if (i != 0)
        text += ',';
      text += std::to_string(tensor.shape[i]);
    }
    text += "],\"data_offsets\":[" + std::to_string(offset) + ',' +
            std::to_string(end) + "]}";
    offset = end;
  }
  text += '}';
  text.append((kHeaderAlignment - text.size() % kHeaderAlignment) %
                  kHeaderAlignment,
              ' ');

  std::vector<uint8_t> preamble;
  preamble.reserve(kLengthPrefixBytes + text.size());
  appendLittleEndianU64(preamble, text.size());
  preamble.insert(preamble.end(), text.begin(), text.end());
  return preamble;
}

Expected<std::vector<uint8_t>> SafetensorsWriter::serialize() const {
  Expected<std::vector<uint8_t>> image = buildPreamble();
  if (!image)
    return image;
  for (const PendingTensor &tensor : tensors_)
    image->insert(image->end(), tensor.bytes.begin(), tensor.bytes.end());
  return image;
}

Status SafetensorsWriter::writeAtomically(const std::string &path) const {
  Expected<std::vector<uint8_t>> preamble = buildPreamble();
  if (!preamble)
    return preamble.takeStatus().withContext(path);
  return writeFileAtomically(path, [&](const ByteSink &sink) -> Status {
    SIMCLR_RETURN_IF_ERROR(sink(preamble->data(), preamble->size()));
    for (const PendingTensor &tensor : tensors_)
      SIMCLR_RETURN_IF_ERROR(sink(tensor.bytes.data(), tensor.bytes.size()));
    return Status::ok();
  });
}

} // namespace simclr
