//===- CudaLaunchTest.cpp - Launch attributes and operand tables (host only) ===//
#include "Cuda/CudaLaunch.h"

#include "simclr/Support/Vocabulary.h"

#include <gtest/gtest.h>

namespace simclr::runtime::cuda {
namespace {

using artifact::AttrMap;
using artifact::ScheduleEntry;

/// A kernel entry with `launches` well-formed launches (function "f<k>",
/// grid [k+1, 1, 1], block [256, 1, 1], shared 128 k).
ScheduleEntry kernelEntry(int64_t launches) {
  ScheduleEntry entry;
  entry.kind = artifact::EntryKind::kKernel;
  entry.name = "bn_stats_7";
  entry.attrs[launch_attr::kLaunches] = launches;
  for (int64_t k = 0; k < launches; ++k) {
    entry.attrs[launchAttributeName(k, launch_attr::kFunction)] =
        "f" + std::to_string(k);
    entry.attrs[launchAttributeName(k, launch_attr::kGrid)] =
        std::vector<int64_t>{k + 1, 1, 1};
    entry.attrs[launchAttributeName(k, launch_attr::kBlock)] =
        std::vector<int64_t>{256, 1, 1};
    entry.attrs[launchAttributeName(k, launch_attr::kSharedBytes)] = 128 * k;
  }
  return entry;
}

std::string errorOf(const ScheduleEntry &entry) {
  Expected<std::vector<KernelLaunch>> parsed = parseKernelLaunches(entry);
  EXPECT_FALSE(parsed) << "accepted";
  return parsed ? "" : parsed.status().message();
}

TEST(CudaLaunch, ParsesEveryLaunchInOrder) {
  Expected<std::vector<KernelLaunch>> parsed =
      parseKernelLaunches(kernelEntry(3));
  ASSERT_TRUE(parsed) << parsed.status().message();
  ASSERT_EQ(parsed->size(), 3u);
  for (unsigned k = 0; k < 3; ++k) {
    const KernelLaunch &launch = (*parsed)[k];
    EXPECT_EQ(launch.function, "f" + std::to_string(k));
    EXPECT_EQ(launch.grid, (std::array<unsigned, 3>{k + 1, 1, 1}));
    EXPECT_EQ(launch.block, (std::array<unsigned, 3>{256, 1, 1}));
    EXPECT_EQ(launch.sharedBytes, 128 * k);
  }
}

TEST(CudaLaunch, RefusesMalformedAttributes) {
  ScheduleEntry noFunction = kernelEntry(2);
  noFunction.attrs.erase("launch.1.function");
  EXPECT_EQ(errorOf(noFunction),
            "attribute 'launch.1.function' is missing (launches = 2)");

  ScheduleEntry twoNumbers = kernelEntry(1);
  twoNumbers.attrs["launch.0.grid"] = std::vector<int64_t>{4, 1};
  EXPECT_EQ(errorOf(twoNumbers), "attribute 'launch.0.grid' must be three "
                                 "integers [x, y, z], got 2 numbers");

  ScheduleEntry tooManyThreads = kernelEntry(1);
  tooManyThreads.attrs["launch.0.block"] = std::vector<int64_t>{64, 32, 1};
  EXPECT_EQ(errorOf(tooManyThreads),
            "attribute 'launch.0.block': 2048 threads per block, more than "
            "CUDA's 1024");

  ScheduleEntry zeroGrid = kernelEntry(1);
  zeroGrid.attrs["launch.0.grid"] = std::vector<int64_t>{0, 1, 1};
  EXPECT_EQ(errorOf(zeroGrid),
            "attribute 'launch.0.grid': x = 0 is outside [1, 2147483647]");

  ScheduleEntry bigZ = kernelEntry(1);
  bigZ.attrs["launch.0.block"] = std::vector<int64_t>{1, 1, 65};
  EXPECT_EQ(errorOf(bigZ),
            "attribute 'launch.0.block': z = 65 is outside [1, 64]");

  ScheduleEntry noCount = kernelEntry(1);
  noCount.attrs.erase("launches");
  EXPECT_NE(errorOf(noCount).find("'launches' is missing"), std::string::npos);

  ScheduleEntry zeroCount = kernelEntry(1);
  zeroCount.attrs["launches"] = int64_t{0};
  EXPECT_EQ(errorOf(zeroCount),
            "attribute 'launches' must be a positive integer");

  ScheduleEntry nameNotString = kernelEntry(1);
  nameNotString.attrs["launch.0.function"] = int64_t{3};
  EXPECT_EQ(errorOf(nameNotString),
            "attribute 'launch.0.function' must be a non-empty symbol name");

  ScheduleEntry negativeShared = kernelEntry(1);
  negativeShared.attrs["launch.0.shared_bytes"] = int64_t{-1};
  EXPECT_NE(errorOf(negativeShared).find("'launch.0.shared_bytes' must be"),
            std::string::npos);

  ScheduleEntry noShared = kernelEntry(1);
  noShared.attrs.erase("launch.0.shared_bytes");
  EXPECT_EQ(errorOf(noShared),
            "attribute 'launch.0.shared_bytes' is missing (launches = 1)");
}

TEST(CudaLaunch, PlanErrorsNameTheFileProgramAndEntry) {
  artifact::Plan plan;
  artifact::Program program;
  program.name = "train_step";
  ScheduleEntry good = kernelEntry(1);
  ScheduleEntry externEntry;
  externEntry.kind = artifact::EntryKind::kExtern;
  externEntry.name = "conv2d";
  ScheduleEntry bad = kernelEntry(2);
  bad.name = "ntxent_3";
  bad.attrs.erase("launch.1.function");
  program.schedule = {good, externEntry, bad};
  plan.programs.push_back(program);

  Expected<std::map<const ScheduleEntry *, std::vector<KernelLaunch>>> parsed =
      parsePlanLaunches("art/plan.json", plan);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.status().message(),
            "art/plan.json: program 'train_step': schedule[2] (kernel "
            "'ntxent_3'): attribute 'launch.1.function' is missing "
            "(launches = 2)");

  plan.programs[0].schedule.pop_back();
  parsed = parsePlanLaunches("art/plan.json", plan);
  ASSERT_TRUE(parsed) << parsed.status().message();
  // Kernel entries only, keyed by the plan's own entries.
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ(parsed->begin()->first, &plan.programs[0].schedule[0]);
}

TEST(CudaLaunch, OperandTablesLieBackToBackInOperandOrder) {
  OperandTables tables;
  int a = 0, b = 0, c = 0;
  Expected<size_t> first = tables.add({&a, &b, &c});
  Expected<size_t> second = tables.add({&c});
  Expected<size_t> third = tables.add({&b, &a});
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(*first, 0u);
  EXPECT_EQ(*second, 3 * sizeof(uint64_t));
  EXPECT_EQ(*third, 4 * sizeof(uint64_t));
  EXPECT_EQ(tables.bytes(), 6 * sizeof(uint64_t));
  auto address = [](const void *p) { return reinterpret_cast<uint64_t>(p); };
  EXPECT_EQ(tables.image(),
            (std::vector<uint64_t>{address(&a), address(&b), address(&c),
                                   address(&c), address(&b), address(&a)}));

  Expected<size_t> null = tables.add({&a, nullptr});
  ASSERT_FALSE(null);
  EXPECT_EQ(null.status().message(), "operand 1 has no device address");
  // A refused table leaves the image as it was.
  EXPECT_EQ(tables.bytes(), 6 * sizeof(uint64_t));
}

} // namespace
} // namespace simclr::runtime::cuda
