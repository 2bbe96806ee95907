//===- MemoryLimitTest.cpp - --max-memory and the up-front memory check ---===//
#include "simclr/Runtime/MemoryLimit.h"

#include <gtest/gtest.h>

#include <limits>

namespace simclr::runtime {
namespace {

TEST(MemoryLimit, ParsesAutoNoneAndSizes) {
  EXPECT_EQ(parseMemoryLimit("auto")->kind, MemoryLimit::Kind::kAuto);
  EXPECT_EQ(parseMemoryLimit("none")->kind, MemoryLimit::Kind::kNone);
  EXPECT_EQ(parseMemoryLimit("1000")->bytes, 1000);
  EXPECT_EQ(parseMemoryLimit("3K")->bytes, 3 * 1024);
  EXPECT_EQ(parseMemoryLimit("2g")->bytes, int64_t{2} << 30);
  EXPECT_EQ(parseMemoryLimit("1T")->bytes, int64_t{1} << 40);
  for (const char *bad : {"", "G", "-5", "0", "12Q", "1.5G", "9999999999T"}) {
    Expected<MemoryLimit> limit = parseMemoryLimit(bad);
    ASSERT_FALSE(limit) << bad;
    EXPECT_EQ(limit.status().message(),
              std::string("--max-memory '") + bad +
                  "': expected auto, none, or a positive number of bytes with an "
                  "optional K, M, G or T suffix that fits in 64 bits");
  }
}

TEST(MemoryLimit, ReadsMemAvailable) {
  EXPECT_EQ(memAvailableFromMeminfo("MemTotal:       16000 kB\n"
                                    "MemFree:         1000 kB\n"
                                    "MemAvailable:    8000 kB\n"),
            8000 * 1024);
  EXPECT_FALSE(memAvailableFromMeminfo("MemTotal: 16000 kB\n"));
  EXPECT_FALSE(memAvailableFromMeminfo("MemAvailable: lots\n"));
  // This machine's figure exists and is positive (Linux >= 3.14).
  std::optional<AvailableMemory> here = availableMemory();
  ASSERT_TRUE(here);
  EXPECT_GT(here->bytes, 0);
}

TEST(MemoryLimit, RefusesAPlanLargerThanTheLimitNamingTheSizes) {
  PlanMemory needed{/*state=*/1000, /*inputs=*/200, /*arena=*/3000, /*dataset=*/800};
  EXPECT_TRUE(checkMemory("art", needed, MemoryLimit{MemoryLimit::Kind::kBytes, 5000}));
  Status refused = checkMemory("art", needed, MemoryLimit{MemoryLimit::Kind::kBytes, 4999});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable);
  EXPECT_EQ(refused.message(),
            "art: the run needs 5000 bytes (0.00 GiB: state 1000 + inputs 200 + arena "
            "3000 + dataset 800) but 4999 bytes (0.00 GiB) are available "
            "(--max-memory); pass --max-memory none to run anyway, or --max-memory BYTES");
  EXPECT_TRUE(checkMemory("art", needed, MemoryLimit{MemoryLimit::Kind::kNone, 0}));
  // A plan of absurd size (a corrupt or hostile plan.json) is refused under
  // auto, and its sum does not wrap around.
  PlanMemory huge{std::numeric_limits<int64_t>::max(), 1, 0, 0};
  EXPECT_FALSE(huge.total());
  Status hugeStatus = checkMemory("art", huge, MemoryLimit{});
  ASSERT_FALSE(hugeStatus);
  EXPECT_NE(hugeStatus.message().find("more than 2^63 bytes"), std::string::npos);
}

} // namespace
} // namespace simclr::runtime
