//===- FileIOTest.cpp - Tests for readFile and writeFileAtomically --------===//
#include "simclr/Support/FileIO.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

namespace simclr {
namespace {

namespace fs = std::filesystem;

/// Larger than readFile's 64 KiB chunk, so chunked reads are exercised.
constexpr size_t kLargeFileBytes = 200 * 1024;

/// Each test gets a fresh directory under $SIMCLR_TEST_TMPDIR (or /tmp),
/// removed afterwards.
class FileIOTest : public ::testing::Test {
protected:
  void SetUp() override {
    const char *env = std::getenv("SIMCLR_TEST_TMPDIR");
    std::string parent = env && *env ? env : "/tmp";
    std::error_code ignored;
    fs::create_directories(parent, ignored);
    Expected<std::string> dir = makeTempDirectory(parent, "fileio-");
    ASSERT_TRUE(dir) << dir.status().toString();
    dir_ = *dir;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  /// Names of the entries in the test directory, sorted.
  std::vector<std::string> listDir() const {
    std::vector<std::string> names;
    for (const fs::directory_entry &entry : fs::directory_iterator(dir_))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  std::string dir_;
};

std::vector<uint8_t> bytesOf(const std::string &text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

TEST_F(FileIOTest, WriteThenReadRoundTrips) {
  std::vector<uint8_t> bytes(kLargeFileBytes);
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<uint8_t>(i * 7 + i / 256);
  std::string path = dir_ + "/data.bin";
  ASSERT_TRUE(writeFileAtomically(path, bytes).isOk());
  Expected<std::vector<uint8_t>> read = readFile(path);
  ASSERT_TRUE(read) << read.status().toString();
  EXPECT_EQ(*read, bytes);
}

TEST_F(FileIOTest, EmptyFileRoundTrips) {
  std::string path = dir_ + "/empty";
  ASSERT_TRUE(writeFileAtomically(path, std::vector<uint8_t>()).isOk());
  Expected<std::vector<uint8_t>> read = readFile(path);
  ASSERT_TRUE(read) << read.status().toString();
  EXPECT_TRUE(read->empty());
}

TEST_F(FileIOTest, TempFileIsGoneAfterWrite) {
  std::string path = dir_ + "/ckpt.safetensors";
  ASSERT_TRUE(writeFileAtomically(path, bytesOf("first")).isOk());
  ASSERT_TRUE(writeFileAtomically(path, bytesOf("second")).isOk());
  EXPECT_EQ(listDir(), std::vector<std::string>{"ckpt.safetensors"});
  EXPECT_EQ(*readFile(path), bytesOf("second"));
}

TEST_F(FileIOTest, ProducerCallsAreConcatenated) {
  std::string path = dir_ + "/parts";
  Status status = writeFileAtomically(path, [](const ByteSink &sink) {
    SIMCLR_RETURN_IF_ERROR(sink("ab", 2));
    SIMCLR_RETURN_IF_ERROR(sink("", 0));
    return sink("cde", 3);
  });
  ASSERT_TRUE(status.isOk()) << status.toString();
  EXPECT_EQ(*readFile(path), bytesOf("abcde"));
}

TEST_F(FileIOTest, RelativePathSyncsCurrentDirectory) {
  std::string previous = fs::current_path().string();
  ASSERT_EQ(::chdir(dir_.c_str()), 0);
  Status status = writeFileAtomically("relative.bin", bytesOf("x"));
  ASSERT_EQ(::chdir(previous.c_str()), 0);
  ASSERT_TRUE(status.isOk()) << status.toString();
  EXPECT_EQ(listDir(), std::vector<std::string>{"relative.bin"});
}

TEST_F(FileIOTest, MissingDirectoryFailsNamingPathAndReason) {
  std::string path = dir_ + "/no/such/dir/ckpt.safetensors";
  Status status = writeFileAtomically(path, bytesOf("data"));
  ASSERT_FALSE(status.isOk());
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_NE(status.message().find(path), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("No such file or directory"),
            std::string::npos)
      << status.message();
  EXPECT_TRUE(listDir().empty());
}

TEST_F(FileIOTest, FailedProducerKeepsPreviousFileAndRemovesTemp) {
  std::string path = dir_ + "/ckpt.safetensors";
  ASSERT_TRUE(writeFileAtomically(path, bytesOf("old contents")).isOk());
  Status status = writeFileAtomically(path, [](const ByteSink &sink) {
    SIMCLR_RETURN_IF_ERROR(sink("partial new", 11));
    return dataLoss("producer gave up");
  });
  ASSERT_FALSE(status.isOk());
  EXPECT_EQ(status.code(), StatusCode::kDataLoss);
  EXPECT_EQ(status.message(), "producer gave up");
  EXPECT_EQ(*readFile(path), bytesOf("old contents"));
  EXPECT_EQ(listDir(), std::vector<std::string>{"ckpt.safetensors"});
}

TEST_F(FileIOTest, FailedRenameKeepsTargetAndRemovesTemp) {
  // A non-empty directory cannot be replaced by a file, so rename() fails
  // after the temporary file was fully written.
  std::string path = dir_ + "/target";
  fs::create_directory(path);
  ASSERT_TRUE(writeFileAtomically(path + "/keep", bytesOf("k")).isOk());
  Status status = writeFileAtomically(path, bytesOf("data"));
  ASSERT_FALSE(status.isOk());
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_NE(status.message().find(path + ": cannot rename"), std::string::npos)
      << status.message();
  EXPECT_TRUE(fs::is_directory(path));
  EXPECT_EQ(listDir(), std::vector<std::string>{"target"});
}

TEST_F(FileIOTest, ReadMissingFileIsNotFound) {
  std::string path = dir_ + "/absent.safetensors";
  Expected<std::vector<uint8_t>> read = readFile(path);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(read.status().message(),
            path + ": cannot open: No such file or directory");
}

TEST_F(FileIOTest, ReadDirectoryFails) {
  Expected<std::vector<uint8_t>> read = readFile(dir_);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.status().code(), StatusCode::kIoError);
  EXPECT_EQ(read.status().message(), dir_ + ": cannot read: Is a directory");
}

TEST_F(FileIOTest, MakeTempDirectoryFailsUnderMissingParent) {
  Expected<std::string> made = makeTempDirectory(dir_ + "/missing", "x-");
  ASSERT_FALSE(made);
  EXPECT_NE(made.status().message().find(dir_ + "/missing/x-XXXXXX"),
            std::string::npos)
      << made.status().message();
}

} // namespace
} // namespace simclr
