//===- SafetensorsTest.cpp - Tests for the safetensors reader and writer --===//
#include "simclr/Support/Safetensors.h"

#include "simclr/Support/FileIO.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace simclr {
namespace {

namespace fs = std::filesystem;

/// The display name malformed images are parsed under.
constexpr const char *kBadFile = "bad.safetensors";

/// Returns `size` as the 8-byte little-endian header length.
std::vector<uint8_t> lengthPrefix(uint64_t size) {
  std::vector<uint8_t> out;
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<uint8_t>(size >> (8 * i)));
  return out;
}

/// Builds a file image from a literal header (unpadded) and a data section.
std::vector<uint8_t> makeImage(const std::string &header,
                               const std::vector<uint8_t> &data = {}) {
  std::vector<uint8_t> image = lengthPrefix(header.size());
  image.insert(image.end(), header.begin(), header.end());
  image.insert(image.end(), data.begin(), data.end());
  return image;
}

template <typename T> std::vector<uint8_t> rawBytes(const std::vector<T> &v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  if (!out.empty())
    std::memcpy(out.data(), v.data(), out.size());
  return out;
}

/// Expects `image` to be rejected with a one-line message naming kBadFile,
/// tensor `tensor` (when non-empty) and containing `fragment`.
void expectRejected(const std::vector<uint8_t> &image,
                    const std::string &tensor, const std::string &fragment) {
  Expected<SafetensorsReader> reader =
      SafetensorsReader::fromBytes(image, kBadFile);
  ASSERT_FALSE(reader) << "accepted; expected an error with: " << fragment;
  const std::string &message = reader.status().message();
  EXPECT_EQ(message.rfind(std::string(kBadFile) + ": ", 0), 0u) << message;
  if (!tensor.empty())
    EXPECT_NE(message.find("tensor '" + tensor + "'"), std::string::npos)
        << message;
  EXPECT_NE(message.find(fragment), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

/// A header entry for tensor `name`.
std::string entry(const std::string &name, const std::string &dtype,
                  const std::string &shape, const std::string &offsets) {
  return "\"" + name + "\":{\"dtype\":" + dtype + ",\"shape\":" + shape +
         ",\"data_offsets\":" + offsets + "}";
}

//===----------------------------------------------------------------------===//
// Format: byte-exact images
//===----------------------------------------------------------------------===//

TEST(SafetensorsFormatTest, WriterProducesKnownImageByteForByte) {
  SafetensorsWriter writer;
  std::vector<float> weights = {1.0f, -2.0f};
  uint8_t bias = 7;
  ASSERT_TRUE(writer.add("a", DType::kF32, {2}, weights.data()).isOk());
  ASSERT_TRUE(writer.add("bias", DType::kU8, {}, &bias).isOk());
  writer.setMetadata("format", "pt");
  Expected<std::vector<uint8_t>> image = writer.serialize();
  ASSERT_TRUE(image) << image.status().toString();

  // 139 header bytes, padded with 5 spaces to 144 = 0x90; then float32 1.0
  // and -2.0 in little-endian IEEE-754, then the byte 7.
  std::string header =
      "{\"__metadata__\":{\"format\":\"pt\"},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"bias\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[8,9]}}"
      "     ";
  std::vector<uint8_t> expected = {0x90, 0, 0, 0, 0, 0, 0, 0};
  expected.insert(expected.end(), header.begin(), header.end());
  for (uint8_t byte : {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x07})
    expected.push_back(byte);
  EXPECT_EQ(*image, expected);
}

TEST(SafetensorsFormatTest, EmptyWriterProducesPaddedEmptyObject) {
  Expected<std::vector<uint8_t>> image = SafetensorsWriter().serialize();
  ASSERT_TRUE(image);
  std::vector<uint8_t> expected = {8, 0, 0, 0, 0, 0, 0, 0};
  for (char c : std::string("{}      "))
    expected.push_back(static_cast<uint8_t>(c));
  EXPECT_EQ(*image, expected);

  Expected<SafetensorsReader> reader =
      SafetensorsReader::fromBytes(*image, "empty");
  ASSERT_TRUE(reader) << reader.status().toString();
  EXPECT_TRUE(reader->tensors().empty());
  EXPECT_TRUE(reader->metadata().empty());
}

