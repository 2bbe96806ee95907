//===- CudaBackend.cpp - Kernel modules, device memory and entries on a GPU ===//
//
// Loading a CUDA artifact, in order (the first failure is reported):
//   1. checkArchitecture: library.architecture is sm_XY, and the driver
//      opens and sees a device (else the one line "CUDA unavailable: ...");
//   2. loadLibrary (host only): the cubin is read, every kernel entry's
//      launches parse (CudaLaunch.h);
//   3. createBackend: the device opens, its compute capability runs the
//      cubin (same major version, minor at least the cubin's), the module
//      loads, its ABI version equals kPlanFormatVersion, its fingerprint
//      the plan's and its kernel bindings (where it has them)
//      kernelBindingDigest(plan), every launch's function resolves.
// Then the Executor has it allocate the blocks and prepare every entry;
// finalize() uploads the operand tables and allocates the one workspace
// every library call shares (they all run on one stream, one at a time).
//
// Running: run() only records the entry; synchronize() submits the
// recorded sequence. A sequence seen for the first time is enqueued
// eagerly (libraries finish their lazy set-up outside any capture); the
// second time it is captured (cuStreamBeginCapture) into a graph, which is
// instantiated and launched; from then on the graph is replayed. Operand
// addresses never change, so a replay computes what an eager run would.
// SIMCLR_CUDA_GRAPHS=0 runs every sequence eagerly.
//
//===----------------------------------------------------------------------===//
#include "Cuda/CudaBackend.h"

#include "Cuda/CudaConvolution.h"
#include "Cuda/CudaDevice.h"
#include "Cuda/CudaExternProblems.h"
#include "Cuda/CudaLaunch.h"
#include "Cuda/CudaLibraries.h"
#include "Cuda/CudaMatmul.h"
#include "Cuda/CudaNccl.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <unordered_map>

namespace simclr::runtime {
namespace {

using artifact::EntryKind;
using artifact::Plan;
using artifact::ScheduleEntry;
using namespace cuda;

/// Dynamic shared memory a kernel gets without opting in (CUDA C
/// Programming Guide): beyond it, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_
/// SIZE_BYTES must be raised first.
constexpr unsigned kDefaultSharedBytes = 48 * 1024;
/// cuMemAlloc's own alignment: blocks asking for more are over-allocated.
constexpr int64_t kAllocationAlignment = 256;
/// ELF's magic number, which every cubin starts with.
constexpr char kElfMagic[] = "\x7f"
                             "ELF";

class CudaKernelLibrary final : public KernelLibrary {
public:
  std::string path;
  std::vector<char> cubin;
  /// The cubin's architecture, major * 10 + minor.
  int architecture = 0;
  std::map<const ScheduleEntry *, std::vector<KernelLaunch>> launches;
};

Expected<std::vector<char>> readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return ioError(path + ": cannot open the kernel library");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
  if (in.bad())
    return ioError(path + ": cannot read the kernel library");
  return bytes;
}

std::string quoted(const std::string &text) { return "'" + text + "'"; }

std::string describe(const ScheduleEntry &entry) {
  const char *kind = entry.kind == EntryKind::kKernel   ? "kernel"
                     : entry.kind == EntryKind::kExtern ? "extern"
                                                        : "collective";
  return std::string(kind) + " " + quoted(entry.name);
}

class CudaBackend final : public Backend {
public:
  CudaBackend(const CudaKernelLibrary &library, const Plan &plan,
              std::unique_ptr<CudaDevice> device)
      : library_(library), plan_(plan), device_(std::move(device)),
        driver_(device_->driver()) {
    const char *graphs = std::getenv("SIMCLR_CUDA_GRAPHS");
    useGraphs_ = !(graphs && std::string(graphs) == "0");
  }

  ~CudaBackend() override {
    // Everything enqueued finishes before the handles and memory go.
    static_cast<void>(device_->makeCurrent());
    driver_.cuStreamSynchronize(device_->stream());
    for (auto &[sequence, graph] : graphs_)
      if (graph.exec)
        driver_.cuGraphExecDestroy(graph.exec);
    if (copyDone_)
      driver_.cuEventDestroy(copyDone_);
    convolutions_.clear();
    matmuls_.clear();
    if (cudnnHandle_)
      cudnn_->cudnnDestroy(cudnnHandle_);
    if (cublasLtHandle_)
      cublasLt_->cublasLtDestroy(cublasLtHandle_);
  }

