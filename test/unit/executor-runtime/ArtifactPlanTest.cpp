//===- RuntimeExecutorPlanTest.cpp - plan.json round trip and every load error ---===//
#include "TestArtifact.h"
#include "TestKernels.h"

#include "simclr/Runtime/Executor.h"
#include "simclr/Support/ArtifactPlan.h"
#include "simclr/Support/CpuIsa.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace simclr {
namespace {

using artifact::BufferRegion;
using artifact::Plan;
using runtime::Artifact;
using test::PlanBuilder;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Json = nlohmann::json;

/// A plan with every kind of field: state with init, inputs, arena, three
/// entry kinds and attributes of all four value types.
Plan richPlan() {
  PlanBuilder b;
  int64_t w = b.buffer("conv.weight", DType::kF32, {4, 3, 3, 3}, BufferRegion::kState);
  int64_t bias = b.buffer("fc.bias", DType::kF32, {5}, BufferRegion::kState);
  int64_t x = b.buffer("%x", DType::kF32, {2, 3, 8, 8}, BufferRegion::kInput);
  int64_t step = b.buffer("%step", DType::kI64, {}, BufferRegion::kInput);
  int64_t y = b.buffer("%y", DType::kF32, {2, 4, 8, 8}, BufferRegion::kArena);
  int64_t r = b.buffer("%r", DType::kF32, {2, 256}, BufferRegion::kArena);
  int64_t s = b.buffer("%s", DType::kF32, {2, 256}, BufferRegion::kArena);
  b.state("conv.weight", w, "kaiming_normal_fan_out");
  b.state("fc.bias", bias, "uniform_fan_in", 256);
  artifact::Program &p = b.program("train_step");
  p.inputs = {{"views", x}, {"step", step}};
  p.outputs = {{"features", s}};
  p.schedule.push_back(test::externEntry(
      "conv2d", {x, w, y},
      {{"stride", std::vector<int64_t>{1, 1}},
       {"padding", std::vector<int64_t>{1, 1}},
       {"dilation", std::vector<int64_t>{1, 1}},
       {"groups", int64_t{1}},
       {"epsilon", 1e-5},
       {"note", std::string("plain \"nchw\"")},
       {"empty", std::vector<int64_t>{}}}));
  p.schedule.push_back(test::kernelEntry("simclr_test_relu", {y, r}, 1));
  artifact::ScheduleEntry collective;
  collective.kind = artifact::EntryKind::kCollective;
  collective.name = "all_reduce_sum";
  collective.operands = {r, s};
  collective.numInputs = 1;
  collective.numOutputs = 1;
  collective.attrs = {{"group", std::string("replicas")}};
  p.schedule.push_back(collective);
  Plan plan = b.finish();
  plan.specSha256 = std::string(64, 'a');
  plan.trainingJson = R"({"batch_size": 2, "steps": 10})";
  return plan;
}

/// Reads plan.json, lets `edit` change the parsed file, rewrites it (with
/// the body checksum recomputed when `reseal`).
void editPlan(const std::string &path, const std::function<void(Json &)> &edit,
              bool reseal) {
  Json file = Json::parse(test::readText(path));
  edit(file);
  if (reseal) {
    std::string body = file["body"].dump();
    file["sha256"] = artifact::sha256Hex(body.data(), body.size());
  }
  test::writeText(path, file.dump(1));
}

std::string loadError(const std::string &dir) {
  Expected<std::shared_ptr<const Artifact>> a = Artifact::load(dir);
  EXPECT_FALSE(a) << "loading " << dir << " succeeded";
  if (a)
    return "";
  std::string message = a.status().message();
  EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
  return message;
}

TEST(RuntimeExecutorPlanTest, RoundTripsEveryField) {
  Plan plan = richPlan();
  std::string dir = test::writeArtifact(plan);
  Expected<Plan> read = artifact::readPlanFile(dir + "/plan.json");
  ASSERT_TRUE(read) << read.status().message();
  plan.library = read->library; // Filled in by writeArtifact.
  EXPECT_EQ(read->specName, plan.specName);
  EXPECT_EQ(read->specSha256, plan.specSha256);
  EXPECT_EQ(read->trainingJson, plan.trainingJson);
  EXPECT_EQ(read->stateBytes, plan.stateBytes);
  EXPECT_EQ(read->inputBytes, plan.inputBytes);
  EXPECT_EQ(read->alignment, plan.alignment);
  ASSERT_EQ(read->buffers.size(), plan.buffers.size());
  for (size_t i = 0; i < plan.buffers.size(); ++i) {
    const artifact::Buffer &a = read->buffers[i], &e = plan.buffers[i];
    EXPECT_EQ(a.id, e.id);
    EXPECT_EQ(a.name, e.name);
    EXPECT_EQ(a.dtype, e.dtype);
    EXPECT_EQ(a.shape, e.shape);
    EXPECT_EQ(a.region, e.region);
    EXPECT_EQ(a.offset, e.offset);
    EXPECT_EQ(a.bytes, e.bytes);
  }
  ASSERT_EQ(read->state.size(), plan.state.size());
  for (size_t i = 0; i < plan.state.size(); ++i) {
    EXPECT_EQ(read->state[i].name, plan.state[i].name);
    EXPECT_EQ(read->state[i].kind, plan.state[i].kind);
    EXPECT_EQ(read->state[i].buffer, plan.state[i].buffer);
    EXPECT_EQ(read->state[i].init.kind, plan.state[i].init.kind);
    EXPECT_EQ(read->state[i].init.fanIn, plan.state[i].init.fanIn);
  }
  ASSERT_EQ(read->programs.size(), 1u);
  const artifact::Program &a = read->programs[0], &e = plan.programs[0];
  EXPECT_EQ(a.name, e.name);
  EXPECT_EQ(a.arenaBytes, e.arenaBytes);
  EXPECT_EQ(a.sumOfIntermediates, e.sumOfIntermediates);
  ASSERT_EQ(a.inputs.size(), e.inputs.size());
  EXPECT_EQ(a.inputs[1].role, "step");
  EXPECT_EQ(a.inputs[1].buffer, e.inputs[1].buffer);
  ASSERT_EQ(a.outputs.size(), 1u);
  EXPECT_EQ(a.outputs[0].role, "features");
  ASSERT_EQ(a.schedule.size(), e.schedule.size());
  for (size_t i = 0; i < e.schedule.size(); ++i) {
    EXPECT_EQ(a.schedule[i].kind, e.schedule[i].kind);
    EXPECT_EQ(a.schedule[i].name, e.schedule[i].name);
    EXPECT_EQ(a.schedule[i].operands, e.schedule[i].operands);
    EXPECT_EQ(a.schedule[i].numInputs, e.schedule[i].numInputs);
    EXPECT_EQ(a.schedule[i].numOutputs, e.schedule[i].numOutputs);
    EXPECT_EQ(a.schedule[i].attrs, e.schedule[i].attrs) << "entry " << i;
  }
  EXPECT_EQ(artifact::planIdentity(*read), artifact::planIdentity(plan));
  // The identity is the state layout (issue 12): another library or
  // architecture keeps it; another width of a state tensor, or another
  // state tensor, changes it.
  Plan otherCode = plan;
  otherCode.library.sha256 = std::string(64, '0');
  otherCode.library.architecture = "x86-64-v2";
  otherCode.programs[0].schedule.pop_back();
  EXPECT_EQ(artifact::planIdentity(otherCode), artifact::planIdentity(plan));
  ASSERT_FALSE(plan.state.empty());
  Plan wider = plan;
  for (artifact::Buffer &b : wider.buffers)
    if (b.id == wider.state[0].buffer)
      b.shape.back() += 1;
  EXPECT_NE(artifact::planIdentity(wider), artifact::planIdentity(plan));
  Plan renamed = plan;
  renamed.state[0].name += "_other";
  EXPECT_NE(artifact::planIdentity(renamed), artifact::planIdentity(plan));
}

TEST(RuntimeExecutorPlanTest, LoadsAndResolvesKernels) {
  std::string dir = test::writeArtifact(richPlan());
  Expected<std::shared_ptr<const Artifact>> a = Artifact::load(dir);
  ASSERT_TRUE(a) << a.status().message();
  EXPECT_EQ((*a)->identity(), artifact::planIdentity((*a)->plan()));
  EXPECT_EQ((*a)->directory(), dir);
}

TEST(RuntimeExecutorPlanTest, RefusesAnotherFormatVersion) {
  std::string dir = test::writeArtifact(richPlan());
  // The version before layouts and architectures.
  editPlan(dir + "/plan.json", [](Json &f) { f["version"] = 1; }, false);
  EXPECT_EQ(loadError(dir),
            dir + "/plan.json: artifact format version 1, this runtime reads "
                  "version " + std::to_string(artifact::kPlanFormatVersion) +
                  "; recompile the spec with this simclrc");
}

TEST(RuntimeExecutorPlanTest, RefusesAModifiedBody) {
  std::string dir = test::writeArtifact(richPlan());
  std::string recorded;
  editPlan(dir + "/plan.json",
           [&](Json &f) {
             recorded = f["sha256"];
             f["body"]["buffers"][0]["name"] = "renamed";
           },
           false);
  std::string body = Json::parse(test::readText(dir + "/plan.json"))["body"].dump();
  EXPECT_EQ(loadError(dir), dir + "/plan.json: body checksum " +
                                artifact::sha256Hex(body.data(), body.size()) +
                                " does not match the recorded " + recorded +
                                "; the file is corrupt or was modified");
}

TEST(RuntimeExecutorPlanTest, RefusesTruncatedAndGarbageJson) {
  std::string dir = test::writeArtifact(richPlan());
  std::string path = dir + "/plan.json";
  std::string text = test::readText(path);
  // Cut after a whole line, as a write that stopped between two flushes.
  size_t cut = text.rfind('\n', text.size() / 2) + 1;
  test::writeText(path, text.substr(0, cut));
  std::string truncated = loadError(dir);
  EXPECT_THAT(truncated, StartsWith(path + ": byte " + std::to_string(cut + 1) +
                                    ": not valid JSON ("));
  EXPECT_THAT(truncated, HasSubstr("unexpected end of input"));
  EXPECT_THAT(truncated, HasSubstr("; the file is truncated or corrupt"));

  test::writeText(path, "\x7f" "ELF garbage");
  EXPECT_THAT(loadError(dir), StartsWith(path + ": byte 1: not valid JSON ("));

  test::writeText(path, "");
  EXPECT_THAT(loadError(dir), StartsWith(path + ": byte 1: not valid JSON ("));

  test::writeText(path, "[1, 2]");
  EXPECT_EQ(loadError(dir), path + ": root: expected an object");
}

TEST(RuntimeExecutorPlanTest, NamesTheFieldOfATypeError) {
  std::string dir = test::writeArtifact(richPlan());
  std::string path = dir + "/plan.json";
  editPlan(path, [](Json &f) { f["body"]["buffers"][3]["shape"] = "2x3"; }, true);
  EXPECT_EQ(loadError(dir),
            path + ": body.buffers[3].shape: expected an array of integers");

  dir = test::writeArtifact(richPlan());
  path = dir + "/plan.json";
  editPlan(path, [](Json &f) { f["body"]["programs"][0]["schedule"][1].erase("name"); },
           true);
  EXPECT_EQ(loadError(dir), path + ": body.programs[0].schedule[1].name: missing");

  dir = test::writeArtifact(richPlan());
  path = dir + "/plan.json";
  editPlan(path, [](Json &f) { f["body"]["buffers"][0]["dtype"] = "f128"; }, true);
  EXPECT_EQ(loadError(dir), path + ": body.buffers[0].dtype: unknown dtype 'f128'");
}

TEST(RuntimeExecutorPlanTest, RefusesAModifiedLibrary) {
  std::string dir = test::writeArtifact(richPlan());
  std::string library = dir + "/kernels.so";
  std::string bytes = test::readText(library) + "x";
  test::writeText(library, bytes);
  Expected<Plan> plan = artifact::readPlanFile(dir + "/plan.json");
  ASSERT_TRUE(plan);
  EXPECT_EQ(loadError(dir), library + ": checksum " +
                                artifact::sha256Hex(bytes.data(), bytes.size()) +
                                " does not match plan.json (" +
                                plan->library.sha256 +
                                "); the artifact is corrupt or was modified");
}

TEST(RuntimeExecutorPlanTest, RefusesAnotherFingerprint) {
  Plan plan = richPlan();
  plan.library.fingerprint = "stale-fingerprint";
  std::string dir = test::writeArtifact(plan);
  EXPECT_EQ(loadError(dir), dir + "/kernels.so: fingerprint " +
                                testkernels::kFingerprint +
                                " does not match plan.json (stale-fingerprint); "
                                "the library was built from other generated code");
}

TEST(RuntimeExecutorPlanTest, RefusesAnotherKernelAbiVersion) {
  std::string dir =
      test::writeArtifact(richPlan(), SIMCLR_TEST_KERNELS_OTHER_ABI);
  EXPECT_EQ(loadError(dir), dir + "/kernels.so: kernel ABI version 999, this "
                                  "runtime reads version " +
                                  std::to_string(artifact::kPlanFormatVersion) +
                                  "; recompile the spec with this simclrc");
}

TEST(RuntimeExecutorPlanTest, RefusesAMissingKernelSymbol) {
  Plan plan = richPlan();
  plan.programs[0].schedule[1].name = "simclr_test_gelu";
  std::string dir = test::writeArtifact(plan);
  EXPECT_EQ(loadError(dir), dir + "/kernels.so: missing kernel symbol "
                                  "'simclr_test_gelu' (program 'train_step')");
}

TEST(RuntimeExecutorPlanTest, RefusesALibraryThatDoesNotLoad) {
  std::string dir = test::writeArtifact(richPlan());
  test::writeText(dir + "/kernels.so", "not an ELF file");
  std::string bytes = test::readText(dir + "/kernels.so");
  editPlan(dir + "/plan.json",
           [&](Json &f) {
             f["body"]["library"]["sha256"] =
                 artifact::sha256Hex(bytes.data(), bytes.size());
           },
           true);
  EXPECT_THAT(loadError(dir),
              StartsWith(dir + "/kernels.so: cannot load the kernel library: "));
}

TEST(RuntimeExecutorPlanTest, RefusesAnOperandNamingAnUnknownBuffer) {
  Plan plan = richPlan();
  plan.programs[0].schedule[1].operands[1] = 99;
  EXPECT_EQ(artifact::verifyPlan(plan).message(),
            "program 'train_step': schedule[1] (kernel 'simclr_test_relu'): "
            "operand 1 names unknown buffer 99");
  // writePlanFile refuses it; a hand-edited file is refused on reading.
  EXPECT_EQ(artifact::writePlanFile(plan, test::testTmpDir() + "/never.json").message(),
            test::testTmpDir() + "/never.json: program 'train_step': schedule[1] "
                                 "(kernel 'simclr_test_relu'): operand 1 names "
                                 "unknown buffer 99");
  std::string dir = test::writeArtifact(richPlan());
  editPlan(dir + "/plan.json",
           [](Json &f) { f["body"]["programs"][0]["schedule"][1]["operands"][1] = 99; },
           true);
  EXPECT_EQ(loadError(dir), dir + "/plan.json: program 'train_step': schedule[1] "
                                  "(kernel 'simclr_test_relu'): operand 1 names "
                                  "unknown buffer 99");
}

TEST(RuntimeExecutorPlanTest, RefusesOverlappingStateBuffers) {
  Plan plan = richPlan();
  // fc.bias (buffer 1) moved into conv.weight's bytes [0, 432).
  plan.buffers[1].offset = 384;
  EXPECT_EQ(artifact::verifyPlan(plan).message(),
            "state buffers 0 ('conv.weight', bytes [0, 432)) and 1 ('fc.bias', "
            "bytes [384, 404)) overlap");
  std::string dir = test::writeArtifact(richPlan());
  editPlan(dir + "/plan.json",
           [](Json &f) { f["body"]["buffers"][1]["offset"] = 384; }, true);
  EXPECT_THAT(loadError(dir),
              StartsWith(dir + "/plan.json: state buffers 0 ('conv.weight'"));
}

TEST(RuntimeExecutorPlanTest, VerifyNamesOtherInconsistencies) {
  Plan plan = richPlan();
  plan.buffers[2].bytes = 4;
  EXPECT_EQ(artifact::verifyPlan(plan).message(),
            "buffer 2 ('%x'): 4 bytes, but its shape and dtype f32 need 1536");
  plan = richPlan();
  plan.buffers[3].id = 2;
  EXPECT_EQ(artifact::verifyPlan(plan).message(), "two buffers with id 2");
  plan = richPlan();
  plan.buffers[0].offset = 8;
  EXPECT_EQ(artifact::verifyPlan(plan).message(),
            "buffer 0 ('conv.weight'): offset 8 is not a multiple of 64");
  plan = richPlan();
  plan.stateBytes = 448;
  EXPECT_EQ(artifact::verifyPlan(plan).message(),
            "buffer 1 ('fc.bias'): bytes [448, 468) exceed the state region "
            "(448 bytes)");
  plan = richPlan();
  plan.state[0].init.kind = "xavier";
  EXPECT_THAT(artifact::verifyPlan(plan).message(),
              StartsWith("state tensor 'conv.weight': "));
  plan = richPlan();
  plan.programs[0].inputs[0].buffer = 4; // An arena buffer.
  EXPECT_EQ(artifact::verifyPlan(plan).message(),
            "program 'train_step': input 'views': buffer 4 ('%y') is not in the "
            "input region");
}

TEST(RuntimeExecutorPlanTest, VerifyChecksTargetArchitectureAndLayouts) {
  auto withLibrary = [](const std::string &target,
                        const std::string &architecture) {
    Plan plan = richPlan();
    plan.library = {"kernels.so", std::string(64, 'b'), "f", target,
                    architecture};
    return plan;
  };
  EXPECT_TRUE(artifact::verifyPlan(withLibrary("cpu", "x86-64-v3")));
  EXPECT_EQ(artifact::verifyPlan(withLibrary("tpu", "v5e")).message(),
            "library target 'tpu' is not one of cpu, cuda");
  EXPECT_EQ(artifact::verifyPlan(withLibrary("cpu", "native")).message(),
            "library architecture 'native' is not an architecture of target "
            "'cpu' (x86-64-v2, x86-64-v3 or x86-64-v4)");
  Plan plan = withLibrary("cpu", "x86-64-v3");
  plan.buffers[2].layout = Layout::kNChw16c; // '%x' is 2 x 3 x 8 x 8.
  EXPECT_EQ(artifact::verifyPlan(plan).message(),
            "buffer 2 ('%x'): layout nChw16c needs a 4-D N x C x H x W buffer "
            "with a multiple of 16 channels");
}

TEST(RuntimeExecutorPlanTest, RefusesALibraryForAnInstructionSetThisCpuLacks) {
  if (hostSupportsCpuIsaLevel(CpuIsaLevel::kX86_64_v4))
    GTEST_SKIP() << "this CPU runs every x86-64 level: nothing to refuse";
  Plan plan = richPlan();
  plan.library.architecture = "x86-64-v4";
  std::string dir = test::writeArtifact(plan);
  EXPECT_THAT(loadError(dir),
              StartsWith(dir + "/plan.json: the kernel library was built for "
                               "x86-64-v4 (AVX-512 (F, BW, CD, DQ, VL)), "
                               "which this CPU ("));
  EXPECT_THAT(loadError(dir),
              testing::HasSubstr("recompile the spec here, or with simclrc "
                                 "--arch=x86-64-v"));
}

} // namespace
} // namespace simclr