TEST(SafetensorsFormatTest, ReadsForeignLayout) {
  // As other writers may emit it: keys out of data order, whitespace,
  // metadata last, no padding, and a tensor order unrelated to key order.
  std::string header = "{ \"z\": {\"data_offsets\": [0, 4], \"dtype\": \"I32\","
                       " \"shape\": [1]},\n \"a\": {\"dtype\": \"F64\", "
                       "\"shape\": [], \"data_offsets\": [4, 12]},"
                       " \"__metadata__\": {\"k\": \"v\"} }";
  std::vector<uint8_t> data = rawBytes(std::vector<int32_t>{-5});
  std::vector<uint8_t> scalar = rawBytes(std::vector<double>{0.25});
  data.insert(data.end(), scalar.begin(), scalar.end());
  std::vector<uint8_t> image = makeImage(header, data);

  Expected<SafetensorsReader> reader =
      SafetensorsReader::fromBytes(image, "foreign");
  ASSERT_TRUE(reader) << reader.status().toString();
  ASSERT_EQ(reader->tensors().size(), 2u);
  EXPECT_EQ(reader->tensors()[0].name, "z");
  EXPECT_EQ(reader->tensors()[0].byteOffset, 8 + header.size());
  EXPECT_EQ(reader->tensors()[1].name, "a");
  EXPECT_EQ(reader->metadata().at("k"), "v");

  int32_t z = 0;
  ASSERT_TRUE(reader->read("z", DType::kI32, {1}, &z, sizeof(z)).isOk());
  EXPECT_EQ(z, -5);
  double a = 0;
  ASSERT_TRUE(reader->read("a", DType::kF64, {}, &a, sizeof(a)).isOk());
  EXPECT_EQ(a, 0.25);
}

//===----------------------------------------------------------------------===//
// Round trips through a file
//===----------------------------------------------------------------------===//

