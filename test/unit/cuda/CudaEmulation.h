//===- CudaEmulation.h - Runs the CUDA templates as plain C++ on the CPU --===//
//
// Include this before simclr/Kernels/Cuda/CudaKernels.cuh to compile the
// device templates with a host compiler and run them without a GPU:
//  - __global__, __device__, __host__ and __forceinline__ vanish;
//    __shared__ becomes `static`: blocks run one at a time, so one static
//    array per function is exactly the block's shared memory.
//  - threadIdx, blockIdx, blockDim, gridDim are globals the emulator sets.
//  - The threads of a block are fibers (ucontext) on the calling thread,
//    run in turn: each runs until __syncthreads() or its end, then the next
//    one (alternately first to last and last to first). Deterministic,
//    and far cheaper than an OS thread per CUDA thread
//    (a block has 256). A barrier that some threads of a block skip (which
//    deadlocks or corrupts on a GPU) is reported as an error.
//  - The CUDA intrinsics the templates use, in terms of <cmath>.
// launch(shapes, phaseFunction) runs phase k with shapes[k], block by
// block, as the stream would order the launches.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_TEST_UNIT_CUDA_CUDAEMULATION_H
#define SIMCLR_TEST_UNIT_CUDA_CUDAEMULATION_H

#include "simclr/Kernels/Cuda/Launch.h"

#include <ucontext.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static

/// CUDA's dim3 (x, y, z extents or coordinates).
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};

inline dim3 threadIdx, blockIdx, blockDim, gridDim;

inline float __int_as_float(int bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}
inline double __longlong_as_double(long long bits) {
  double value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

namespace simclr::cuda::emulation {

/// Bytes of stack per emulated thread: the templates keep a few scalars.
constexpr size_t kFiberStackBytes = 64 * 1024;

/// The fibers of one block and their scheduler.
class BlockRunner {
public:
  /// Runs body() once per thread of a block of `threads` threads, with
  /// threadIdx set; throws std::logic_error on divergent barriers.
  void run(int threads, const std::function<void()> &body) {
    body_ = &body;
    while (static_cast<int>(stacks_.size()) < threads)
      stacks_.push_back(std::make_unique<char[]>(kFiberStackBytes));
    fibers_.assign(threads, ucontext_t{});
    states_.assign(threads, State::kReady);
    for (int t = 0; t < threads; ++t) {
      getcontext(&fibers_[t]);
      fibers_[t].uc_stack.ss_sp = stacks_[t].get();
      fibers_[t].uc_stack.ss_size = kFiberStackBytes;
      fibers_[t].uc_link = &scheduler_;
      makecontext(&fibers_[t], &BlockRunner::fiberEntry, 0);
    }
    // Between two barriers the threads run in turn, first to last, then
    // last to first after the next barrier: a shared-memory read that is
    // missing a barrier after (or before) its write sees the wrong value
    // in one of the two orders.
    // Odd blocks start last to first, so that either order meets each
    // barrier of a template in some block.
    bool lastFirst = (blockIdx.x + blockIdx.y + blockIdx.z) % 2 == 1;
    for (;;) {
      for (int k = 0; k < threads; ++k) {
        const int t = lastFirst ? threads - 1 - k : k;
        if (states_[t] == State::kDone)
          continue;
        current_ = t;
        setThreadIndex(t);
        states_[t] = State::kRunning;
        swapcontext(&scheduler_, &fibers_[t]);
      }
      int done = 0;
      for (State state : states_)
        done += state == State::kDone;
      if (done == threads)
        return;
      if (done != 0)
        throw std::logic_error("CUDA emulation: __syncthreads() reached by " +
                               std::to_string(threads - done) + " of " +
                               std::to_string(threads) + " threads of block (" +
                               std::to_string(blockIdx.x) + ", " +
                               std::to_string(blockIdx.y) + ", " +
                               std::to_string(blockIdx.z) + ")");
      for (State &state : states_)
        state = State::kReady;
      lastFirst = !lastFirst;
    }
  }

  /// __syncthreads(): back to the scheduler until every thread is here.
  void barrier() {
    const int t = current_;
    states_[t] = State::kAtBarrier;
    swapcontext(&fibers_[t], &scheduler_);
  }

  static BlockRunner &instance() {
    static BlockRunner runner;
    return runner;
  }

private:
  enum class State { kReady, kRunning, kAtBarrier, kDone };

  static void fiberEntry() {
    BlockRunner &self = instance();
    (*self.body_)();
    self.states_[self.current_] = State::kDone;
    // Returning resumes uc_link, the scheduler.
  }

  static void setThreadIndex(int t) {
    threadIdx.x = static_cast<unsigned>(t) % blockDim.x;
    threadIdx.y = static_cast<unsigned>(t) / blockDim.x % blockDim.y;
    threadIdx.z = static_cast<unsigned>(t) / (blockDim.x * blockDim.y);
  }

  const std::function<void()> *body_ = nullptr;
  std::vector<std::unique_ptr<char[]>> stacks_;
  std::vector<ucontext_t> fibers_;
  std::vector<State> states_;
  ucontext_t scheduler_{};
  int current_ = 0;
};

/// Runs launch k of `shapes` with phaseFunction(k): every block of its
/// grid in turn, every thread of a block as a fiber.
inline void launch(const std::vector<LaunchShape> &shapes,
                   const std::function<void(int)> &phaseFunction) {
  for (size_t phase = 0; phase < shapes.size(); ++phase) {
    const LaunchShape &shape = shapes[phase];
    if (shape.sharedBytes != 0)
      throw std::logic_error("CUDA emulation: no dynamic shared memory");
    gridDim = {static_cast<unsigned>(shape.grid[0]),
               static_cast<unsigned>(shape.grid[1]),
               static_cast<unsigned>(shape.grid[2])};
    blockDim = {static_cast<unsigned>(shape.block[0]),
                static_cast<unsigned>(shape.block[1]),
                static_cast<unsigned>(shape.block[2])};
    const int threads =
        static_cast<int>(shape.block[0] * shape.block[1] * shape.block[2]);
    const std::function<void()> body = [&] {
      phaseFunction(static_cast<int>(phase));
    };
    for (unsigned z = 0; z < gridDim.z; ++z)
      for (unsigned y = 0; y < gridDim.y; ++y)
        for (unsigned x = 0; x < gridDim.x; ++x) {
          blockIdx = {x, y, z};
          BlockRunner::instance().run(threads, body);
        }
  }
}

} // namespace simclr::cuda::emulation

inline void __syncthreads() {
  simclr::cuda::emulation::BlockRunner::instance().barrier();
}

#endif // SIMCLR_TEST_UNIT_CUDA_CUDAEMULATION_H
