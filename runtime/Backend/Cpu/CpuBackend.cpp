//===- CpuBackend.cpp - Kernel libraries, memory and entries on the CPU ---===//
//
// Loading a CPU kernel library, in order (the first failure is reported):
//   1. dlopen(RTLD_NOW | RTLD_LOCAL) succeeds;
//   2. the library's ABI version equals kPlanFormatVersion, its
//      fingerprint equals the plan's, and the kernel bindings it was
//      compiled for (kernelBindingDigest) are the plan's;
//   3. every kernel entry's symbol resolves.
// Collective entries run through the BackendOptions' Communicator (none:
// one replica, a copy where input and output differ); all_reduce_sum is
// started at its place and completed before the first later entry that
// touches its bytes (findCompletionPoints), or at synchronize().
// The architecture check comes first of all (Artifact::load): a library
// for an instruction set this CPU lacks is never opened.
//
//===----------------------------------------------------------------------===//
#include "CpuBackend.h"

#include "CpuExterns.h"

#include "simclr/Runtime/Communicator.h"
#include "simclr/Support/CpuIsa.h"

#include <dlfcn.h>
#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <unordered_map>

namespace simclr::runtime {
namespace {

using artifact::EntryKind;
using artifact::KernelFunction;
using artifact::Plan;

/// dlerror()'s message, or a fallback when it has none.
std::string lastDlError() {
  const char *error = dlerror();
  return error ? error : "unknown dlopen error";
}

class CpuKernelLibrary final : public KernelLibrary {
public:
  ~CpuKernelLibrary() override {
    if (handle)
      dlclose(handle);
  }
  /// The dlopen handle; closed last, after nothing can call a kernel.
  void *handle = nullptr;
  std::unordered_map<std::string, KernelFunction> kernels;
};

struct FreeDeleter {
  void operator()(void *p) const { std::free(p); }
};

class CpuBackend final : public Backend {
public:
  CpuBackend(const CpuKernelLibrary &library, int threads)
      : library(library), threads(threads) {}

  Expected<std::byte *> allocateBlock(int64_t bytes, int64_t alignment,
                                      const char *what) override {
    int64_t rounded =
        (std::max<int64_t>(bytes, 1) + alignment - 1) / alignment * alignment;
    std::unique_ptr<std::byte, FreeDeleter> block(static_cast<std::byte *>(
        std::aligned_alloc(static_cast<size_t>(alignment),
                           static_cast<size_t>(rounded))));
    if (!block)
      return unavailable("cannot allocate the " + std::string(what) + " (" +
                         std::to_string(bytes) + " bytes)");
    std::memset(block.get(), 0, static_cast<size_t>(rounded));
    blocks.push_back(std::move(block));
    return blocks.back().get();
  }

  Status copyToDevice(void *device, const void *host, size_t bytes) override {
    std::memcpy(device, host, bytes);
    return Status::ok();
  }
  Status copyToHost(void *host, const void *device, size_t bytes) override {
    std::memcpy(host, device, bytes);
    return Status::ok();
  }

  Expected<size_t> prepare(const artifact::ScheduleEntry &entry,
                           const std::vector<EntryOperand> &operands) override {
    Prepared prepared;
    prepared.kind = entry.kind;
    switch (entry.kind) {
    case EntryKind::kKernel: {
      auto it = library.kernels.find(entry.name);
      if (it == library.kernels.end())
        return invalidArgument("the kernel library has no such symbol");
      prepared.kernel = it->second;
      prepared.operandBegin = kernelOperands.size();
      for (const EntryOperand &operand : operands)
        kernelOperands.push_back(operand.data);
      break;
    }
    case EntryKind::kExtern: {
      Expected<size_t> handle = externs.add(entry, operands);
      if (!handle)
        return handle.takeStatus();
      prepared.externHandle = *handle;
      break;
    }
    case EntryKind::kCollective:
      SIMCLR_RETURN_IF_ERROR(prepareCollective(entry, operands, prepared));
      break;
    }
    recordRanges(operands);
    entries.push_back(prepared);
    return entries.size() - 1;
  }

