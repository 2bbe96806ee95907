//===- Parallel.h - Short-lived worker threads for runtime/Eval loops ----===//
//
// Why not OpenMP: every loop here sits between BLAS calls, and OpenBLAS runs
// its own thread pool. OpenMP workers spin after each parallel region (GNU
// libgomp's default wait policy) and starve the BLAS threads on the same
// cores: on the 2-core build machine one linear-probe iteration took 7.4 s
// with OpenMP loops and OpenBLAS threads, 1.7 s with OMP_WAIT_POLICY=passive.
// Threads that exit when their range is done cannot spin; starting them
// costs tens of microseconds, small next to the loops they run.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_EVAL_PARALLEL_H
#define SIMCLR_EVAL_PARALLEL_H

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace simclr::eval::detail {

/// How many threads parallelFor uses at most: the hardware's.
inline int64_t maxThreads() {
  return std::max<int64_t>(1, std::thread::hardware_concurrency());
}

/// Calls body(chunk, begin, end) on disjoint contiguous ranges covering
/// [0, n), each at least `grain` long (except a shorter total), one per
/// thread, chunk numbered from 0; returns the number of chunks. The calling
/// thread runs chunk 0. `body` must not throw.
template <typename Body>
int64_t parallelFor(int64_t n, int64_t grain, const Body &body) {
  if (n <= 0)
    return 0;
  int64_t chunks =
      std::clamp<int64_t>(n / std::max<int64_t>(grain, 1), 1, maxThreads());
  if (chunks == 1) {
    body(0, 0, n);
    return 1;
  }
  std::vector<std::thread> threads;
  for (int64_t c = 1; c < chunks; ++c)
    threads.emplace_back(
        [&body, c, n, chunks] { body(c, n * c / chunks, n * (c + 1) / chunks); });
  body(0, 0, n / chunks);
  for (std::thread &t : threads)
    t.join();
  return chunks;
}

} // namespace simclr::eval::detail

#endif // SIMCLR_EVAL_PARALLEL_H
