//===- FuzzRegressionTest.cpp - Fuzz findings in the training run's readers -===//
//
// The class of input fuzz-safetensors and fuzz-plan found (a JSON number
// beyond double's range, on which nlohmann throws out_of_range rather than
// parse_error) in the run record that `simclr-train --resume` reads
// (docs/reliability.md, "Fuzzing").
//
//===----------------------------------------------------------------------===//
#include "simclr/Runtime/RunRecord.h"
#include "simclr/Support/FileIO.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace simclr {
namespace {

TEST(FuzzRegressionTest, RunRecordNumberOutOfRange) {
  const char *env = std::getenv("SIMCLR_TEST_TMPDIR");
  std::filesystem::path runDir =
      std::filesystem::path(env && *env ? env : "/tmp") / "fuzz-regression-run";
  std::filesystem::remove_all(runDir);
  std::filesystem::create_directories(runDir);
  std::string path = runRecordPath(runDir.string());
  std::string text = "{\"batch_size\": 1e400}";
  ASSERT_TRUE(writeFileAtomically(path, text.data(), text.size()));
  Expected<RunRecord> record = readRunRecord(runDir.string());
  ASSERT_FALSE(record);
  EXPECT_NE(record.status().message().find(path + ": not valid JSON"),
            std::string::npos)
      << record.status().message();
}

} // namespace
} // namespace simclr