  Status finalize() override {
    findCompletionPoints();
    return externs.finalize();
  }

  void beginRun() override {
    // Per calling thread in OpenMP, so set on every run: the driving thread
    // need not be the one that created the executor.
    omp_set_num_threads(threads);
  }

  Status run(size_t handle) override {
    const Prepared &e = entries[handle];
    // Asynchronous all_reduce_sums whose buffers this entry touches end
    // here (ArtifactPlan.h: "just before the first later entry that reads
    // or writes one of its buffers").
    for (size_t c = e.completeBegin; c < e.completeEnd; ++c)
      SIMCLR_RETURN_IF_ERROR(completeReduce(completions[c]));
    switch (e.kind) {
    case EntryKind::kKernel:
      e.kernel(kernelOperands.data() + e.operandBegin);
      return Status::ok();
    case EntryKind::kExtern:
      return externs.run(e.externHandle);
    case EntryKind::kCollective:
      return runCollective(handle, e);
    }
    return Status::ok();
  }

  Status synchronize() override {
    // Whatever no later entry of the program waited for ends with the run.
    for (size_t handle = 0; handle < entries.size(); ++handle)
      SIMCLR_RETURN_IF_ERROR(completeReduce(handle));
    return Status::ok();
  }

  CpuBackend(const CpuBackend &) = delete;
  CpuBackend &operator=(const CpuBackend &) = delete;
  void setCommunicator(Communicator *c) {
    communicator = c;
    replicas = c ? c->size() : 1;
    rank = c ? c->rank() : 0;
  }

private:
  /// One schedule entry, resolved.
  struct Prepared {
    EntryKind kind = EntryKind::kKernel;
    KernelFunction kernel = nullptr;
    /// Kernel: its operand table starts at kernelOperands[operandBegin].
    size_t operandBegin = 0;
    size_t externHandle = 0;
    /// Collective: copies [copyBegin, copyEnd) (inputs into distinct
    /// outputs), then the kind's work.
    size_t copyBegin = 0, copyEnd = 0;
    CollectiveKind collective = CollectiveKind::kAllReduceSum;
    /// all_reduce_sum: the outputs, reduceBuffers[reduceBegin, reduceEnd).
    size_t reduceBegin = 0, reduceEnd = 0;
    /// all_gather / local_slice: per-replica bytes of x, blocks, x and g.
    int64_t sliceBytes = 0, blocks = 1;
    void *local = nullptr, *gathered = nullptr;
    /// all_reduce_sums to complete before this entry runs:
    /// completions[completeBegin, completeEnd) (their handles).
    size_t completeBegin = 0, completeEnd = 0;
    /// all_reduce_sum: its ticket while in flight, kNoTicket otherwise.
    CommTicket ticket = kNoTicket;
  };
  static constexpr CommTicket kNoTicket = -1;
  /// The bytes an entry reads or writes: [begin, end).
  struct Range {
    const std::byte *begin, *end;
  };

  /// A kGathered operand spans one copy per replica.
  int64_t span(const EntryOperand &operand) const {
    return operand.buffer->region == artifact::BufferRegion::kGathered
               ? replicas * operand.buffer->bytes
               : operand.buffer->bytes;
  }

  void recordRanges(const std::vector<EntryOperand> &operands) {
    std::vector<Range> ranges;
    for (const EntryOperand &operand : operands) {
      const auto *begin = static_cast<const std::byte *>(operand.data);
      ranges.push_back({begin, begin + span(operand)});
    }
    entryRanges.push_back(std::move(ranges));
  }

