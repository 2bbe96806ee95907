//===- Communicator.cpp - The factory, the single-process engine, helpers -===//
#include "CollectiveInternal.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace simclr::runtime {

Communicator::~Communicator() = default;

const char *commOpName(CommOp op) {
  switch (op) {
  case CommOp::kAllReduceSum:
    return "all_reduce_sum";
  case CommOp::kAllGather:
    return "all_gather";
  case CommOp::kBroadcast:
    return "broadcast";
  case CommOp::kBarrier:
    return "barrier";
  }
  return "unknown";
}

double CommunicatorStats::totalCommSeconds() const {
  double total = 0;
  for (const CommOpStats &op : ops)
    total += op.commSeconds;
  return total;
}
double CommunicatorStats::totalWaitSeconds() const {
  double total = 0;
  for (const CommOpStats &op : ops)
    total += op.waitSeconds;
  return total;
}
int64_t CommunicatorStats::totalBytes() const {
  int64_t total = 0;
  for (const CommOpStats &op : ops)
    total += op.bytes;
  return total;
}

Status Communicator::allReduceSum(const ReduceBuffer *buffers, size_t count) {
  Expected<CommTicket> ticket = startAllReduceSum(buffers, count);
  if (!ticket)
    return ticket.takeStatus();
  return wait(*ticket);
}

void localSlice(const void *input, void *output, int64_t bytes, int64_t blocks,
                int rank, int size) {
  int64_t blockBytes = bytes / blocks;
  const auto *from = static_cast<const std::byte *>(input);
  auto *to = static_cast<std::byte *>(output);
  for (int64_t b = 0; b < blocks; ++b)
    std::memmove(to + b * blockBytes, from + (b * size + rank) * blockBytes,
                 static_cast<size_t>(blockBytes));
}

namespace collective {

bool launchedByMpirun() {
  // Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE; PMI/PMIx launchers (srun,
  // MPICH's hydra) set PMI_SIZE or PMIX_RANK.
  for (const char *name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(name))
      return true;
  return false;
}

std::string failureLine(int rank, int size, const std::string &message) {
  return "simclr: rank " + std::to_string(rank) + " of " +
         std::to_string(size) + ": " + message;
}

Expected<int64_t> reduceBufferBytes(const ReduceBuffer &buffer) {
  if (buffer.dtype != DType::kF32 && buffer.dtype != DType::kF64)
    return invalidArgument("all_reduce_sum takes f32 or f64 buffers, got " +
                           std::string(dtypeName(buffer.dtype)));
  if (buffer.elements < 0 || (buffer.elements > 0 && !buffer.data))
    return invalidArgument("all_reduce_sum: a buffer of " +
                           std::to_string(buffer.elements) +
                           " elements at a null address");
  return buffer.elements * static_cast<int64_t>(dtypeByteSize(buffer.dtype));
}

void placeOwnBlocks(const void *input, void *output, int64_t bytes,
                    int64_t blocks, int rank, int size) {
  int64_t blockBytes = bytes / blocks;
  const auto *from = static_cast<const std::byte *>(input);
  auto *to = static_cast<std::byte *>(output);
  for (int64_t b = 0; b < blocks; ++b)
    std::memmove(to + (b * size + rank) * blockBytes, from + b * blockBytes,
                 static_cast<size_t>(blockBytes));
}

Status checkGatherArguments(int64_t bytes, int64_t blocks) {
  if (blocks < 1 || bytes < 0 || bytes % blocks != 0)
    return invalidArgument("all_gather: " + std::to_string(bytes) +
                           " bytes do not split into " +
                           std::to_string(blocks) + " equal blocks");
  return Status::ok();
}

Expected<double> timeoutFromEnvironment(double fallback) {
  const char *text = std::getenv("SIMCLR_COMM_TIMEOUT");
  if (!text || !*text)
    return fallback;
  char *end = nullptr;
  double seconds = std::strtod(text, &end);
  if (*end != '\0' || !(seconds > 0))
    return invalidArgument("SIMCLR_COMM_TIMEOUT='" + std::string(text) +
                           "' is not a positive number of seconds");
  return seconds;
}

} // namespace collective

namespace {

using collective::failureLine;

/// One process: every collective is the identity; the timers still count
/// calls and bytes, so a report reads the same with one replica.
class SingleCommunicator final : public Communicator {
public:
  explicit SingleCommunicator(double timeoutSeconds)
      : timeoutSeconds(timeoutSeconds) {}

  int rank() const override { return 0; }
  int size() const override { return 1; }
  int localRank() const override { return 0; }
  const char *engine() const override { return "single"; }

  Expected<CommTicket> startAllReduceSum(const ReduceBuffer *buffers,
                                         size_t count) override {
    CommOpStats &op = stats_[CommOp::kAllReduceSum];
    for (size_t i = 0; i < count; ++i) {
      Expected<int64_t> bytes = collective::reduceBufferBytes(buffers[i]);
      if (!bytes)
        return bytes.takeStatus();
      op.bytes += *bytes;
    }
    ++op.calls;
    return nextTicket++;
  }
  Status wait(CommTicket ticket) override {
    if (ticket < 0 || ticket >= nextTicket)
      return invalidArgument("wait: no operation has ticket " +
                             std::to_string(ticket));
    return Status::ok();
  }

  Status allGather(const void *input, void *output, int64_t bytes,
                   int64_t blocks) override {
    SIMCLR_RETURN_IF_ERROR(collective::checkGatherArguments(bytes, blocks));
    if (input != output)
      std::memmove(output, input, static_cast<size_t>(bytes));
    CommOpStats &op = stats_[CommOp::kAllGather];
    ++op.calls;
    op.bytes += bytes;
    return Status::ok();
  }
  Status broadcast(void *, int64_t bytes) override {
    CommOpStats &op = stats_[CommOp::kBroadcast];
    ++op.calls;
    op.bytes += bytes;
    return Status::ok();
  }
  Status barrier() override {
    ++stats_[CommOp::kBarrier].calls;
    return Status::ok();
  }
  [[noreturn]] void abort(const std::string &message) override {
    std::fprintf(stderr, "%s\n", failureLine(0, 1, message).c_str());
    std::fflush(stderr);
    std::_Exit(kCommunicationFailureExitCode);
  }
  Status reserve(int64_t) override { return Status::ok(); }
  void setTimeout(double seconds) override { timeoutSeconds = seconds; }
  double timeout() const override { return timeoutSeconds; }

private:
  double timeoutSeconds;
  CommTicket nextTicket = 0;
};

} // namespace

Expected<std::unique_ptr<Communicator>>
createCommunicator(const CommunicatorOptions &options) {
  Expected<double> timeout =
      collective::timeoutFromEnvironment(options.timeoutSeconds);
  if (!timeout)
    return timeout.takeStatus();
  if (!(*timeout > 0))
    return invalidArgument("communication timeout must be positive, got " +
                           std::to_string(*timeout) + " s");
  CommunicatorOptions resolved = options;
  resolved.timeoutSeconds = *timeout;
  bool useMpi = options.engine == CommunicatorEngine::kMpi ||
                (options.engine == CommunicatorEngine::kAuto &&
                 collective::launchedByMpirun());
  if (useMpi)
    return collective::createMpiCommunicator(resolved);
  return std::unique_ptr<Communicator>(
      std::make_unique<SingleCommunicator>(*timeout));
}

} // namespace simclr::runtime
