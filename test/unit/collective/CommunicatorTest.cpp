//===- CommunicatorTest.cpp - The single-process communicator, local_slice ===//
#include "simclr/Runtime/Communicator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

namespace simclr::runtime {
namespace {

std::unique_ptr<Communicator> single() {
  CommunicatorOptions options;
  options.engine = CommunicatorEngine::kSingle;
  Expected<std::unique_ptr<Communicator>> communicator =
      createCommunicator(options);
  EXPECT_TRUE(communicator) << communicator.status().toString();
  return std::move(*communicator);
}

TEST(SingleCommunicator, IsRankZeroOfOne) {
  auto c = single();
  EXPECT_EQ(c->rank(), 0);
  EXPECT_EQ(c->size(), 1);
  EXPECT_EQ(c->localRank(), 0);
  EXPECT_STREQ(c->engine(), "single");
}

TEST(SingleCommunicator, AllReduceOfOneReplicaLeavesBuffersAndCountsBytes) {
  auto c = single();
  std::vector<float> a = {1.5f, -2.25f, 3.0f};
  std::vector<double> b = {0.1, 0.2};
  ReduceBuffer buffers[] = {{a.data(), 3, DType::kF32},
                            {b.data(), 2, DType::kF64}};
  Expected<CommTicket> ticket = c->startAllReduceSum(buffers, 2);
  ASSERT_TRUE(ticket) << ticket.status().toString();
  ASSERT_TRUE(c->wait(*ticket).isOk());
  EXPECT_EQ(a, (std::vector<float>{1.5f, -2.25f, 3.0f}));
  EXPECT_EQ(b, (std::vector<double>{0.1, 0.2}));
  const CommOpStats &stats = c->stats()[CommOp::kAllReduceSum];
  EXPECT_EQ(stats.calls, 1);
  EXPECT_EQ(stats.bytes, 3 * 4 + 2 * 8);
  EXPECT_EQ(c->stats().totalBytes(), 28);
}

TEST(SingleCommunicator, AllReduceRefusesIntegerBuffers) {
  auto c = single();
  int64_t x = 3;
  ReduceBuffer buffer{&x, 1, DType::kI64};
  Status status = c->allReduceSum(&buffer, 1);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("f32 or f64"), std::string::npos)
      << status.message();
}

TEST(SingleCommunicator, WaitOnUnknownTicketIsAnError) {
  auto c = single();
  EXPECT_EQ(c->wait(5).code(), StatusCode::kInvalidArgument);
}

TEST(SingleCommunicator, AllGatherOfOneReplicaCopies) {
  auto c = single();
  std::vector<int32_t> x = {1, 2, 3, 4}, g(4, 0);
  ASSERT_TRUE(c->allGather(x.data(), g.data(), 16, 2).isOk());
  EXPECT_EQ(g, x);
  EXPECT_EQ(c->allGather(x.data(), g.data(), 16, 3).code(),
            StatusCode::kInvalidArgument);
}

TEST(SingleCommunicator, BroadcastAndBarrierAreNoOps) {
  auto c = single();
  std::vector<char> bytes = {'a', 'b'};
  ASSERT_TRUE(c->broadcast(bytes.data(), 2).isOk());
  ASSERT_TRUE(c->barrier().isOk());
  EXPECT_EQ(bytes, (std::vector<char>{'a', 'b'}));
  EXPECT_EQ(c->stats()[CommOp::kBroadcast].bytes, 2);
  EXPECT_EQ(c->stats()[CommOp::kBarrier].calls, 1);
}

TEST(SingleCommunicator, AbortPrintsOneLineAndExits) {
  auto c = single();
  EXPECT_EXIT(c->abort("checkpoint mismatch"),
              ::testing::ExitedWithCode(kCommunicationFailureExitCode),
              "^simclr: rank 0 of 1: checkpoint mismatch\n$");
}

// The gathered layout of 3 replicas, 2 blocks of 2 elements each:
// block 0 of replicas 0, 1, 2, then block 1 of replicas 0, 1, 2.
TEST(LocalSlice, PicksThisReplicasBlocks) {
  std::vector<int32_t> gathered = {/*b0 r0*/ 0, 1,   /*b0 r1*/ 10, 11,
                                   /*b0 r2*/ 20, 21, /*b1 r0*/ 2,  3,
                                   /*b1 r1*/ 12, 13, /*b1 r2*/ 22, 23};
  for (int rank = 0; rank < 3; ++rank) {
    std::vector<int32_t> x(4, -1);
    localSlice(gathered.data(), x.data(), 16, 2, rank, 3);
    EXPECT_EQ(x, (std::vector<int32_t>{rank * 10, rank * 10 + 1,
                                       rank * 10 + 2, rank * 10 + 3}))
        << "rank " << rank;
  }
}

TEST(LocalSlice, OfOneReplicaIsTheIdentity) {
  std::vector<float> g = {1, 2, 3, 4}, x(4);
  localSlice(g.data(), x.data(), 16, 2, 0, 1);
  EXPECT_EQ(x, g);
}

TEST(CreateCommunicator, WithoutMpirunIsSingle) {
  for (const char *name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    ASSERT_EQ(std::getenv(name), nullptr) << name;
  Expected<std::unique_ptr<Communicator>> c = createCommunicator();
  ASSERT_TRUE(c) << c.status().toString();
  EXPECT_STREQ((*c)->engine(), "single");
  EXPECT_EQ((*c)->timeout(), kDefaultCommunicationTimeoutSeconds);
}

TEST(CreateCommunicator, TimeoutFromTheEnvironment) {
  setenv("SIMCLR_COMM_TIMEOUT", "12.5", 1);
  Expected<std::unique_ptr<Communicator>> c = createCommunicator();
  ASSERT_TRUE(c) << c.status().toString();
  EXPECT_EQ((*c)->timeout(), 12.5);
  setenv("SIMCLR_COMM_TIMEOUT", "soon", 1);
  Expected<std::unique_ptr<Communicator>> bad = createCommunicator();
  unsetenv("SIMCLR_COMM_TIMEOUT");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("SIMCLR_COMM_TIMEOUT='soon'"),
            std::string::npos)
      << bad.status().message();
}

TEST(CreateCommunicator, MpiWithoutMpiIsOneClearError) {
  if (mpiAvailable())
    GTEST_SKIP() << "this runtime has MPI (MpiCommunicatorCheck covers it)";
  CommunicatorOptions options;
  options.engine = CommunicatorEngine::kMpi;
  Expected<std::unique_ptr<Communicator>> c = createCommunicator(options);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(c.status().message().find("without MPI"), std::string::npos);
}

} // namespace
} // namespace simclr::runtime