  Status prepareCollective(const artifact::ScheduleEntry &entry,
                           const std::vector<EntryOperand> &operands,
                           Prepared &prepared) {
    std::optional<CollectiveKind> kind = parseCollectiveKind(entry.name);
    if (!kind)
      return invalidArgument("unknown collective '" + entry.name + "'");
    prepared.collective = *kind;
    size_t inputs = static_cast<size_t>(entry.numInputs);
    if (static_cast<size_t>(entry.numOutputs) != inputs ||
        entry.numScratch() != 0)
      return invalidArgument(
          "expects as many outputs as inputs and no scratch, got " +
          std::to_string(inputs) + " inputs and " +
          std::to_string(entry.numOutputs) + " outputs");
    if (*kind != CollectiveKind::kAllReduceSum) {
      // all_gather x -> g, local_slice g -> x: one buffer each way.
      if (inputs != 1)
        return invalidArgument(std::string(collectiveKindName(*kind)) +
                               " takes one input and one output");
      int64_t blocks = 1;
      if (auto it = entry.attrs.find(collective_attr::kBlocks);
          it != entry.attrs.end()) {
        const int64_t *value = std::get_if<int64_t>(&it->second);
        if (!value || *value < 1)
          return invalidArgument("attribute 'blocks' must be a positive integer");
        blocks = *value;
      }
      bool gather = *kind == CollectiveKind::kAllGather;
      const EntryOperand &x = gather ? operands[0] : operands[1];
      const EntryOperand &g = gather ? operands[1] : operands[0];
      if (span(g) != replicas * x.buffer->bytes || x.buffer->bytes % blocks)
        return invalidArgument(
            "'" + g.buffer->name + "' (" + std::to_string(span(g)) +
            " bytes) is not " + std::to_string(replicas) + " copies of '" +
            x.buffer->name + "' (" + std::to_string(x.buffer->bytes) +
            " bytes) in " + std::to_string(blocks) + " equal blocks");
      prepared.sliceBytes = x.buffer->bytes;
      prepared.blocks = blocks;
      prepared.local = x.data;
      prepared.gathered = g.data;
      if (communicator && gather)
        SIMCLR_RETURN_IF_ERROR(communicator->reserve(x.buffer->bytes));
      return Status::ok();
    }
    prepared.copyBegin = copies.size();
    prepared.reduceBegin = reduceBuffers.size();
    int64_t bytes = 0;
    for (size_t k = 0; k < inputs; ++k) {
      const EntryOperand &from = operands[k];
      const EntryOperand &to = operands[inputs + k];
      if (from.buffer->bytes != to.buffer->bytes)
        return invalidArgument(
            "input '" + from.buffer->name + "' has " +
            std::to_string(from.buffer->bytes) + " bytes, output '" +
            to.buffer->name + "' " + std::to_string(to.buffer->bytes));
      if (from.data != to.data)
        copies.push_back(
            {from.data, to.data, static_cast<size_t>(from.buffer->bytes)});
      if (communicator) {
        DType dtype = to.buffer->dtype;
        if (dtype != DType::kF32 && dtype != DType::kF64)
          return invalidArgument("all_reduce_sum of '" + to.buffer->name +
                                 "' (" + dtypeName(dtype) +
                                 "): only f32 and f64 are summed");
        reduceBuffers.push_back(
            {to.data,
             to.buffer->bytes / static_cast<int64_t>(dtypeByteSize(dtype)),
             dtype});
        bytes = std::max(bytes, to.buffer->bytes);
      }
    }
    prepared.copyEnd = copies.size();
    prepared.reduceEnd = reduceBuffers.size();
    if (communicator)
      SIMCLR_RETURN_IF_ERROR(communicator->reserve(bytes));
    return Status::ok();
  }