/// Each test gets a fresh directory under $SIMCLR_TEST_TMPDIR (or /tmp),
/// removed afterwards.
class SafetensorsFileTest : public ::testing::Test {
protected:
  void SetUp() override {
    const char *env = std::getenv("SIMCLR_TEST_TMPDIR");
    std::string parent = env && *env ? env : "/tmp";
    std::error_code ignored;
    fs::create_directories(parent, ignored);
    Expected<std::string> dir = makeTempDirectory(parent, "safetensors-");
    ASSERT_TRUE(dir) << dir.status().toString();
    dir_ = *dir;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::string dir_;
};

/// A tensor of any dtype as raw bytes, for table-driven round trips.
struct Sample {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

std::vector<Sample> makeSamples() {
  // Half types have no C++ type: 1.0, -2.0, 0.5 as IEEE half and bfloat16.
  std::vector<uint16_t> f16 = {0x3c00, 0xc000, 0x3800};
  std::vector<uint16_t> bf16 = {0x3f80, 0xc000, 0x3f00, 0x0000};
  return {
      {"layer1.0.conv1.weight",
       DType::kF32,
       {2, 3},
       rawBytes(std::vector<float>{0.5f, -1.f, 2.f, 3.25f, -0.f, 1e-30f})},
      {"f64", DType::kF64, {4}, rawBytes(std::vector<double>{1, 2, 3, 1e300})},
      {"half", DType::kF16, {3}, rawBytes(f16)},
      {"brain", DType::kBF16, {2, 2}, rawBytes(bf16)},
      {"step", DType::kI64, {}, rawBytes(std::vector<int64_t>{1LL << 40})},
      {"labels",
       DType::kI32,
       {5},
       rawBytes(std::vector<int32_t>{0, -1, 2, 3, 4})},
      {"empty", DType::kU8, {0}, {}},
      {"empty3d", DType::kF32, {3, 0, 2}, {}},
      {"mask", DType::kBool, {1, 3}, {1, 0, 1}},
      {"pixels", DType::kU8, {1, 1, 2}, {0, 255}},
  };
}

TEST_F(SafetensorsFileTest, RoundTripsEveryDTypeAndShape) {
  std::vector<Sample> samples = makeSamples();
  SafetensorsWriter writer;
  for (const Sample &s : samples)
    ASSERT_TRUE(writer.add(s.name, s.dtype, s.shape, s.bytes.data()).isOk());
  std::string path = dir_ + "/model.safetensors";
  Status written = writer.writeAtomically(path);
  ASSERT_TRUE(written.isOk()) << written.toString();

  Expected<SafetensorsReader> reader = SafetensorsReader::open(path);
  ASSERT_TRUE(reader) << reader.status().toString();
  EXPECT_EQ(reader->displayName(), path);
  // Zero-size tensors share an offset with their neighbour, so compare as
  // sets of names; non-empty ones must appear in insertion order.
  ASSERT_EQ(reader->tensors().size(), samples.size());
  std::vector<std::string> nonEmptyOrder;
  for (const TensorInfo &info : reader->tensors())
    if (info.byteSize != 0)
      nonEmptyOrder.push_back(info.name);
  std::vector<std::string> expectedOrder;
  for (const Sample &s : samples)
    if (!s.bytes.empty())
      expectedOrder.push_back(s.name);
  EXPECT_EQ(nonEmptyOrder, expectedOrder);

  for (const Sample &s : samples) {
    SCOPED_TRACE(s.name);
    const TensorInfo *info = reader->find(s.name);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->dtype, s.dtype);
    EXPECT_EQ(info->shape, s.shape);
    EXPECT_EQ(info->byteSize, s.bytes.size());
    std::vector<uint8_t> out(s.bytes.size());
    Status status =
        reader->read(s.name, s.dtype, s.shape, out.data(), out.size());
    ASSERT_TRUE(status.isOk()) << status.toString();
    EXPECT_EQ(out, s.bytes);
    Expected<const uint8_t *> view = reader->data(s.name);
    ASSERT_TRUE(view);
    EXPECT_EQ(std::vector<uint8_t>(*view, *view + s.bytes.size()), s.bytes);
  }

  // Streaming to a file and serializing in memory give the same bytes.
  Expected<std::vector<uint8_t>> image = writer.serialize();
  ASSERT_TRUE(image);
  EXPECT_EQ(*readFile(path), *image);
  // The data section starts 8-byte aligned.
  EXPECT_EQ(reader->tensors().front().byteOffset % 8, 0u);
}

TEST_F(SafetensorsFileTest, MetadataRoundTrips) {
  SafetensorsWriter writer;
  writer.setMetadata("format", "pt");
  writer.setMetadata("epoch", "first");
  writer.setMetadata("epoch", "12");
  writer.setMetadata("empty", "");
  writer.setMetadata("quote\"and\\slash", "ünïcødé \n tab\t");
  float x = 1.5f;
  ASSERT_TRUE(writer.add("x", DType::kF32, {}, &x).isOk());
  std::string path = dir_ + "/meta.safetensors";
  ASSERT_TRUE(writer.writeAtomically(path).isOk());

  Expected<SafetensorsReader> reader = SafetensorsReader::open(path);
  ASSERT_TRUE(reader) << reader.status().toString();
  std::map<std::string, std::string> expected = {
      {"format", "pt"},
      {"epoch", "12"},
      {"empty", ""},
      {"quote\"and\\slash", "ünïcødé \n tab\t"}};
  EXPECT_EQ(reader->metadata(), expected);
}

TEST_F(SafetensorsFileTest, WriteLeavesNoTempFile) {
  SafetensorsWriter writer;
  int64_t step = 3;
  ASSERT_TRUE(writer.add("step", DType::kI64, {}, &step).isOk());
  ASSERT_TRUE(writer.writeAtomically(dir_ + "/ckpt.safetensors").isOk());
  std::vector<std::string> names;
  for (const fs::directory_entry &e : fs::directory_iterator(dir_))
    names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"ckpt.safetensors"});
}

