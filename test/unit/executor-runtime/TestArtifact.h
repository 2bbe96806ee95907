//===- TestArtifact.h - Builds artifact directories for executor tests -*- C++ -*-===//
#ifndef SIMCLR_TEST_EXECUTOR_RUNTIME_TESTARTIFACT_H
#define SIMCLR_TEST_EXECUTOR_RUNTIME_TESTARTIFACT_H

#include "simclr/Support/ArtifactPlan.h"

#include <string>
#include <vector>

namespace simclr::test {

/// $SIMCLR_TEST_TMPDIR (set by ctest), else /tmp.
std::string testTmpDir();

/// Builds a Plan whose buffers are laid out one after another in their
/// regions (arena buffers never share bytes), aligned as the plan says.
class PlanBuilder {
public:
  PlanBuilder();
  /// Adds a buffer and returns its id.
  int64_t buffer(const std::string &name, DType dtype,
                 std::vector<int64_t> shape, artifact::BufferRegion region);
  /// Adds a state tensor for a kState buffer.
  void state(const std::string &name, int64_t buffer,
             const std::string &initKind, int64_t fanIn = 0,
             const std::string &kind = "parameter");
  /// Adds a program; its arena is sized by finish().
  artifact::Program &program(const std::string &name);
  /// Returns the plan with every program's arena covering all arena buffers.
  artifact::Plan finish();

private:
  artifact::Plan plan_;
  int64_t arenaBytes_ = 0;
};

artifact::ScheduleEntry kernelEntry(const std::string &name,
                                    std::vector<int64_t> operands,
                                    int64_t numInputs);
artifact::ScheduleEntry externEntry(const std::string &name,
                                    std::vector<int64_t> operands,
                                    artifact::AttrMap attrs = {});

/// Writes a fresh directory under testTmpDir() holding a copy of `library`
/// as kernels.so and `plan` as plan.json, with plan.library filled in (file,
/// the copy's SHA-256, target "cpu"; the test kernels' fingerprint unless
/// the plan already names one). Fails the calling test on any error.
std::string writeArtifact(artifact::Plan plan,
                          const std::string &library = SIMCLR_TEST_KERNELS);

std::string readText(const std::string &path);
void writeText(const std::string &path, const std::string &text);

} // namespace simclr::test

#endif // SIMCLR_TEST_EXECUTOR_RUNTIME_TESTARTIFACT_H