  /// For every all_reduce_sum, the first later entry whose operands
  /// overlap its buffers (bytes, not buffer ids: the arena reuses memory)
  /// completes it; none: synchronize() does. Entries of a later program
  /// may be chosen too, which is harmless (completeReduce of a finished
  /// operation does nothing).
  void findCompletionPoints() {
    std::vector<std::vector<size_t>> waiters(entries.size());
    for (size_t r = 0; r < entries.size(); ++r) {
      if (entries[r].kind != EntryKind::kCollective ||
          entries[r].collective != CollectiveKind::kAllReduceSum ||
          !communicator)
        continue;
      const std::vector<Range> &mine = entryRanges[r];
      for (size_t later = r + 1; later < entries.size(); ++later) {
        bool touches = false;
        for (const Range &a : mine)
          for (const Range &b : entryRanges[later])
            touches |= a.begin < b.end && b.begin < a.end;
        if (touches) {
          waiters[later].push_back(r);
          break;
        }
      }
    }
    completions.clear();
    for (size_t e = 0; e < entries.size(); ++e) {
      entries[e].completeBegin = completions.size();
      completions.insert(completions.end(), waiters[e].begin(), waiters[e].end());
      entries[e].completeEnd = completions.size();
    }
    entryRanges.clear();
  }

  Status completeReduce(size_t handle) {
    Prepared &e = entries[handle];
    if (e.ticket == kNoTicket)
      return Status::ok();
    CommTicket ticket = e.ticket;
    e.ticket = kNoTicket;
    return communicator->wait(ticket);
  }

  Status runCollective(size_t handle, const Prepared &e) {
    for (size_t c = e.copyBegin; c < e.copyEnd; ++c)
      std::memmove(copies[c].to, copies[c].from, copies[c].bytes);
    switch (e.collective) {
    case CollectiveKind::kAllReduceSum: {
      if (!communicator || e.reduceBegin == e.reduceEnd)
        return Status::ok();
      Expected<CommTicket> ticket = communicator->startAllReduceSum(
          reduceBuffers.data() + e.reduceBegin, e.reduceEnd - e.reduceBegin);
      if (!ticket)
        return ticket.takeStatus();
      entries[handle].ticket = *ticket;
      return Status::ok();
    }
    case CollectiveKind::kAllGather:
      if (communicator)
        return communicator->allGather(e.local, e.gathered, e.sliceBytes,
                                       e.blocks);
      if (e.local != e.gathered)
        std::memmove(e.gathered, e.local, static_cast<size_t>(e.sliceBytes));
      return Status::ok();
    case CollectiveKind::kLocalSlice:
      localSlice(e.gathered, e.local, e.sliceBytes, e.blocks, rank, replicas);
      return Status::ok();
    }
    return Status::ok();
  }
  struct Copy {
    const void *from;
    void *to;
    size_t bytes;
  };

  const CpuKernelLibrary &library;
  int threads;
  std::vector<std::unique_ptr<std::byte, FreeDeleter>> blocks;
  std::vector<Prepared> entries;
  std::vector<void *> kernelOperands;
  std::vector<Copy> copies;
  std::vector<ReduceBuffer> reduceBuffers;
  /// Per entry, the bytes it touches (prepare to finalize only).
  std::vector<std::vector<Range>> entryRanges;
  /// Entries' completion lists (Prepared::completeBegin).
  std::vector<size_t> completions;
  Communicator *communicator = nullptr;
  int64_t replicas = 1;
  int rank = 0;
  CpuExterns externs;
};

class CpuRuntimeTarget final : public RuntimeTarget {
public:
  TargetKind kind() const override { return TargetKind::kCpu; }
  DeviceKind deviceKind() const override { return DeviceKind::kCpu; }

  Status checkArchitecture(const std::string &planPath,
                           const Plan &plan) const override {
    std::optional<CpuIsaLevel> level =
        parseCpuIsaLevel(plan.library.architecture);
    if (!level)
      return invalidArgument(planPath + ": library architecture '" +
                             plan.library.architecture +
                             "' is not an x86-64 level");
    if (!hostSupportsCpuIsaLevel(*level))
      return unavailable(
          planPath + ": the kernel library was built for " +
          std::string(cpuIsaLevelName(*level)) + " (" +
          std::string(cpuIsaLevelFeatures(*level)) + "), which this CPU (" +
          hostCpuModel() + ", " +
          std::string(cpuIsaLevelName(hostCpuIsaLevel())) +
          ") lacks; recompile the spec here, or with simclrc --arch=" +
          std::string(cpuIsaLevelName(hostCpuIsaLevel())));
    return Status::ok();
  }