TEST_F(SafetensorsFileTest, OpenMissingFileNamesPath) {
  std::string path = dir_ + "/absent.safetensors";
  Expected<SafetensorsReader> reader = SafetensorsReader::open(path);
  ASSERT_FALSE(reader);
  EXPECT_EQ(reader.status().code(), StatusCode::kNotFound);
  EXPECT_NE(reader.status().message().find(path), std::string::npos);
}

TEST_F(SafetensorsFileTest, WriteIntoMissingDirectoryFails) {
  SafetensorsWriter writer;
  std::string path = dir_ + "/missing/ckpt.safetensors";
  Status status = writer.writeAtomically(path);
  ASSERT_FALSE(status.isOk());
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_NE(status.message().find(path), std::string::npos) << status.message();
}

//===----------------------------------------------------------------------===//
// read() and data() errors
//===----------------------------------------------------------------------===//

class SafetensorsReadTest : public ::testing::Test {
protected:
  void SetUp() override {
    SafetensorsWriter writer;
    std::vector<float> values(6, 1.0f);
    ASSERT_TRUE(writer.add("w", DType::kF32, {2, 3}, values.data()).isOk());
    Expected<std::vector<uint8_t>> image = writer.serialize();
    ASSERT_TRUE(image);
    Expected<SafetensorsReader> reader =
        SafetensorsReader::fromBytes(std::move(*image), "ckpt.safetensors");
    ASSERT_TRUE(reader) << reader.status().toString();
    reader_.emplace(std::move(*reader));
  }

  std::optional<SafetensorsReader> reader_;
  float buffer_[6] = {};
};

TEST_F(SafetensorsReadTest, MissingTensor) {
  Status status =
      reader_->read("x", DType::kF32, {2, 3}, buffer_, sizeof(buffer_));
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "ckpt.safetensors: no tensor named 'x'");
  Expected<const uint8_t *> view = reader_->data("x");
  ASSERT_FALSE(view);
  EXPECT_EQ(view.status().message(), "ckpt.safetensors: no tensor named 'x'");
  EXPECT_EQ(reader_->find("x"), nullptr);
}

TEST_F(SafetensorsReadTest, DTypeMismatchNamesBoth) {
  Status status =
      reader_->read("w", DType::kF64, {2, 3}, buffer_, sizeof(buffer_));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "ckpt.safetensors: tensor 'w': expected dtype F64, found F32");
}

TEST_F(SafetensorsReadTest, ShapeMismatchNamesBoth) {
  Status status =
      reader_->read("w", DType::kF32, {3, 2}, buffer_, sizeof(buffer_));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      status.message(),
      "ckpt.safetensors: tensor 'w': expected shape [3, 2], found [2, 3]");
  status = reader_->read("w", DType::kF32, {}, buffer_, sizeof(float));
  EXPECT_EQ(status.message(),
            "ckpt.safetensors: tensor 'w': expected shape [], found [2, 3]");
}

TEST_F(SafetensorsReadTest, DestinationSizeMismatch) {
  Status status =
      reader_->read("w", DType::kF32, {2, 3}, buffer_, 5 * sizeof(float));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "ckpt.safetensors: tensor 'w': destination "
                              "holds 20 bytes, the tensor 24");
}

//===----------------------------------------------------------------------===//
// Writer errors
//===----------------------------------------------------------------------===//

