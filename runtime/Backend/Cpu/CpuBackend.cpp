//===- CpuBackend.cpp - Kernel libraries, memory and entries on the CPU ---===//
//
// Loading a CPU kernel library, in order (the first failure is reported):
//   1. dlopen(RTLD_NOW | RTLD_LOCAL) succeeds;
//   2. the library's ABI version equals kPlanFormatVersion, its
//      fingerprint equals the plan's, and the kernel bindings it was
//      compiled for (kernelBindingDigest) are the plan's;
//   3. every kernel entry's symbol resolves.
// The architecture check comes first of all (Artifact::load): a library
// for an instruction set this CPU lacks is never opened.
//
//===----------------------------------------------------------------------===//
#include "CpuBackend.h"

#include "CpuExterns.h"

#include "simclr/Support/CpuIsa.h"

#include <dlfcn.h>
#include <omp.h>

#include <cstdlib>
#include <cstring>
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
    case EntryKind::kCollective: {
      // One replica: each output is its input (inputs and outputs pair up).
      size_t inputs = static_cast<size_t>(entry.numInputs);
      if (static_cast<size_t>(entry.numOutputs) != inputs ||
          entry.numScratch() != 0)
        return invalidArgument(
            "expects as many outputs as inputs and no scratch, got " +
            std::to_string(inputs) + " inputs and " +
            std::to_string(entry.numOutputs) + " outputs");
      prepared.copyBegin = copies.size();
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
      }
      prepared.copyEnd = copies.size();
      break;
    }
    }
    entries.push_back(prepared);
    return entries.size() - 1;
  }

  Status finalize() override { return externs.finalize(); }

  void beginRun() override {
    // Per calling thread in OpenMP, so set on every run: the driving thread
    // need not be the one that created the executor.
    omp_set_num_threads(threads);
  }

  Status run(size_t handle) override {
    const Prepared &e = entries[handle];
    switch (e.kind) {
    case EntryKind::kKernel:
      e.kernel(kernelOperands.data() + e.operandBegin);
      return Status::ok();
    case EntryKind::kExtern:
      return externs.run(e.externHandle);
    case EntryKind::kCollective:
      for (size_t c = e.copyBegin; c < e.copyEnd; ++c)
        std::memmove(copies[c].to, copies[c].from, copies[c].bytes);
      return Status::ok();
    }
    return Status::ok();
  }

  Status synchronize() override { return Status::ok(); }

private:
  /// One schedule entry, resolved.
  struct Prepared {
    EntryKind kind = EntryKind::kKernel;
    KernelFunction kernel = nullptr;
    /// Kernel: its operand table starts at kernelOperands[operandBegin].
    size_t operandBegin = 0;
    size_t externHandle = 0;
    /// Collective: copies [copyBegin, copyEnd).
    size_t copyBegin = 0, copyEnd = 0;
  };
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
    return std::unique_ptr<Backend>(std::make_unique<CpuBackend>(
        static_cast<const CpuKernelLibrary &>(library), threads));
  }
};

} // namespace

const RuntimeTarget &cpuRuntimeTarget() {
  static const CpuRuntimeTarget target;
  return target;
}

} // namespace simclr::runtime