  Status open() {
    SIMCLR_RETURN_IF_ERROR(device_->loadModule(library_.cubin, library_.path));
    SIMCLR_RETURN_IF_ERROR(checkModule());
    SIMCLR_CU_CHECK(driver_,
                    cuEventCreate(&copyDone_, CU_EVENT_DISABLE_TIMING));
    bool anyExtern = false;
    for (const artifact::Program &program : plan_.programs)
      for (const ScheduleEntry &entry : program.schedule)
        anyExtern |= entry.kind == EntryKind::kExtern;
    if (!anyExtern)
      return Status::ok();
    // The libraries are needed only by extern entries.
    Expected<const CudnnApi *> cudnn = cudnnLibrary();
    if (!cudnn)
      return cudnn.takeStatus();
    Expected<const CublasLtApi *> cublasLt = cublasLtLibrary();
    if (!cublasLt)
      return cublasLt.takeStatus();
    cudnn_ = *cudnn;
    cublasLt_ = *cublasLt;
    SIMCLR_CUDNN_CHECK(*cudnn_, cudnnCreate(&cudnnHandle_));
    SIMCLR_CUDNN_CHECK(*cudnn_,
                       cudnnSetStream(cudnnHandle_, device_->stream()));
    SIMCLR_CUBLASLT_CHECK(*cublasLt_, cublasLtCreate(&cublasLtHandle_));
    return Status::ok();
  }

  Expected<std::byte *> allocateBlock(int64_t bytes, int64_t alignment,
                                      const char *what) override {
    int64_t extra = std::max<int64_t>(alignment - kAllocationAlignment, 0);
    Expected<CUdeviceptr> block = device_->allocate(
        static_cast<size_t>(std::max<int64_t>(bytes, 1) + extra), what);
    if (!block)
      return block.takeStatus();
    CUdeviceptr aligned = (*block + alignment - 1) / alignment * alignment;
    return reinterpret_cast<std::byte *>(aligned);
  }

  Status copyToDevice(void *device, const void *host, size_t bytes) override {
    SIMCLR_RETURN_IF_ERROR(device_->makeCurrent());
    if (bytes <= static_cast<size_t>(plan_.inputBytes)) {
      // Per-step inputs (views, images, the step) and anything as small:
      // through the pinned staging buffer on the copy stream; the next
      // submission waits for it. The buffer is reused once the previous
      // copy from it has finished.
      if (!staging_) {
        Expected<void *> staging = device_->allocatePinned(
            static_cast<size_t>(plan_.inputBytes), "input staging buffer");
        if (!staging)
          return staging.takeStatus();
        staging_ = *staging;
      }
      // The previous copy from the buffer (recorded by copyDone_) must
      // have read it; waited for on the host whatever the streams did since.
      if (stagingUsed_)
        SIMCLR_CU_CHECK(driver_, cuEventSynchronize(copyDone_));
      std::memcpy(staging_, host, bytes);
      SIMCLR_CU_CHECK(driver_, cuMemcpyHtoDAsync(address(device), staging_,
                                                 bytes, device_->copyStream()));
      SIMCLR_CU_CHECK(driver_, cuEventRecord(copyDone_, device_->copyStream()));
      copyPending_ = true;
      stagingUsed_ = true;
      return Status::ok();
    }
    // Larger (state loading): synchronous, after anything still running.
    SIMCLR_CU_CHECK(driver_, cuStreamSynchronize(device_->stream()));
    SIMCLR_CU_CHECK(driver_, cuMemcpyHtoD(address(device), host, bytes));
    return Status::ok();
  }

  Status copyToHost(void *host, const void *device, size_t bytes) override {
    SIMCLR_RETURN_IF_ERROR(device_->makeCurrent());
    SIMCLR_RETURN_IF_ERROR(waitForInputCopies());
    SIMCLR_CU_CHECK(driver_, cuMemcpyDtoHAsync(host, address(device), bytes,
                                               device_->stream()));
    SIMCLR_CU_CHECK(driver_, cuStreamSynchronize(device_->stream()));
    return Status::ok();
  }