TEST(SafetensorsWriterTest, RejectsBadTensors) {
  SafetensorsWriter writer;
  float value = 0;
  ASSERT_TRUE(writer.add("w", DType::kF32, {}, &value).isOk());

  Status duplicate = writer.add("w", DType::kF32, {}, &value);
  EXPECT_EQ(duplicate.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(duplicate.message(), "safetensors writer: tensor 'w': added twice");

  Status reserved = writer.add("__metadata__", DType::kF32, {}, &value);
  EXPECT_NE(reserved.message().find("reserved"), std::string::npos);

  Status negative = writer.add("n", DType::kF32, {2, -1}, &value);
  EXPECT_NE(negative.message().find("negative dimension in shape [2, -1]"),
            std::string::npos)
      << negative.message();

  Status null = writer.add("p", DType::kF32, {1}, nullptr);
  EXPECT_NE(null.message().find("data is null"), std::string::npos);
  EXPECT_TRUE(writer.add("nullEmpty", DType::kF32, {0}, nullptr).isOk());

  Status huge = writer.add("h", DType::kF64, {1LL << 40, 1LL << 40}, &value);
  EXPECT_NE(huge.message().find("too large"), std::string::npos);

  Status utf8 = writer.add("bad\xff", DType::kF32, {}, &value);
  EXPECT_EQ(
      utf8.message(),
      "safetensors writer: tensor 'bad\\xff': the name is not valid UTF-8");

  // The failed adds left the writer holding only the good tensors.
  Expected<SafetensorsReader> reader =
      SafetensorsReader::fromBytes(*writer.serialize(), "w");
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->tensors().size(), 2u);
}

TEST(SafetensorsWriterTest, RejectsInvalidUtf8Metadata) {
  SafetensorsWriter writer;
  writer.setMetadata("key", "\xc3");
  Expected<std::vector<uint8_t>> image = writer.serialize();
  ASSERT_FALSE(image);
  EXPECT_EQ(image.status().message(),
            "safetensors writer: metadata entry 'key' is not valid UTF-8");
}

//===----------------------------------------------------------------------===//
// Malformed files
//===----------------------------------------------------------------------===//

TEST(SafetensorsMalformedTest, TooShortForLength) {
  expectRejected({}, "", "file is 0 bytes, too short");
  expectRejected({1, 2, 3, 4, 5, 6, 7}, "", "file is 7 bytes, too short");
}

TEST(SafetensorsMalformedTest, HeaderLengthPastEndOfFile) {
  std::vector<uint8_t> image = lengthPrefix(64);
  for (char c : std::string("{}"))
    image.push_back(static_cast<uint8_t>(c));
  expectRejected(image, "",
                 "header [8, 72) extends past the end of the file (10 bytes); "
                 "the file is truncated");
}

TEST(SafetensorsMalformedTest, AbsurdHeaderLength) {
  std::vector<uint8_t> image = lengthPrefix(kMaxSafetensorsHeaderBytes + 1);
  expectRejected(image, "",
                 "header length 100000001 at byte 0 exceeds the limit of "
                 "100000000 bytes");
  expectRejected(lengthPrefix(~0ULL), "", "exceeds the limit");
}

TEST(SafetensorsMalformedTest, HeaderNotJson) {
  expectRejected(makeImage("{\"a\": }"), "",
                 "header [8, 15) is not valid JSON (error near file byte 14)");
  expectRejected(makeImage(""), "", "is not valid JSON");
  // The offending byte is escaped, keeping the message printable.
  expectRejected(makeImage("{\"a\":\"\xff\"}"), "",
                 "ill-formed UTF-8 byte; last read: '\"\\xff'");
  expectRejected(makeImage("{} trailing"), "", "is not valid JSON");
}

TEST(SafetensorsMalformedTest, HeaderNotObject) {
  expectRejected(makeImage("[1, 2]"), "",
                 "header [8, 14) is a JSON array, expected an object");
  expectRejected(makeImage("\"F32\""), "", "is a JSON string");
}

