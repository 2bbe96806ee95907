//===- mpi_communicator_check.cpp - The MPI communicator under mpirun -----===//
//
// Run by CTest as `mpirun -np K mpi_communicator_check MODE`:
//   semantics   all_reduce_sum (f32, f64, several buffers, sizes below and
//               above K) equals the rank-order sum bit for bit and is
//               bit-identical on every rank; all_gather with blocks = 1, 2;
//               local_slice inverts it; broadcast; barrier; the timers.
//               Exit 0 when all hold, 1 with a line per failure otherwise.
//   timeout     the last rank sleeps past a 2 s timeout before a barrier:
//               the others must end the job with the one-line error.
//   early-exit  the last rank exits at once without finalizing; the job
//               must end (mpirun notices), not hang.
//
//===----------------------------------------------------------------------===//
#include "simclr/Runtime/Communicator.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace simclr;
using namespace simclr::runtime;

namespace {

int failures = 0;

void expect(bool ok, int rank, const std::string &what) {
  if (!ok) {
    std::fprintf(stderr, "rank %d: FAILED: %s\n", rank, what.c_str());
    ++failures;
  }
}

/// Rank r's contribution to buffer `which`: values of mixed magnitude, so
/// that the order of the additions shows in the bits.
template <typename T> std::vector<T> contribution(int rank, int which, int64_t n) {
  std::mt19937_64 random(1000 * rank + which);
  std::uniform_real_distribution<double> unit(-1, 1);
  std::vector<T> values(n);
  for (int64_t i = 0; i < n; ++i)
    values[i] = static_cast<T>(unit(random) * std::pow(10.0, (i % 7) - 3));
  return values;
}

/// The sum in rank order 0, 1, ..., K-1, as the communicator promises.
template <typename T> std::vector<T> rankOrderSum(int size, int which, int64_t n) {
  std::vector<T> sum = contribution<T>(0, which, n);
  for (int r = 1; r < size; ++r) {
    std::vector<T> x = contribution<T>(r, which, n);
    for (int64_t i = 0; i < n; ++i)
      sum[i] += x[i];
  }
  return sum;
}

/// Whether every rank holds the same `bytes` at `data` (gathered and
/// compared byte for byte).
bool sameOnEveryRank(Communicator &c, const void *data, int64_t bytes) {
  if (bytes == 0)
    return true; // nothing to compare (and memcmp takes no null pointer)
  std::vector<std::byte> all(bytes * c.size());
  if (!c.allGather(data, all.data(), bytes, 1).isOk())
    return false;
  for (int r = 1; r < c.size(); ++r)
    if (std::memcmp(all.data(), all.data() + r * bytes, bytes) != 0)
      return false;
  return true;
}

int semantics(Communicator &c) {
  int rank = c.rank(), size = c.size();
  // all_reduce_sum over several buffers of both dtypes, asynchronous, two
  // operations in flight at once.
  const int64_t sizes[] = {0, 1, 2, 7, 1000, 4099};
  std::vector<std::vector<float>> f32;
  std::vector<std::vector<double>> f64;
  std::vector<ReduceBuffer> first, second;
  for (int k = 0; k < 6; ++k) {
    f32.push_back(contribution<float>(rank, k, sizes[k]));
    f64.push_back(contribution<double>(rank, 100 + k, sizes[k]));
  }
  for (int k = 0; k < 6; ++k) {
    first.push_back({f32[k].data(), sizes[k], DType::kF32});
    second.push_back({f64[k].data(), sizes[k], DType::kF64});
  }
  c.resetStats();
  Expected<CommTicket> a = c.startAllReduceSum(first.data(), first.size());
  Expected<CommTicket> b = c.startAllReduceSum(second.data(), second.size());
  expect(a && b, rank, "startAllReduceSum");
  expect(c.wait(*a).isOk() && c.wait(*b).isOk(), rank, "wait");
  for (int k = 0; k < 6; ++k) {
    expect(f32[k] == rankOrderSum<float>(size, k, sizes[k]), rank,
           "f32 buffer " + std::to_string(k) + " is the rank-order sum");
    expect(f64[k] == rankOrderSum<double>(size, 100 + k, sizes[k]), rank,
           "f64 buffer " + std::to_string(k) + " is the rank-order sum");
    expect(sameOnEveryRank(c, f32[k].data(), sizes[k] * 4), rank,
           "f32 buffer " + std::to_string(k) + " bit-identical on every rank");
    expect(sameOnEveryRank(c, f64[k].data(), sizes[k] * 8), rank,
           "f64 buffer " + std::to_string(k) + " bit-identical on every rank");
  }
  const CommOpStats &reduce = c.stats()[CommOp::kAllReduceSum];
  expect(reduce.calls == 2, rank, "two all_reduce_sum calls counted");
  int64_t total = 0;
  for (int64_t n : sizes)
    total += n * 12;
  expect(reduce.bytes == total, rank, "all_reduce_sum bytes counted");
  expect(reduce.commSeconds > 0, rank, "all_reduce_sum time counted");

  // all_gather, 2 blocks of 3 int32: block b of rank r holds r*100+b*10+i.
  for (int64_t blocks : {1, 2}) {
    std::vector<int32_t> x(6), g(6 * size, -1), back(6, -1);
    for (int i = 0; i < 6; ++i)
      x[i] = rank * 100 + (i / 3) * 10 + i % 3;
    expect(c.allGather(x.data(), g.data(), 24, blocks).isOk(), rank,
           "allGather");
    int64_t blockElements = 6 / blocks;
    for (int64_t b = 0; b < blocks; ++b)
      for (int r = 0; r < size; ++r)
        for (int64_t i = 0; i < blockElements; ++i) {
          int64_t e = b * blockElements + i;
          expect(g[(b * size + r) * blockElements + i] ==
                     r * 100 + (e / 3) * 10 + e % 3,
                 rank, "all_gather blocks=" + std::to_string(blocks) +
                           " layout at block " + std::to_string(b) +
                           " rank " + std::to_string(r));
        }
    localSlice(g.data(), back.data(), 24, blocks, rank, size);
    expect(back == x, rank,
           "local_slice inverts all_gather blocks=" + std::to_string(blocks));
  }

  // broadcast of bytes from rank 0.
  std::vector<char> state(37, 0);
  if (rank == 0)
    for (size_t i = 0; i < state.size(); ++i)
      state[i] = static_cast<char>('a' + i % 26);
  expect(c.broadcast(state.data(), 37).isOk(), rank, "broadcast");
  for (size_t i = 0; i < state.size(); ++i)
    expect(state[i] == static_cast<char>('a' + i % 26), rank,
           "broadcast byte " + std::to_string(i));
  expect(c.barrier().isOk(), rank, "barrier");
  expect(c.stats()[CommOp::kBroadcast].bytes == 37, rank, "broadcast bytes");
  if (rank == 0)
    std::printf("semantics on %d ranks: %s\n", size,
                failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}

} // namespace

int main(int argc, char **argv) {
  std::string mode = argc > 1 ? argv[1] : "semantics";
  CommunicatorOptions options;
  options.engine = CommunicatorEngine::kMpi;
  if (mode != "semantics")
    options.timeoutSeconds = 2;
  Expected<std::unique_ptr<Communicator>> created = createCommunicator(options);
  if (!created) {
    std::fprintf(stderr, "%s\n", created.status().toString().c_str());
    return 1;
  }
  Communicator &c = **created;
  if (mode == "semantics")
    return semantics(c);
  bool last = c.rank() == c.size() - 1;
  if (mode == "timeout") {
    if (last)
      std::this_thread::sleep_for(std::chrono::seconds(60));
    (void)c.barrier();
    return 0;
  }
  if (mode == "early-exit") {
    if (last)
      _exit(3);
    float x = 1;
    ReduceBuffer buffer{&x, 1, DType::kF32};
    (void)c.allReduceSum(&buffer, 1);
    return 0;
  }
  std::fprintf(stderr, "unknown mode '%s'\n", mode.c_str());
  return 2;
}