  Expected<std::unique_ptr<KernelLibrary>>
  loadLibrary(const std::string &libraryPath, const Plan &plan) const override {
    auto library = std::make_unique<CpuKernelLibrary>();
    dlerror();
    library->handle = dlopen(libraryPath.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library->handle)
      return unavailable(libraryPath + ": cannot load the kernel library: " +
                         lastDlError());

    auto abiVersion = reinterpret_cast<int64_t (*)()>(
        dlsym(library->handle, artifact::kAbiVersionSymbol));
    auto fingerprint = reinterpret_cast<const char *(*)()>(
        dlsym(library->handle, artifact::kFingerprintSymbol));
    if (!abiVersion || !fingerprint)
      return dataLoss(libraryPath + ": not a simclrc kernel library (no " +
                      (abiVersion ? artifact::kFingerprintSymbol
                                  : artifact::kAbiVersionSymbol) +
                      " symbol)");
    int64_t version = abiVersion();
    if (version != artifact::kPlanFormatVersion)
      return invalidArgument(libraryPath + ": kernel ABI version " +
                             std::to_string(version) +
                             ", this runtime reads version " +
                             std::to_string(artifact::kPlanFormatVersion) +
                             "; recompile the spec with this simclrc");
    const char *libraryFingerprint = fingerprint();
    std::string found = libraryFingerprint ? libraryFingerprint : "";
    if (found != plan.library.fingerprint)
      return dataLoss(libraryPath + ": fingerprint " + found +
                      " does not match plan.json (" +
                      plan.library.fingerprint +
                      "); the library was built from other generated code");
    // Older and hand-written libraries lack the symbol; simclrc's have it.
    if (auto bindings = reinterpret_cast<const char *(*)()>(
            dlsym(library->handle, artifact::kBindingsSymbol))) {
      std::string compiled = bindings() ? bindings() : "";
      std::string planned = artifact::kernelBindingDigest(plan);
      if (compiled != planned)
        return dataLoss(libraryPath + ": plan.json's kernel entries (names and operands, "
                        "digest " + planned + ") are not those the library was compiled "
                        "for (" + compiled + "); kernels were renamed or swapped in the plan");
    }

    for (const artifact::Program &program : plan.programs)
      for (const artifact::ScheduleEntry &entry : program.schedule) {
        if (entry.kind != EntryKind::kKernel ||
            library->kernels.count(entry.name))
          continue;
        auto fn = reinterpret_cast<KernelFunction>(
            dlsym(library->handle, entry.name.c_str()));
        if (!fn)
          return dataLoss(libraryPath + ": missing kernel symbol '" +
                          entry.name + "' (program '" + program.name + "')");
        library->kernels.emplace(entry.name, fn);
      }
    return std::unique_ptr<KernelLibrary>(std::move(library));
  }

  Expected<std::unique_ptr<Backend>>
  createBackend(const KernelLibrary &library, const Plan &,
                const BackendOptions &options) const override {
    int threads = options.threads > 0 ? options.threads : omp_get_num_procs();
    omp_set_num_threads(threads);
    auto backend = std::make_unique<CpuBackend>(
        static_cast<const CpuKernelLibrary &>(library), threads);
    backend->setCommunicator(options.communicator);
    return std::unique_ptr<Backend>(std::move(backend));
  }
};

} // namespace

const RuntimeTarget &cpuRuntimeTarget() {
  static const CpuRuntimeTarget target;
  return target;
}

} // namespace simclr::runtime