TEST(SafetensorsMalformedTest, DuplicateKeys) {
  std::string e = entry("t", "\"U8\"", "[1]", "[0,1]");
  expectRejected(makeImage("{" + e + "," + e + "}", {0}), "",
                 "repeats the key 't'");
  expectRejected(
      makeImage("{\"t\":{\"dtype\":\"U8\",\"dtype\":\"F32\",\"shape\":[1],"
                "\"data_offsets\":[0,1]}}",
                {0}),
      "", "repeats the key 'dtype'");
}

TEST(SafetensorsMalformedTest, EntryMissingField) {
  expectRejected(
      makeImage("{\"t\":{\"shape\":[1],\"data_offsets\":[0,1]}}", {0}), "t",
      "header entry has no \"dtype\"");
  expectRejected(
      makeImage("{\"t\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", {0}), "t",
      "header entry has no \"shape\"");
  expectRejected(makeImage("{\"t\":{\"dtype\":\"U8\",\"shape\":[1]}}", {0}),
                 "t", "header entry has no \"data_offsets\"");
}

TEST(SafetensorsMalformedTest, EntryWrongJsonType) {
  expectRejected(makeImage("{\"t\":[1]}"), "t",
                 "header entry is a JSON array, expected an object");
  expectRejected(makeImage("{" + entry("t", "7", "[1]", "[0,1]") + "}", {0}),
                 "t", "\"dtype\" is a JSON number, expected a string");
  expectRejected(
      makeImage("{" + entry("t", "\"U8\"", "\"1\"", "[0,1]") + "}", {0}), "t",
      "\"shape\" is a JSON string, expected an array");
  expectRejected(
      makeImage("{" + entry("t", "\"U8\"", "[1.0]", "[0,1]") + "}", {0}), "t",
      "dimension 1.0 is not an integer");
  expectRejected(
      makeImage("{" + entry("t", "\"U8\"", "[\"1\"]", "[0,1]") + "}", {0}), "t",
      "dimension is a JSON string, expected a non-negative integer");
  expectRejected(
      makeImage("{" + entry("t", "\"U8\"", "[1]", "[0,1,2]") + "}", {0}), "t",
      "\"data_offsets\" has 3 elements, expected [begin, end]");
  expectRejected(makeImage("{" + entry("t", "\"U8\"", "[1]", "{}") + "}", {0}),
                 "t", "\"data_offsets\" is a JSON object, expected an array");
  expectRejected(
      makeImage("{" + entry("t", "\"U8\"", "[1]", "[0,1e0]") + "}", {0}), "t",
      "offset 1.0 is not an integer");
}

TEST(SafetensorsMalformedTest, UnknownDType) {
  expectRejected(
      makeImage("{" + entry("t", "\"I8\"", "[1]", "[0,1]") + "}", {0}), "t",
      "unknown dtype 'I8'");
  expectRejected(makeImage("{" + entry("t", "\"f32\"", "[1]", "[0,4]") + "}",
                           {0, 0, 0, 0}),
                 "t", "unknown dtype 'f32'");
}

TEST(SafetensorsMalformedTest, NegativeDimension) {
  expectRejected(makeImage("{" + entry("t", "\"U8\"", "[2,-1]", "[0,0]") + "}"),
                 "t", "negative dimension -1");
}

TEST(SafetensorsMalformedTest, NegativeOffset) {
  expectRejected(makeImage("{" + entry("t", "\"U8\"", "[1]", "[-1,0]") + "}"),
                 "t", "negative offset -1");
}

TEST(SafetensorsMalformedTest, EndBeforeBegin) {
  expectRejected(
      makeImage("{" + entry("t", "\"U8\"", "[0]", "[4,2]") + "}", {0, 0, 0, 0}),
      "t", "data_offsets [4, 2] end before they begin");
}

