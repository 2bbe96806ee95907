//===- MpiCommunicator.cpp - The replicas as Open MPI processes -----------===//
//
// Design, in order of what it has to guarantee:
//
// 1. Overlap. The compiler issues each gradient bucket's all_reduce_sum as
//    soon as its gradients exist and completes it before the optimizer;
//    Open MPI progresses messages only inside MPI calls, so a nonblocking
//    collective started between two entries would move no byte while a
//    long kernel runs. A dedicated communication thread therefore makes
//    EVERY MPI call of the process (it calls MPI_Init_thread, so
//    MPI_THREAD_FUNNELED is all it needs), taking operations from a FIFO
//    queue and progressing them with MPI_Test while the step's thread
//    computes. The other choice (nonblocking calls progressed at entry
//    boundaries) would tie progress to kernel lengths.
// 2. Bit-identical sums independent of timing. MPI_Allreduce promises
//    neither (Open MPI picks algorithms by size and rank count, and for
//    K > 2 ranks may combine partial sums in different orders on different
//    ranks). Here each element is summed exactly once, by one rank, in rank
//    order 0, 1, ..., K-1: a buffer is cut into K chunks; MPI_Ialltoallv
//    sends chunk j of every rank to rank j (a reduce-scatter's traffic,
//    (K-1)/K of the buffer out and in); rank j adds its K rows in rank
//    order into its chunk; MPI_Iallgatherv in place copies the sums to
//    everyone. Moving bytes is exact, so every rank ends with the same bits,
//    and the same bits on every run with the same K.
// 3. Bounded failure. Every operation has a deadline; the communication
//    thread polls MPI_Test (MPI_ERRORS_RETURN on the world communicator, so
//    an error comes back instead of aborting unexplained) and, past the
//    deadline or on an error, prints one line and calls MPI_Abort, which
//    makes mpirun end every process of the job. A rank that exits without
//    MPI_Finalize is seen by mpirun itself, which ends the job.
//
//===----------------------------------------------------------------------===//
#include "CollectiveInternal.h"

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace simclr::runtime::collective {
namespace {

using Clock = std::chrono::steady_clock;

/// MPI_Test polling: this many tests back to back (a short message finishes
/// within microseconds), then sleeps doubling from kFirstSleep to kMaxSleep,
/// which bounds both the latency added to a finished operation and the CPU
/// the thread takes from the kernels (2 cores here).
constexpr int kSpinTests = 64;
constexpr std::chrono::microseconds kFirstSleep{10};
constexpr std::chrono::microseconds kMaxSleep{200};
/// How long the step's thread waits beyond the deadline for the
/// communication thread to end the job itself before it exits alone.
constexpr std::chrono::seconds kAbortGrace{10};
/// MPI counts are int: a broadcast is cut into messages of at most this.
constexpr int64_t kMaxMessageBytes = int64_t(1) << 30;

/// One queued operation.
struct Task {
  enum class Kind { kAllReduce, kAllGather, kBroadcast, kBarrier };
  Kind kind = Kind::kBarrier;
  CommOp op = CommOp::kBarrier;
  CommTicket ticket = 0;
  std::vector<ReduceBuffer> buffers;
  const void *input = nullptr;
  void *output = nullptr;
  int64_t bytes = 0;
  int64_t blocks = 1;
};

class MpiCommunicator final : public Communicator {
public:
  explicit MpiCommunicator(double timeoutSeconds)
      : timeoutSeconds(timeoutSeconds) {}

  ~MpiCommunicator() override {
    if (!thread.joinable())
      return;
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    thread.join();
  }

  /// Starts the thread and MPI; fails when MPI cannot give the threading
  /// level it needs.
  Status start() {
    thread = std::thread([this] { threadMain(); });
    std::unique_lock<std::mutex> lock(mutex);
    done.wait(lock, [this] { return initialized; });
    return initStatus;
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int localRank() const override { return localRank_; }
  const char *engine() const override { return "mpi"; }

  Expected<CommTicket> startAllReduceSum(const ReduceBuffer *buffers,
                                         size_t count) override {
    Task task;
    task.kind = Task::Kind::kAllReduce;
    task.op = CommOp::kAllReduceSum;
    for (size_t i = 0; i < count; ++i) {
      Expected<int64_t> bytes = reduceBufferBytes(buffers[i]);
      if (!bytes)
        return bytes.takeStatus();
      if (buffers[i].elements / size_ + 1 > INT_MAX / 8)
        return invalidArgument("all_reduce_sum: a buffer of " +
                               std::to_string(buffers[i].elements) +
                               " elements exceeds MPI's int counts");
      task.bytes += *bytes;
      task.buffers.push_back(buffers[i]);
    }
    return enqueue(std::move(task));
  }

  Status wait(CommTicket ticket) override {
    auto begin = Clock::now();
    std::unique_lock<std::mutex> lock(mutex);
    if (!outstanding.count(ticket))
      return invalidArgument("wait: no pending operation has ticket " +
                             std::to_string(ticket));
    auto limit = std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double>(timeoutSeconds.load())) +
                 kAbortGrace;
    if (!done.wait_for(lock, limit,
                       [&] { return finished.count(ticket) != 0; })) {
      // The communication thread enforces the deadline; reaching this
      // means it is stuck inside MPI itself.
      std::fprintf(stderr, "%s\n",
                   failureLine(rank_, size_,
                               "communication thread unresponsive past the "
                               "deadline; exiting")
                       .c_str());
      std::fflush(stderr);
      std::_Exit(kCommunicationFailureExitCode);
    }
    auto [op, seconds] = finished[ticket];
    finished.erase(ticket);
    outstanding.erase(ticket);
    lock.unlock();
    CommOpStats &stat = stats_[op];
    stat.commSeconds += seconds;
    stat.waitSeconds +=
        std::chrono::duration<double>(Clock::now() - begin).count();
    return Status::ok();
  }

  Status allGather(const void *input, void *output, int64_t bytes,
                   int64_t blocks) override {
    SIMCLR_RETURN_IF_ERROR(checkGatherArguments(bytes, blocks));
    if (bytes > INT_MAX)
      return invalidArgument("all_gather: " + std::to_string(bytes) +
                             " bytes exceed MPI's int counts");
    Task task;
    task.kind = Task::Kind::kAllGather;
    task.op = CommOp::kAllGather;
    task.input = input;
    task.output = output;
    task.bytes = bytes;
    task.blocks = blocks;
    return blocking(std::move(task));
  }

  Status broadcast(void *data, int64_t bytes) override {
    if (bytes < 0 || (bytes > 0 && !data))
      return invalidArgument("broadcast: " + std::to_string(bytes) +
                             " bytes at a null address");
    Task task;
    task.kind = Task::Kind::kBroadcast;
    task.op = CommOp::kBroadcast;
    task.output = data;
    task.bytes = bytes;
    return blocking(std::move(task));
  }

  Status barrier() override {
    Task task;
    task.kind = Task::Kind::kBarrier;
    task.op = CommOp::kBarrier;
    return blocking(std::move(task));
  }

  [[noreturn]] void abort(const std::string &message) override {
    {
      std::lock_guard<std::mutex> lock(mutex);
      abortMessage = message;
      abortRequested = true;
    }
    wake.notify_all();
    // The communication thread calls MPI_Abort, which ends this process
    // too; if it cannot (stuck in MPI), end this one alone.
    std::this_thread::sleep_for(kAbortGrace);
    std::_Exit(kCommunicationFailureExitCode);
  }

  Status reserve(int64_t bytes) override {
    // all_gather stages size() copies; all_reduce_sum one chunk per rank.
    int64_t want = bytes * size_;
    if (want > reservedBytes.load())
      reservedBytes.store(want);
    return Status::ok();
  }

  void setTimeout(double seconds) override {
    timeoutSeconds.store(seconds);
  }
  double timeout() const override { return timeoutSeconds; }

private:
  Expected<CommTicket> enqueue(Task task) {
    CommTicket ticket;
    {
      std::lock_guard<std::mutex> lock(mutex);
      ticket = task.ticket = nextTicket++;
      outstanding.insert(ticket);
      CommOpStats &stat = stats_[task.op];
      ++stat.calls;
      stat.bytes += task.bytes;
      queue.push_back(std::move(task));
    }
    wake.notify_all();
    return ticket;
  }

  Status blocking(Task task) {
    Expected<CommTicket> ticket = enqueue(std::move(task));
    if (!ticket)
      return ticket.takeStatus();
    return wait(*ticket);
  }

  // --- The communication thread ------------------------------------------

  /// Ends the job: one line, then MPI_Abort (never returns).
  [[noreturn]] void fail(const std::string &message) {
    std::fprintf(stderr, "%s\n", failureLine(rank_, size_, message).c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, kCommunicationFailureExitCode);
    std::_Exit(kCommunicationFailureExitCode);
  }

  void check(int code, const char *call) {
    if (code == MPI_SUCCESS)
      return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    fail(std::string(call) + " failed: " + std::string(text, length));
  }

  /// Polls `request` until it completes; past `deadline` or on an abort
  /// request, ends the job naming `what`.
  void complete(MPI_Request &request, Clock::time_point deadline,
                const std::string &what) {
    auto sleep = kFirstSleep;
    for (int tests = 0;; ++tests) {
      int flag = 0;
      check(MPI_Test(&request, &flag, MPI_STATUS_IGNORE), "MPI_Test");
      if (flag)
        return;
      if (abortRequested.load())
        fail(abortMessage);
      if (Clock::now() > deadline)
        fail("communication timeout: " + what + " not finished after " +
             formatSeconds(timeoutSeconds.load()) +
             " s; a rank died or hangs (SIMCLR_COMM_TIMEOUT sets the limit)");
      if (tests >= kSpinTests) {
        std::this_thread::sleep_for(sleep);
        sleep = std::min(sleep * 2, kMaxSleep);
      }
    }
  }

  static std::string formatSeconds(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", seconds);
    return text;
  }

  std::byte *staging(int64_t bytes) {
    int64_t want = std::max(bytes, reservedBytes.load());
    if (static_cast<int64_t>(stagingBuffer.size()) < want)
      stagingBuffer.resize(static_cast<size_t>(want));
    return stagingBuffer.data();
  }

  template <typename T>
  static void sumRows(const std::byte *rows, int64_t chunkElements, int ranks,
                      std::byte *out) {
    auto *sum = reinterpret_cast<T *>(out);
    auto *row = reinterpret_cast<const T *>(rows);
    // Rank order, one rank at a time: the same additions on every run.
    for (int64_t e = 0; e < chunkElements; ++e)
      sum[e] = row[e];
    for (int r = 1; r < ranks; ++r)
      for (int64_t e = 0; e < chunkElements; ++e)
        sum[e] += row[r * chunkElements + e];
  }

  void runAllReduce(const Task &task, Clock::time_point deadline) {
    int K = size_;
    std::vector<int> counts(K), displs(K), recvCounts(K), recvDispls(K);
    for (size_t i = 0; i < task.buffers.size(); ++i) {
      const ReduceBuffer &buffer = task.buffers[i];
      if (buffer.elements == 0)
        continue;
      int64_t elementBytes = static_cast<int64_t>(dtypeByteSize(buffer.dtype));
      // Chunk j: elements [n*j/K, n*(j+1)/K).
      auto bound = [&](int j) { return buffer.elements * j / K; };
      for (int j = 0; j < K; ++j) {
        counts[j] = static_cast<int>((bound(j + 1) - bound(j)) * elementBytes);
        displs[j] = static_cast<int>(bound(j) * elementBytes);
      }
      int mine = counts[rank_];
      for (int r = 0; r < K; ++r) {
        recvCounts[r] = mine;
        recvDispls[r] = r * mine;
      }
      std::byte *rows = staging(int64_t(mine) * K);
      auto *data = static_cast<std::byte *>(buffer.data);
      std::string what = "all_reduce_sum (ticket " +
                         std::to_string(task.ticket) + ", buffer " +
                         std::to_string(i) + " of " +
                         std::to_string(task.buffers.size()) + ", " +
                         std::to_string(buffer.elements * elementBytes) +
                         " bytes)";
      MPI_Request request;
      check(MPI_Ialltoallv(data, counts.data(), displs.data(), MPI_BYTE, rows,
                           recvCounts.data(), recvDispls.data(), MPI_BYTE,
                           MPI_COMM_WORLD, &request),
            "MPI_Ialltoallv");
      complete(request, deadline, what);
      int64_t chunkElements = mine / elementBytes;
      if (buffer.dtype == DType::kF32)
        sumRows<float>(rows, chunkElements, K, data + displs[rank_]);
      else
        sumRows<double>(rows, chunkElements, K, data + displs[rank_]);
      check(MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data,
                            counts.data(), displs.data(), MPI_BYTE,
                            MPI_COMM_WORLD, &request),
            "MPI_Iallgatherv");
      complete(request, deadline, what);
    }
  }

  void runAllGather(const Task &task, Clock::time_point deadline) {
    int bytes = static_cast<int>(task.bytes);
    // One block: the rank-major order of MPI_Allgather is the layout.
    std::byte *into = task.blocks == 1
                          ? static_cast<std::byte *>(task.output)
                          : staging(task.bytes * size_);
    MPI_Request request;
    check(MPI_Iallgather(task.input, bytes, MPI_BYTE, into, bytes, MPI_BYTE,
                         MPI_COMM_WORLD, &request),
          "MPI_Iallgather");
    complete(request, deadline,
             "all_gather (" + std::to_string(task.bytes) + " bytes)");
    if (task.blocks == 1)
      return;
    for (int r = 0; r < size_; ++r)
      placeOwnBlocks(into + int64_t(r) * task.bytes, task.output, task.bytes,
                     task.blocks, r, size_);
  }

  void runBroadcast(const Task &task, Clock::time_point deadline) {
    auto *data = static_cast<std::byte *>(task.output);
    for (int64_t at = 0; at < task.bytes; at += kMaxMessageBytes) {
      int count = static_cast<int>(std::min(kMaxMessageBytes, task.bytes - at));
      MPI_Request request;
      check(MPI_Ibcast(data + at, count, MPI_BYTE, 0, MPI_COMM_WORLD, &request),
            "MPI_Ibcast");
      complete(request, deadline,
               "broadcast (" + std::to_string(task.bytes) + " bytes)");
    }
  }

  void runTask(const Task &task) {
    auto begin = Clock::now();
    auto deadline = begin + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(timeoutSeconds.load()));
    switch (task.kind) {
    case Task::Kind::kAllReduce:
      runAllReduce(task, deadline);
      break;
    case Task::Kind::kAllGather:
      runAllGather(task, deadline);
      break;
    case Task::Kind::kBroadcast:
      runBroadcast(task, deadline);
      break;
    case Task::Kind::kBarrier: {
      MPI_Request request;
      check(MPI_Ibarrier(MPI_COMM_WORLD, &request), "MPI_Ibarrier");
      complete(request, deadline, "barrier");
      break;
    }
    }
    double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
    {
      std::lock_guard<std::mutex> lock(mutex);
      finished[task.ticket] = {task.op, seconds};
    }
    done.notify_all();
  }

  void initialize() {
    int provided = 0;
    int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    std::lock_guard<std::mutex> lock(mutex);
    if (code != MPI_SUCCESS) {
      initStatus = unavailable("MPI_Init_thread failed (code " +
                               std::to_string(code) + ")");
    } else if (provided < MPI_THREAD_FUNNELED) {
      initStatus = unavailable(
          "this MPI library lacks MPI_THREAD_FUNNELED, which the "
          "communication thread needs");
    } else {
      mpiInitialized = true;
      MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
      MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
      MPI_Comm_size(MPI_COMM_WORLD, &size_);
      // The rank among this machine's processes (one GPU each).
      MPI_Comm local;
      MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_,
                          MPI_INFO_NULL, &local);
      MPI_Comm_rank(local, &localRank_);
      MPI_Comm_free(&local);
    }
    initialized = true;
  }

  void threadMain() {
    initialize();
    done.notify_all();
    if (!mpiInitialized)
      return;
    for (;;) {
      Task task;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [this] {
          return stopping || abortRequested.load() || !queue.empty();
        });
        if (abortRequested.load()) {
          lock.unlock();
          fail(abortMessage);
        }
        if (queue.empty() && stopping)
          break;
        task = std::move(queue.front());
        queue.pop_front();
      }
      runTask(task);
    }
    MPI_Finalize();
  }

  // Written by the thread before start() returns, read-only afterwards.
  int rank_ = 0, size_ = 1, localRank_ = 0;
  bool mpiInitialized = false;
  Status initStatus;

  std::thread thread;
  std::mutex mutex;
  /// Wakes the communication thread (new task, stop, abort).
  std::condition_variable wake;
  /// Wakes waiters (initialized, a task finished).
  std::condition_variable done;
  bool initialized = false;
  bool stopping = false;
  std::atomic<bool> abortRequested{false};
  std::string abortMessage;
  std::atomic<double> timeoutSeconds;
  std::deque<Task> queue;
  CommTicket nextTicket = 0;
  /// Finished, not yet waited for: the kind and the seconds it took.
  std::map<CommTicket, std::pair<CommOp, double>> finished;
  /// Started, not yet waited for.
  std::set<CommTicket> outstanding;
  std::atomic<int64_t> reservedBytes{0};
  /// Owned by the communication thread.
  std::vector<std::byte> stagingBuffer;
};

} // namespace

Expected<std::unique_ptr<Communicator>>
createMpiCommunicator(const CommunicatorOptions &options) {
  auto communicator = std::make_unique<MpiCommunicator>(options.timeoutSeconds);
  SIMCLR_RETURN_IF_ERROR(communicator->start());
  return std::unique_ptr<Communicator>(std::move(communicator));
}

} // namespace simclr::runtime::collective

namespace simclr::runtime {
bool mpiAvailable() { return true; }
} // namespace simclr::runtime