  Expected<size_t> prepare(const ScheduleEntry &entry,
                           const std::vector<EntryOperand> &operands) override {
    Prepared prepared;
    prepared.kind = entry.kind;
    prepared.description = describe(entry);
    switch (entry.kind) {
    case EntryKind::kKernel:
      SIMCLR_RETURN_IF_ERROR(prepareKernel(entry, operands, prepared));
      break;
    case EntryKind::kExtern:
      SIMCLR_RETURN_IF_ERROR(prepareExtern(entry, operands, prepared));
      break;
    case EntryKind::kCollective:
      SIMCLR_RETURN_IF_ERROR(prepareCollective(entry, operands, prepared));
      break;
    }
    entries_.push_back(std::move(prepared));
    return entries_.size() - 1;
  }

  Status finalize() override {
    SIMCLR_RETURN_IF_ERROR(device_->makeCurrent());
    if (tables_.bytes() > 0) {
      Expected<CUdeviceptr> tables =
          device_->allocate(tables_.bytes(), "kernels' operand tables");
      if (!tables)
        return tables.takeStatus();
      SIMCLR_CU_CHECK(driver_, cuMemcpyHtoD(*tables, tables_.image().data(),
                                            tables_.bytes()));
      for (Prepared &e : entries_)
        if (e.kind == EntryKind::kKernel)
          e.table = *tables + e.tableOffset;
    }
    size_t workspaceBytes = 0;
    for (const auto &conv : convolutions_)
      workspaceBytes = std::max(workspaceBytes, conv->workspaceBytes());
    for (const auto &matmul : matmuls_)
      workspaceBytes = std::max(workspaceBytes, matmul->workspaceBytes());
    Expected<CUdeviceptr> workspace =
        device_->allocate(workspaceBytes, "library workspace");
    if (!workspace)
      return workspace.takeStatus();
    workspace_ = reinterpret_cast<void *>(*workspace);
    for (Prepared &e : entries_)
      if (e.conv) {
        Status status = e.conv->bind(e.operands, workspace_);
        if (!status)
          return status.withContext(e.description);
      }
    // Room for the longest sequence, so recording never allocates.
    pending_.reserve(entries_.size());
    return Status::ok();
  }

  void beginRun() override {
    // Per calling thread in CUDA; an error shows again at synchronize().
    static_cast<void>(device_->makeCurrent());
    pending_.clear();
  }

  Status run(size_t handle) override {
    pending_.push_back(handle);
    return Status::ok();
  }

  Status synchronize() override {
    SIMCLR_RETURN_IF_ERROR(device_->makeCurrent());
    CUstream stream = device_->stream();
    if (!pending_.empty()) {
      SIMCLR_RETURN_IF_ERROR(waitForInputCopies());
      Status status = submit(stream);
      pending_.clear();
      SIMCLR_RETURN_IF_ERROR(status);
    }
    SIMCLR_CU_CHECK(driver_, cuStreamSynchronize(stream));
    return Status::ok();
  }

private:
  /// One schedule entry, resolved.
  struct Prepared {
    EntryKind kind = EntryKind::kKernel;
    /// "kernel 'bn_stats_7'", for messages.
    std::string description;
    /// Kernel: its launches and functions, its operand table's offset in
    /// the tables image and then its device address.
    const std::vector<KernelLaunch> *launches = nullptr;
    std::vector<CUfunction> functions;
    size_t tableOffset = 0;
    CUdeviceptr table = 0;
    /// Extern: one of these, on `operands`.
    CudnnConvolution *conv = nullptr;
    LtMatmul *matmul = nullptr;
    std::vector<void *> operands;
    /// Collective: (from, to, bytes) copies.
    struct Copy {
      CUdeviceptr from, to;
      size_t bytes;
    };
    std::vector<Copy> copies;
    CollectiveKind collective = CollectiveKind::kAllReduceSum;
    /// all_reduce_sum with NCCL: in place, after the copies.
    struct Reduce {
      CUdeviceptr data;
      int64_t elements;
      DType dtype;
    };
    std::vector<Reduce> reduces;
    /// all_gather with NCCL.
    struct Gather {
      CUdeviceptr input = 0, output = 0;
      int64_t bytes = 0, blocks = 1;
    } gather;
  };
  /// A sequence of entries run between beginRun and synchronize.
  struct Graph {
    int submissions = 0;
    CUgraphExec exec = nullptr;
  };

