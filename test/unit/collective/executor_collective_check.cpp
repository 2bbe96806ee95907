//===- executor_collective_check.cpp - Collective entries in the Executor -===//
//
// Builds a train_step of collective entries around the executor tests'
// kernels and runs it alone (no communicator, and the single engine) or
// as one rank of `mpirun -np K` (the MPI engine):
//   a = scale2(x_r)                x_r = (r + 1) * (i - 256) / 8 per rank r
//   all_reduce_sum(a)              asynchronous, in place
//   b = relu(a)                    completes the all_reduce_sum first
//   g = all_gather(b, blocks = 2)  gathered region: K copies
//   c = local_slice(g, blocks = 2) must equal b
// and checks b, g's layout, c and the "replicas" input (K). Exit 0 when
// all hold, 1 with a line per failure.
//
//===----------------------------------------------------------------------===//
#include "../executor-runtime/TestArtifact.h"
#include "../executor-runtime/TestKernels.h"

#include "simclr/Runtime/Communicator.h"
#include "simclr/Runtime/Executor.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace simclr;
using namespace simclr::runtime;
using artifact::BufferRegion;
using testkernels::kElementwiseCount;

namespace {

int failures = 0;
void expect(bool ok, int rank, const std::string &what) {
  if (!ok) {
    std::fprintf(stderr, "rank %d: FAILED: %s\n", rank, what.c_str());
    ++failures;
  }
}

float input(int rank, int64_t i) {
  return static_cast<float>(rank + 1) * static_cast<float>(i - 256) / 8;
}

struct Ids {
  int64_t x, replicas, a, b, g, c;
};

artifact::Plan collectivePlan(Ids &ids) {
  test::PlanBuilder b;
  ids.x = b.buffer("%x", DType::kF32, {kElementwiseCount}, BufferRegion::kInput);
  ids.replicas = b.buffer("%replicas", DType::kI64, {}, BufferRegion::kInput);
  ids.a = b.buffer("%a", DType::kF32, {kElementwiseCount}, BufferRegion::kArena);
  ids.b = b.buffer("%b", DType::kF32, {kElementwiseCount}, BufferRegion::kArena);
  ids.g = b.buffer("%g", DType::kF32, {kElementwiseCount}, BufferRegion::kGathered);
  ids.c = b.buffer("%c", DType::kF32, {kElementwiseCount}, BufferRegion::kArena);
  artifact::Program &train = b.program("train_step");
  train.inputs = {{"x", ids.x}, {binding_role::kReplicas, ids.replicas}};
  train.schedule.push_back(test::kernelEntry("simclr_test_scale2", {ids.x, ids.a}, 1));
  auto collective = [](const char *name, int64_t in, int64_t out,
                       int64_t blocks) {
    artifact::ScheduleEntry e;
    e.kind = artifact::EntryKind::kCollective;
    e.name = name;
    e.operands = {in, out};
    e.numInputs = 1;
    e.numOutputs = 1;
    e.attrs[collective_attr::kGroup] = std::string(kReplicaGroup);
    if (blocks)
      e.attrs[collective_attr::kBlocks] = blocks;
    return e;
  };
  train.schedule.push_back(collective("all_reduce_sum", ids.a, ids.a, 0));
  train.schedule.push_back(test::kernelEntry("simclr_test_relu", {ids.a, ids.b}, 1));
  train.schedule.push_back(collective("all_gather", ids.b, ids.g, 2));
  train.schedule.push_back(collective("local_slice", ids.g, ids.c, 2));
  artifact::Plan plan = b.finish();
  // The builder lays the gathered buffer out in the arena's cursor; it is
  // alone in its region.
  for (artifact::Buffer &buffer : plan.buffers)
    if (buffer.region == BufferRegion::kGathered) {
      buffer.offset = 0;
      plan.gatheredBytes = buffer.bytes;
    }
  return plan;
}

} // namespace

int main(int argc, char **argv) {
  std::string mode = argc > 1 ? argv[1] : "none";
  std::unique_ptr<Communicator> communicator;
  if (mode != "none") {
    CommunicatorOptions options;
    options.engine = mode == "mpi" ? CommunicatorEngine::kMpi
                                   : CommunicatorEngine::kSingle;
    options.timeoutSeconds = 60;
    Expected<std::unique_ptr<Communicator>> created = createCommunicator(options);
    if (!created) {
      std::fprintf(stderr, "%s\n", created.status().toString().c_str());
      return 1;
    }
    communicator = std::move(*created);
  }
  int rank = communicator ? communicator->rank() : 0;
  int size = communicator ? communicator->size() : 1;

  Ids ids;
  std::string dir = test::writeArtifact(collectivePlan(ids)) ;
  // Each rank writes its own directory (writeArtifact makes a fresh one).
  Expected<std::shared_ptr<const Artifact>> artifact = Artifact::load(dir);
  if (!artifact) {
    std::fprintf(stderr, "%s\n", artifact.status().toString().c_str());
    return 1;
  }
  ExecutorOptions options;
  options.threads = 1;
  options.communicator = communicator.get();
  Expected<std::unique_ptr<Executor>> executor =
      Executor::create(*artifact, options);
  if (!executor) {
    std::fprintf(stderr, "%s\n", executor.status().toString().c_str());
    return 1;
  }
  std::vector<float> x(kElementwiseCount);
  for (int64_t i = 0; i < kElementwiseCount; ++i)
    x[i] = input(rank, i);
  for (int run = 0; run < 2; ++run) {
    Status status = (*executor)->run("train_step", {{"x", x.data()}});
    expect(status.isOk(), rank, "run: " + status.toString());
    auto *b = static_cast<const float *>((*executor)->bufferData(ids.b));
    auto *g = static_cast<const float *>((*executor)->bufferData(ids.g));
    auto *c = static_cast<const float *>((*executor)->bufferData(ids.c));
    auto *replicas =
        static_cast<const int64_t *>((*executor)->bufferData(ids.replicas));
    expect(*replicas == size, rank, "the replicas input holds " +
                                        std::to_string(*replicas));
    int bad = 0;
    for (int64_t i = 0; i < kElementwiseCount; ++i) {
      float sum = 0;
      for (int r = 0; r < size; ++r)
        sum += 2.0f * input(r, i);
      bad += b[i] != std::max(sum, 0.0f);
    }
    expect(bad == 0, rank, std::to_string(bad) + " elements of relu(all_reduce_sum) wrong");
    // g: block 0 (256 elements) of every replica, then block 1; every
    // replica's b is the same after the all_reduce_sum.
    int64_t half = kElementwiseCount / 2;
    bad = 0;
    for (int64_t blk = 0; blk < 2; ++blk)
      for (int r = 0; r < size; ++r)
        bad += std::memcmp(g + (blk * size + r) * half, b + blk * half,
                           half * sizeof(float)) != 0;
    expect(bad == 0, rank, "the gathered layout");
    expect(std::memcmp(c, b, kElementwiseCount * sizeof(float)) == 0, rank,
           "local_slice inverts all_gather");
  }
  if (communicator) {
    const CommOpStats &reduce = communicator->stats()[CommOp::kAllReduceSum];
    expect(reduce.calls == 2 && reduce.bytes == 2 * 4 * kElementwiseCount,
           rank, "all_reduce_sum timers");
    expect(communicator->stats()[CommOp::kAllGather].calls == 2, rank,
           "all_gather timers");
  }
  if (rank == 0)
    std::printf("executor collectives (%s, %d replicas): %s\n", mode.c_str(),
                size, failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
