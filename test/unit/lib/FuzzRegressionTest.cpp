//===- FuzzRegressionTest.cpp - Inputs fuzz/ found that crashed lib/ readers -===//
//
// Each test feeds a reader the input (or its essence) that a fuzzer of fuzz/
// found crashing it, and expects the one-line error now reported
// (docs/reliability.md, "Fuzzing").
//
//===----------------------------------------------------------------------===//
#include "simclr/Support/ArtifactPlan.h"
#include "simclr/Support/AugmentationPolicyJson.h"
#include "simclr/Support/FileIO.h"
#include "simclr/Support/Safetensors.h"
#include "simclr/Support/TrainingConfig.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace simclr {
namespace {

/// A fresh directory under $SIMCLR_TEST_TMPDIR (or /tmp) for the test.
std::string scratchDirectory() {
  const char *env = std::getenv("SIMCLR_TEST_TMPDIR");
  std::filesystem::path dir =
      std::filesystem::path(env && *env ? env : "/tmp") /
      ("fuzz-regression-" +
       std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

void expectOneLine(const Status &status, const std::string &part) {
  EXPECT_FALSE(status.isOk());
  EXPECT_NE(status.message().find(part), std::string::npos) << status.message();
  EXPECT_EQ(status.message().find('\n'), std::string::npos) << status.message();
}

// fuzz-safetensors, crash-3396243649961de4f829da266a0147d6450dbeb1: a number
// beyond double's range (1e400) in the header made nlohmann throw
// out_of_range, which only parse_error was caught for: std::terminate.
TEST(FuzzRegressionTest, SafetensorsHeaderNumberOutOfRange) {
  std::vector<uint8_t> input = {
    0x70, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7b, 0x22, 0x77, 0x22, 0x3a, 0x7b, 0x22, 0x64,
    0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61,
    0x70, 0x65, 0x22, 0x3a, 0x5b, 0x32, 0x2c, 0x33, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f,
    0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x31, 0x65, 0x34, 0x30, 0x30, 0x5b, 0x30,
    0x2c, 0x19, 0x32, 0x34, 0x5d, 0x7d, 0x2c, 0x22, 0x62, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79,
    0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x36, 0x34, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65,
    0x22, 0x3a, 0x5b, 0x31, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73,
    0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x32, 0x34, 0x2c, 0x33, 0x32, 0x5d, 0x7d, 0x7d, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70,
    0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70,
    0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70,
    0x70, 0x70, 0x01, 0x7d, 0x70, 0x70, 0x70, 0x70, 0x00, 0x40, 0x00, 0x00, 0x40, 0x40, 0x00, 0x00,
    0x80, 0x40, 0x00, 0x00, 0xa0, 0x40, 0x00, 0x00, 0x00, 0x00, 0x5b, 0x00, 0x00, 0xf8, 0x3f,
  };
  Expected<SafetensorsReader> reader =
      SafetensorsReader::fromBytes(input, "crash.safetensors");
  ASSERT_FALSE(reader);
  expectOneLine(reader.status(), "crash.safetensors: header [8, ");
  expectOneLine(reader.status(), "1e400");
}

// The same class in plan.json (fuzz-plan's reader): refused naming the file.
TEST(FuzzRegressionTest, PlanNumberOutOfRange) {
  std::string path = scratchDirectory() + "/plan.json";
  std::string text = "{\"format\": \"simclrc-artifact\", \"version\": 1e400}";
  ASSERT_TRUE(writeFileAtomically(path, text.data(), text.size()));
  Expected<artifact::Plan> plan = artifact::readPlanFile(path);
  ASSERT_FALSE(plan);
  expectOneLine(plan.status(), path + ": not valid JSON");
}

// The training config and augmentation policy that plan.json carries.
TEST(FuzzRegressionTest, TrainingConfigAndPolicyNumberOutOfRange) {
  Expected<TrainingConfig> config = trainingConfigFromJson("{\"seed\": 1e400}");
  ASSERT_FALSE(config);
  expectOneLine(config.status(), "training config: not valid JSON");
  Expected<AugmentationPolicy> policy = policyFromJson("[{\"p\": -1e400}]");
  ASSERT_FALSE(policy);
  expectOneLine(policy.status(), "augmentation: not valid JSON");
}

} // namespace
} // namespace simclr