  static CUdeviceptr address(const void *pointer) {
    return reinterpret_cast<CUdeviceptr>(pointer);
  }

  Status waitForInputCopies() {
    if (copyPending_) {
      SIMCLR_CU_CHECK(driver_,
                      cuStreamWaitEvent(device_->stream(), copyDone_, 0));
      copyPending_ = false;
    }
    return Status::ok();
  }

  /// The NUL-terminated text of the module's `__device__ const char`
  /// global `symbol`; nothing when the module has no such global.
  Expected<std::optional<std::string>> readString(const char *symbol) {
    CUdeviceptr global = 0;
    size_t bytes = 0;
    if (driver_.cuModuleGetGlobal(&global, &bytes, device_->module(), symbol) !=
        CUDA_SUCCESS)
      return std::optional<std::string>();
    std::vector<char> text(bytes + 1, '\0');
    SIMCLR_CU_CHECK(driver_, cuMemcpyDtoHAsync(text.data(), global, bytes,
                                               device_->stream()));
    SIMCLR_CU_CHECK(driver_, cuStreamSynchronize(device_->stream()));
    return std::optional<std::string>(text.data());
  }

  /// The module's ABI version, fingerprint and kernel bindings, as the CPU
  /// library's.
  Status checkModule() {
    const std::string &path = library_.path;
    CUdeviceptr global = 0;
    size_t bytes = 0;
    CUresult result = driver_.cuModuleGetGlobal(
        &global, &bytes, device_->module(), artifact::kAbiVersionSymbol);
    if (result != CUDA_SUCCESS || bytes != sizeof(long long))
      return dataLoss(path + ": not a simclrc kernel library (no " +
                      artifact::kAbiVersionSymbol + " of 8 bytes)");
    long long version = 0;
    SIMCLR_CU_CHECK(
        driver_, cuMemcpyDtoHAsync(&version, global, bytes, device_->stream()));
    SIMCLR_CU_CHECK(driver_, cuStreamSynchronize(device_->stream()));
    if (version != artifact::kPlanFormatVersion)
      return invalidArgument(path + ": kernel ABI version " +
                             std::to_string(version) +
                             ", this runtime reads version " +
                             std::to_string(artifact::kPlanFormatVersion) +
                             "; recompile the spec with this simclrc");
    Expected<std::optional<std::string>> fingerprint =
        readString(artifact::kFingerprintSymbol);
    if (!fingerprint)
      return fingerprint.takeStatus();
    if (!*fingerprint)
      return dataLoss(path + ": not a simclrc kernel library (no " +
                      artifact::kFingerprintSymbol + ")");
    if (**fingerprint != plan_.library.fingerprint)
      return dataLoss(path + ": fingerprint " + **fingerprint +
                      " does not match plan.json (" +
                      plan_.library.fingerprint +
                      "); the library was built from other generated code");
    // As the CPU library's: absent from hand-written libraries.
    Expected<std::optional<std::string>> bindings =
        readString(artifact::kBindingsSymbol);
    if (!bindings)
      return bindings.takeStatus();
    if (*bindings) {
      std::string planned = artifact::kernelBindingDigest(plan_);
      if (**bindings != planned)
        return dataLoss(path +
                        ": plan.json's kernel entries (names and "
                        "operands, digest " +
                        planned +
                        ") are not those the "
                        "library was compiled for (" +
                        **bindings +
                        "); kernels were renamed or swapped in the plan");
    }
    // Every launch's function, once per name.
    for (const auto &[entry, launches] : library_.launches)
      for (const KernelLaunch &launch : launches) {
        if (functions_.count(launch.function))
          continue;
        CUfunction function = nullptr;
        if (driver_.cuModuleGetFunction(&function, device_->module(),
                                        launch.function.c_str()) !=
            CUDA_SUCCESS)
          return dataLoss(path + ": missing kernel function " +
                          quoted(launch.function) + " (entry " +
                          quoted(entry->name) + ")");
        functions_.emplace(launch.function, function);
      }
    return Status::ok();
  }