TEST(SafetensorsMalformedTest, ByteSizeMismatch) {
  expectRejected(makeImage("{" + entry("t", "\"F32\"", "[2,3]", "[0,20]") + "}",
                           std::vector<uint8_t>(24)),
                 "t",
                 "data_offsets [0, 20] hold 20 bytes, but shape [2, 3] of F32 "
                 "needs 24");
}

TEST(SafetensorsMalformedTest, ShapeOverflows) {
  expectRejected(
      makeImage("{" +
                entry("t", "\"F64\"", "[4294967296,4294967296]", "[0,0]") +
                "}"),
      "t", "shape [4294967296, 4294967296] of F64 is too large to address");
  expectRejected(
      makeImage("{" + entry("t", "\"U8\"", "[18446744073709551615]", "[0,0]") +
                "}"),
      "t", "dimension 18446744073709551615 is too large");
}

TEST(SafetensorsMalformedTest, RangePastEndOfFile) {
  std::string header =
      "{" + entry("layer1.0.conv1.weight", "\"F32\"", "[1024]", "[0,4096]") +
      "}";
  std::vector<uint8_t> image = makeImage(header, std::vector<uint8_t>(1000));
  uint64_t dataStart = 8 + header.size();
  expectRejected(image, "layer1.0.conv1.weight",
                 "data [" + std::to_string(dataStart) + ", " +
                     std::to_string(dataStart + 4096) +
                     ") extends past the end of the file (" +
                     std::to_string(image.size()) +
                     " bytes); the file is truncated");
  // Offsets near 2^64 must not wrap around when made absolute.
  expectRejected(
      makeImage("{" +
                entry("t", "\"U8\"", "[1]",
                      "[18446744073709551614,18446744073709551615]") +
                "}"),
      "t",
      "data [data section + 18446744073709551614, data "
      "section + 18446744073709551615) extends past the end");
}

TEST(SafetensorsMalformedTest, OverlappingRanges) {
  std::string header = "{" + entry("a", "\"F32\"", "[2]", "[0,8]") + "," +
                       entry("b", "\"F32\"", "[1]", "[4,8]") + "}";
  uint64_t dataStart = 8 + header.size();
  expectRejected(makeImage(header, std::vector<uint8_t>(8)), "b",
                 "data " + std::string("[") + std::to_string(dataStart + 4) +
                     ", " + std::to_string(dataStart + 8) +
                     ") overlaps tensor 'a' at [" + std::to_string(dataStart) +
                     ", " + std::to_string(dataStart + 8) + ")");
  // A range nested inside an earlier, longer one is caught too.
  std::string nested = "{" + entry("long", "\"U8\"", "[8]", "[0,8]") + "," +
                       entry("mid", "\"U8\"", "[2]", "[2,4]") + "," +
                       entry("tail", "\"U8\"", "[2]", "[5,7]") + "}";
  expectRejected(makeImage(nested, std::vector<uint8_t>(8)), "mid",
                 "overlaps tensor 'long'");
}

TEST(SafetensorsMalformedTest, EmptyRangesNeverOverlap) {
  std::string header = "{" + entry("a", "\"U8\"", "[4]", "[0,4]") + "," +
                       entry("e", "\"U8\"", "[0]", "[2,2]") + "}";
  Expected<SafetensorsReader> reader =
      SafetensorsReader::fromBytes(makeImage(header, {1, 2, 3, 4}), "ok");
  EXPECT_TRUE(reader) << reader.status().toString();
}

TEST(SafetensorsMalformedTest, MetadataNotStrings) {
  expectRejected(makeImage("{\"__metadata__\":{\"epoch\":3}}"), "",
                 "\"__metadata__\" entry 'epoch' is a JSON number, expected a "
                 "string");
  expectRejected(makeImage("{\"__metadata__\":[\"a\"]}"), "",
                 "\"__metadata__\" is a JSON array, expected an object");
}

