//===- TestArtifact.cpp - Builds artifact directories for executor tests --===//
#include "TestArtifact.h"

#include "TestKernels.h"

#include "simclr/Support/FileIO.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace simclr::test {

using artifact::BufferRegion;

std::string testTmpDir() {
  const char *dir = std::getenv("SIMCLR_TEST_TMPDIR");
  return dir && *dir ? dir : "/tmp";
}

PlanBuilder::PlanBuilder() { plan_.specName = "test.toml"; }

int64_t PlanBuilder::buffer(const std::string &name, DType dtype,
                            std::vector<int64_t> shape, BufferRegion region) {
  artifact::Buffer b;
  b.id = static_cast<int64_t>(plan_.buffers.size());
  b.name = name;
  b.dtype = dtype;
  b.bytes = static_cast<int64_t>(dtypeByteSize(dtype));
  for (int64_t extent : shape)
    b.bytes *= extent;
  b.shape = std::move(shape);
  b.region = region;
  int64_t &cursor = region == BufferRegion::kState   ? plan_.stateBytes
                    : region == BufferRegion::kInput ? plan_.inputBytes
                                                     : arenaBytes_;
  b.offset = cursor;
  cursor += (b.bytes + plan_.alignment - 1) / plan_.alignment * plan_.alignment;
  plan_.buffers.push_back(b);
  return b.id;
}

void PlanBuilder::state(const std::string &name, int64_t buffer,
                        const std::string &initKind, int64_t fanIn,
                        const std::string &kind) {
  plan_.state.push_back({name, kind, buffer, {initKind, fanIn}});
}

artifact::Program &PlanBuilder::program(const std::string &name) {
  plan_.programs.emplace_back();
  plan_.programs.back().name = name;
  return plan_.programs.back();
}

artifact::Plan PlanBuilder::finish() {
  for (artifact::Program &p : plan_.programs) {
    p.arenaBytes = arenaBytes_;
    p.sumOfIntermediates = arenaBytes_;
  }
  return plan_;
}

artifact::ScheduleEntry kernelEntry(const std::string &name,
                                    std::vector<int64_t> operands,
                                    int64_t numInputs) {
  artifact::ScheduleEntry e;
  e.kind = artifact::EntryKind::kKernel;
  e.name = name;
  e.numInputs = numInputs;
  e.numOutputs = static_cast<int64_t>(operands.size()) - numInputs;
  e.operands = std::move(operands);
  return e;
}

artifact::ScheduleEntry externEntry(const std::string &name,
                                    std::vector<int64_t> operands,
                                    artifact::AttrMap attrs) {
  artifact::ScheduleEntry e;
  e.kind = artifact::EntryKind::kExtern;
  e.name = name;
  e.numInputs = 2;
  e.numOutputs = static_cast<int64_t>(operands.size()) - 2;
  e.operands = std::move(operands);
  e.attrs = std::move(attrs);
  return e;
}

std::string writeArtifact(artifact::Plan plan, const std::string &library) {
  Expected<std::string> dir = makeTempDirectory(testTmpDir(), "artifact-");
  EXPECT_TRUE(dir) << dir.status().message();
  if (!dir)
    return "";
  Expected<std::vector<uint8_t>> bytes = readFile(library);
  EXPECT_TRUE(bytes) << bytes.status().message();
  if (!bytes)
    return "";
  EXPECT_TRUE(writeFileAtomically(*dir + "/kernels.so", *bytes).isOk());
  plan.library.file = "kernels.so";
  plan.library.sha256 = artifact::sha256Hex(bytes->data(), bytes->size());
  if (plan.library.fingerprint.empty())
    plan.library.fingerprint = testkernels::kFingerprint;
  plan.library.target = "cpu";
  if (plan.library.architecture.empty())
    plan.library.architecture = "x86-64-v2";
  Status written = artifact::writePlanFile(plan, *dir + "/plan.json");
  EXPECT_TRUE(written.isOk()) << written.message();
  return *dir;
}

std::string readText(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void writeText(const std::string &path, const std::string &text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

} // namespace simclr::test