  Status prepareKernel(const ScheduleEntry &entry,
                       const std::vector<EntryOperand> &operands,
                       Prepared &prepared) {
    auto it = library_.launches.find(&entry);
    if (it == library_.launches.end())
      return invalidArgument("not an entry of the loaded plan");
    prepared.launches = &it->second;
    for (const KernelLaunch &launch : it->second) {
      CUfunction function = functions_.at(launch.function);
      if (launch.sharedBytes > device_->maxSharedBytesPerBlock())
        return invalidArgument(
            "launch of " + quoted(launch.function) + " asks for " +
            std::to_string(launch.sharedBytes) + " bytes of shared memory, " +
            device_->description() + " has " +
            std::to_string(device_->maxSharedBytesPerBlock()));
      if (launch.sharedBytes > kDefaultSharedBytes)
        SIMCLR_CU_CHECK(
            driver_,
            cuFuncSetAttribute(function,
                               CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                               static_cast<int>(launch.sharedBytes)));
      prepared.functions.push_back(function);
    }
    std::vector<const void *> addresses;
    for (const EntryOperand &operand : operands)
      addresses.push_back(operand.data);
    Expected<size_t> offset = tables_.add(addresses);
    if (!offset)
      return offset.takeStatus();
    prepared.tableOffset = *offset;
    return Status::ok();
  }

  Status prepareExtern(const ScheduleEntry &entry,
                       const std::vector<EntryOperand> &operands,
                       Prepared &prepared) {
    if (entry.numScratch() > 1)
      return invalidArgument("expects at most one workspace, got " +
                             std::to_string(entry.numScratch()));
    // The library calls share the backend's workspace (sized at finalize:
    // cuDNN's and cuBLASLt's needs are only known on the device), so a
    // planned workspace operand is not used.
    std::vector<const artifact::Buffer *> buffers;
    for (size_t i = 0;
         i < operands.size() && i < kExternInputs + kExternOutputs; ++i) {
      buffers.push_back(operands[i].buffer);
      prepared.operands.push_back(operands[i].data);
    }
    std::optional<ExternRoutine> routine = parseExternRoutine(entry.name);
    if (!routine)
      return invalidArgument("unknown extern (the CUDA table has " +
                             externRoutineList() + ")");
    if (*routine == ExternRoutine::kMatmul) {
      Expected<MatmulProblem> problem = parseMatmulProblem(entry, buffers);
      if (!problem)
        return problem.takeStatus();
      Expected<std::unique_ptr<LtMatmul>> matmul =
          LtMatmul::plan(*cublasLt_, cublasLtHandle_, *problem);
      if (!matmul)
        return matmul.takeStatus();
      prepared.matmul = matmul->get();
      matmuls_.push_back(std::move(*matmul));
      return Status::ok();
    }
    Expected<ConvProblem> problem = parseConvProblem(entry, buffers);
    if (!problem)
      return problem.takeStatus();
    Expected<std::unique_ptr<CudnnConvolution>> conv = CudnnConvolution::plan(
        *cudnn_, cudnnHandle_, *cublasLt_, cublasLtHandle_, *problem);
    if (!conv)
      return conv.takeStatus();
    prepared.conv = conv->get();
    convolutions_.push_back(std::move(*conv));
    return Status::ok();
  }