TEST(SafetensorsMalformedTest, ControlCharactersInNamesStayOnOneLine) {
  expectRejected(makeImage("{\"bad\\nname\":{\"shape\":[0]}}"), "bad\\x0aname",
                 "has no \"dtype\"");
}

//===----------------------------------------------------------------------===//
// Truncation and corruption never crash
//===----------------------------------------------------------------------===//

std::vector<uint8_t> smallValidImage() {
  SafetensorsWriter writer;
  std::vector<float> w = {1, 2, 3, 4, 5, 6};
  std::vector<int64_t> step = {9};
  uint8_t flag = 1;
  EXPECT_TRUE(writer.add("w", DType::kF32, {2, 3}, w.data()).isOk());
  EXPECT_TRUE(writer.add("empty", DType::kF16, {0}, nullptr).isOk());
  EXPECT_TRUE(writer.add("step", DType::kI64, {}, step.data()).isOk());
  EXPECT_TRUE(writer.add("flag", DType::kBool, {1}, &flag).isOk());
  writer.setMetadata("format", "pt");
  return *writer.serialize();
}

TEST(SafetensorsRobustnessTest, EveryTruncationIsAnError) {
  std::vector<uint8_t> image = smallValidImage();
  ASSERT_TRUE(SafetensorsReader::fromBytes(image, "full"));
  for (size_t cut = 0; cut < image.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    std::vector<uint8_t> prefix(image.begin(), image.begin() + cut);
    Expected<SafetensorsReader> reader =
        SafetensorsReader::fromBytes(prefix, "cut.safetensors");
    ASSERT_FALSE(reader);
    const std::string &message = reader.status().message();
    EXPECT_EQ(reader.status().code(), StatusCode::kDataLoss);
    EXPECT_EQ(message.rfind("cut.safetensors: ", 0), 0u) << message;
    EXPECT_NE(message.find("the file is truncated"), std::string::npos)
        << message;
  }
}

TEST(SafetensorsRobustnessTest, DeeplyNestedValuesDoNotOverflowTheStack) {
  // Deep enough to overflow the stack of any parser or printer that recurses
  // per nesting level.
  constexpr size_t kDepth = 1000000;
  std::string deepArray = std::string(kDepth, '[') + std::string(kDepth, ']');
  expectRejected(
      makeImage("{" + entry("t", "\"U8\"", deepArray, "[0,0]") + "}"), "t",
      "dimension is a JSON array, expected a non-negative integer");
  expectRejected(
      makeImage("{" + entry("t", "\"U8\"", "[]", "[" + deepArray + ",0]") +
                "}"),
      "t", "offset is a JSON array, expected a non-negative integer");
  std::string deepObject;
  for (size_t i = 0; i < kDepth; ++i)
    deepObject += "{\"k\":";
  deepObject += "0" + std::string(kDepth, '}');
  expectRejected(makeImage("{\"t\":" + deepObject + "}"), "t",
                 "header entry has no \"dtype\"");
}

TEST(SafetensorsRobustnessTest, CorruptedBytesNeverReadOutOfBounds) {
  std::vector<uint8_t> image = smallValidImage();
  const uint8_t replacements[] = {0x00, 0xff, '{', '}', '"',
                                  '-',  '9',  ' ', '['};
  for (size_t pos = 0; pos < image.size(); ++pos) {
    for (uint8_t replacement : replacements) {
      std::vector<uint8_t> corrupt = image;
      corrupt[pos] = replacement;
      Expected<SafetensorsReader> reader =
          SafetensorsReader::fromBytes(corrupt, "corrupt");
      if (!reader) {
        EXPECT_EQ(reader.status().message().find('\n'), std::string::npos);
        continue;
      }
      for (const TensorInfo &info : reader->tensors())
        EXPECT_LE(info.byteOffset + info.byteSize, corrupt.size())
            << "byte " << pos << " set to " << int(replacement);
    }
  }
}

} // namespace
} // namespace simclr