  Status prepareCollective(const ScheduleEntry &entry,
                           const std::vector<EntryOperand> &operands,
                           Prepared &prepared) {
    // Inputs and outputs pair up; each pair has the same per-replica bytes.
    size_t inputs = static_cast<size_t>(entry.numInputs);
    if (static_cast<size_t>(entry.numOutputs) != inputs ||
        entry.numScratch() != 0)
      return invalidArgument(
          "expects as many outputs as inputs and no scratch, got " +
          std::to_string(inputs) + " inputs and " +
          std::to_string(entry.numOutputs) + " outputs");
    std::optional<CollectiveKind> kind = parseCollectiveKind(entry.name);
    if (!kind)
      return invalidArgument("unknown collective '" + entry.name + "'");
    prepared.collective = *kind;
    int64_t blocks = 1;
    if (auto it = entry.attrs.find(collective_attr::kBlocks);
        it != entry.attrs.end()) {
      const int64_t *value = std::get_if<int64_t>(&it->second);
      if (!value || *value < 1)
        return invalidArgument("attribute 'blocks' must be a positive integer");
      blocks = *value;
    }
    if (*kind != CollectiveKind::kAllReduceSum && inputs != 1)
      return invalidArgument(std::string(collectiveKindName(*kind)) +
                             " takes one input and one output");
    for (size_t k = 0; k < inputs; ++k) {
      const EntryOperand &from = operands[k];
      const EntryOperand &to = operands[inputs + k];
      if (from.buffer->bytes != to.buffer->bytes)
        return invalidArgument("input '" + from.buffer->name + "' has " +
                               std::to_string(from.buffer->bytes) +
                               " bytes, output '" + to.buffer->name + "' " +
                               std::to_string(to.buffer->bytes));
      int64_t bytes = from.buffer->bytes;
      if (bytes % blocks)
        return invalidArgument("'" + from.buffer->name + "' (" +
                               std::to_string(bytes) + " bytes) is not " +
                               std::to_string(blocks) + " equal blocks");
      switch (*kind) {
      case CollectiveKind::kAllReduceSum:
        if (from.data != to.data)
          prepared.copies.push_back({address(from.data), address(to.data),
                                     static_cast<size_t>(bytes)});
        if (nccl_) {
          DType dtype = to.buffer->dtype;
          if (dtype != DType::kF32 && dtype != DType::kF64)
            return invalidArgument("all_reduce_sum of '" + to.buffer->name +
                                   "': only f32 and f64 are summed");
          prepared.reduces.push_back(
              {address(to.data),
               bytes / static_cast<int64_t>(dtypeByteSize(dtype)), dtype});
        }
        break;
      case CollectiveKind::kAllGather:
        if (nccl_)
          prepared.gather = {address(from.data), address(to.data), bytes,
                             blocks};
        else if (from.data != to.data)
          prepared.copies.push_back({address(from.data), address(to.data),
                                     static_cast<size_t>(bytes)});
        break;
      case CollectiveKind::kLocalSlice: {
        // This replica's blocks of the gathered input (no communication).
        int64_t blockBytes = bytes / blocks;
        for (int64_t b = 0; b < blocks; ++b)
          prepared.copies.push_back(
              {address(from.data) + (b * replicas_ + rank_) * blockBytes,
               address(to.data) + b * blockBytes,
               static_cast<size_t>(blockBytes)});
        break;
      }
      }
    }
    return Status::ok();
  }

public:
  /// Runs on the GPUs of the replicas (CudaNccl.h); null: one replica.
  Status attachCommunicator(Communicator *communicator) {
    if (!communicator || communicator->size() == 1)
      return Status::ok();
    Expected<const NcclApi *> nccl = ncclLibrary();
    if (!nccl)
      return nccl.takeStatus();
    SIMCLR_RETURN_IF_ERROR(device_->makeCurrent());
    Expected<std::unique_ptr<NcclCommunicator>> created =
        NcclCommunicator::create(**nccl, *communicator);
    if (!created)
      return created.takeStatus();
    nccl_ = std::move(*created);
    replicas_ = communicator->size();
    rank_ = communicator->rank();
    return Status::ok();
  }

private:
  /// Enqueues entry `handle` on `stream`; errors name the entry.
  Status enqueue(size_t handle, CUstream stream) {
    const Prepared &e = entries_[handle];
    Status status;
    switch (e.kind) {
    case EntryKind::kKernel:
      for (size_t k = 0; k < e.functions.size() && status; ++k) {
        const KernelLaunch &launch = (*e.launches)[k];
        CUdeviceptr table = e.table;
        void *parameters[] = {&table};
        CUresult result = driver_.cuLaunchKernel(
            e.functions[k], launch.grid[0], launch.grid[1], launch.grid[2],
            launch.block[0], launch.block[1], launch.block[2],
            launch.sharedBytes, stream, parameters, nullptr);
        if (result != CUDA_SUCCESS)
          status = driverError(driver_, result, "cuLaunchKernel")
                       .withContext("launch " + std::to_string(k) + " (" +
                                    quoted(launch.function) + ")");
      }
      break;
    case EntryKind::kExtern:
      status = e.conv ? e.conv->run(stream)
                      : e.matmul->run(stream, e.operands[0], e.operands[1],
                                      e.operands[2], workspace_);
      break;
    case EntryKind::kCollective:
      if (nccl_ && !e.reduces.empty()) {
        // In stream order: later entries see the sums (ArtifactPlan.h's
        // completion point holds without waiting on the host).
        status = nccl_->groupStart();
        for (const Prepared::Reduce &r : e.reduces)
          if (status)
            status = nccl_->allReduceSum(r.data, r.elements, r.dtype, stream);
        if (status)
          status = nccl_->groupEnd();
      }
      if (nccl_ && e.gather.bytes > 0 && status)
        status = nccl_->allGather(e.gather.input, e.gather.output,
                                  e.gather.bytes, e.gather.blocks, stream);
      for (const Prepared::Copy &copy : e.copies) {
        CUresult result =
            driver_.cuMemcpyDtoDAsync(copy.to, copy.from, copy.bytes, stream);
        if (result != CUDA_SUCCESS) {
          status = driverError(driver_, result, "cuMemcpyDtoDAsync");
          break;
        }
      }
      break;
    }
    return status ? status : status.withContext(e.description);
  }

  Status enqueuePending(CUstream stream) {
    for (size_t handle : pending_)
      SIMCLR_RETURN_IF_ERROR(enqueue(handle, stream));
    return Status::ok();
  }

  /// The file comment's eager / capture / replay steps for pending_.
  Status submit(CUstream stream) {
    if (!useGraphs_)
      return enqueuePending(stream);
    auto it = graphs_.find(pending_);
    if (it == graphs_.end())
      it = graphs_.emplace(pending_, Graph()).first;
    Graph &graph = it->second;
    if (graph.exec) {
      SIMCLR_CU_CHECK(driver_, cuGraphLaunch(graph.exec, stream));
      return Status::ok();
    }
    if (graph.submissions++ == 0)
      return enqueuePending(stream);
    SIMCLR_CU_CHECK(driver_, cuStreamBeginCapture(
                                 stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
    Status enqueued = enqueuePending(stream);
    CUgraph captured = nullptr;
    CUresult ended = driver_.cuStreamEndCapture(stream, &captured);
    if (!enqueued) {
      if (captured)
        driver_.cuGraphDestroy(captured);
      return enqueued.withContext("while capturing a CUDA graph");
    }
    if (ended != CUDA_SUCCESS)
      return driverError(driver_, ended, "cuStreamEndCapture");
    CUresult instantiated =
        driver_.cuGraphInstantiate(&graph.exec, captured, 0);
    driver_.cuGraphDestroy(captured);
    if (instantiated != CUDA_SUCCESS) {
      graph.exec = nullptr;
      return driverError(driver_, instantiated, "cuGraphInstantiate");
    }
    SIMCLR_CU_CHECK(driver_, cuGraphLaunch(graph.exec, stream));
    return Status::ok();
  }

  const CudaKernelLibrary &library_;
  const Plan &plan_;
  std::unique_ptr<CudaDevice> device_;
  const DriverApi &driver_;
  bool useGraphs_ = true;
  std::unordered_map<std::string, CUfunction> functions_;
  const CudnnApi *cudnn_ = nullptr;
  const CublasLtApi *cublasLt_ = nullptr;
  cudnnHandle_t cudnnHandle_ = nullptr;
  cublasLtHandle_t cublasLtHandle_ = nullptr;
  std::vector<std::unique_ptr<CudnnConvolution>> convolutions_;
  std::vector<std::unique_ptr<LtMatmul>> matmuls_;
  std::vector<Prepared> entries_;
  OperandTables tables_;
  void *workspace_ = nullptr;
  void *staging_ = nullptr;
  /// Recorded on the copy stream after each copy from staging_.
  CUevent copyDone_ = nullptr;
  /// A copy the compute stream has not yet been made to wait for.
  bool copyPending_ = false;
  /// Whether copyDone_ has been recorded at all.
  bool stagingUsed_ = false;
  std::vector<size_t> pending_;
  /// The replicas' NCCL communicator (attachCommunicator); null: one.
  std::unique_ptr<NcclCommunicator> nccl_;
  int64_t replicas_ = 1;
  int rank_ = 0;
  std::map<std::vector<size_t>, Graph> graphs_;
};

class CudaRuntimeTarget final : public RuntimeTarget {
public:
  TargetKind kind() const override { return TargetKind::kCuda; }
  DeviceKind deviceKind() const override { return DeviceKind::kCuda; }

  Status checkArchitecture(const std::string &planPath,
                           const Plan &plan) const override {
    if (!parseCudaArchitecture(plan.library.architecture))
      return invalidArgument(planPath + ": library architecture " +
                             quoted(plan.library.architecture) +
                             " is not a CUDA architecture (sm_XY)");
    Expected<const DriverApi *> driver = cudaDriver();
    if (!driver)
      return driver.takeStatus().withContext(planPath);
    return Status::ok();
  }

  Expected<std::unique_ptr<KernelLibrary>>
  loadLibrary(const std::string &libraryPath, const Plan &plan) const override {
    auto library = std::make_unique<CudaKernelLibrary>();
    library->path = libraryPath;
    library->architecture = *parseCudaArchitecture(plan.library.architecture);
    Expected<std::vector<char>> bytes = readBytes(libraryPath);
    if (!bytes)
      return bytes.takeStatus();
    if (bytes->size() < 4 || std::memcmp(bytes->data(), kElfMagic, 4) != 0)
      return dataLoss(libraryPath + ": not a cubin (no ELF header)");
    library->cubin = std::move(*bytes);
    Expected<std::map<const ScheduleEntry *, std::vector<KernelLaunch>>>
        launches =
            parsePlanLaunches(directoryOf(libraryPath) + "/plan.json", plan);
    if (!launches)
      return launches.takeStatus();
    library->launches = std::move(*launches);
    return std::unique_ptr<KernelLibrary>(std::move(library));
  }

  Expected<std::unique_ptr<Backend>>
  createBackend(const KernelLibrary &kernelLibrary, const Plan &plan,
                const BackendOptions &options) const override {
    const auto &library = static_cast<const CudaKernelLibrary &>(kernelLibrary);
    Expected<const DriverApi *> driver = cudaDriver();
    if (!driver)
      return driver.takeStatus();
    // One GPU per rank: with several replicas, device 0 (the default)
    // means the rank's local rank among this machine's processes.
    int deviceIndex = options.deviceIndex;
    if (options.communicator && options.communicator->size() > 1 &&
        deviceIndex == 0)
      deviceIndex = options.communicator->localRank();
    Expected<std::unique_ptr<CudaDevice>> device =
        CudaDevice::open(**driver, deviceIndex);
    if (!device)
      return device.takeStatus();
    // A cubin runs on its own major version at the same or a later minor.
    int capability = (*device)->computeCapability();
    if (capability / 10 != library.architecture / 10 ||
        capability < library.architecture)
      return unavailable(
          library.path + ": the kernel library is a cubin for sm_" +
          std::to_string(library.architecture) + ", which " +
          (*device)->description() +
          " cannot run; recompile the spec with simclrc --target=cuda "
          "--cuda-arch=sm_" +
          std::to_string(capability));
    auto backend =
        std::make_unique<CudaBackend>(library, plan, std::move(*device));
    SIMCLR_RETURN_IF_ERROR(backend->open());
    SIMCLR_RETURN_IF_ERROR(backend->attachCommunicator(options.communicator));
    return std::unique_ptr<Backend>(std::move(backend));
  }
};

} // namespace

const RuntimeTarget &cudaRuntimeTarget() {
  static const CudaRuntimeTarget target;
  return target;
}

} // namespace simclr::runtime
