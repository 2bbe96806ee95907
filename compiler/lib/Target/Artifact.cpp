//===- Artifact.cpp - Writes a compiled artifact directory ----------------===//
#include "simclr/Target/Artifact.h"

#include "simclr/Dialect/Kernel/IR/KernelOps.h"
#include "simclr/Dialect/Simclr/IR/SimclrDialect.h"
#include "simclr/Support/FileIO.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>

using namespace mlir;
using namespace mlir::simclr_kernel;
namespace artifact = ::simclr::artifact;

namespace {

/// The artifact directory's lock file (FileLock), held while writing it.
constexpr const char *kArtifactLockFileName = ".simclrc.lock";
/// Beside each cached library: its SHA-256 when stored, checked on use.
constexpr const char *kCacheChecksumSuffix = ".sha256";
/// Beside each cached library: the lock its compiler holds (FileLock).
constexpr const char *kCacheLockSuffix = ".lock";

int64_t alignUp(int64_t value, int64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

/// The role under which a program's caller sees an input or output
/// (Vocabulary.h's binding_role): the images argument named "views" is the
/// train step's views.
std::string roleOf(StringRef kind, StringRef name) {
  namespace role = ::simclr::binding_role;
  if (kind == mlir::simclr::kKindImages)
    return name == role::kViews ? role::kViews : role::kImages;
  if (kind == mlir::simclr::kKindLearningRate)
    return role::kLearningRate;
  return kind.str();
}

FailureOr<artifact::AttrValue> attrValueOf(Operation *op, NamedAttribute attr) {
  Attribute value = attr.getValue();
  if (auto boolean = dyn_cast<BoolAttr>(value))
    return artifact::AttrValue(static_cast<int64_t>(boolean.getValue()));
  if (auto integer = dyn_cast<IntegerAttr>(value))
    return artifact::AttrValue(integer.getInt());
  if (auto real = dyn_cast<FloatAttr>(value))
    return artifact::AttrValue(real.getValueAsDouble());
  if (auto string = dyn_cast<StringAttr>(value))
    return artifact::AttrValue(string.getValue().str());
  if (auto array = dyn_cast<DenseI64ArrayAttr>(value))
    return artifact::AttrValue(std::vector<int64_t>(array.asArrayRef()));
  return op->emitOpError() << "attribute '" << attr.getName().getValue()
                           << "' cannot be written into the plan";
}

} // namespace

FailureOr<artifact::AttrMap>
mlir::simclr_kernel::getExternAttributes(ExternOp call) {
  artifact::AttrMap attrs;
  for (NamedAttribute attr : call->getAttrs()) {
    StringRef name = attr.getName().getValue();
    if (name == call.getCalleeAttrName() ||
        name == call.getOperandSegmentSizesAttrName())
      continue;
    FailureOr<artifact::AttrValue> value = attrValueOf(call, attr);
    if (failed(value))
      return failure();
    attrs[name.str()] = *value;
  }
  return attrs;
}

artifact::Buffer mlir::simclr_kernel::describeBuffer(StringRef name,
                                                     MemRefType type) {
  artifact::Buffer buffer;
  buffer.name = name.str();
  buffer.dtype = *getDType(type);
  buffer.layout = getBufferLayout(type);
  buffer.shape.assign(type.getShape().begin(), type.getShape().end());
  buffer.bytes = getBufferBytes(type);
  return buffer;
}

FailureOr<artifact::Plan> mlir::simclr_kernel::buildPlan(ModuleOp module) {
  artifact::Plan plan;
  int64_t nextId = 0;
  std::map<std::string, int64_t> stateByName;
  auto newBuffer = [&](StringRef name, MemRefType type,
                       artifact::BufferRegion region, int64_t offset) {
    artifact::Buffer buffer = describeBuffer(name, type);
    buffer.id = nextId++;
    buffer.region = region;
    buffer.offset = offset;
    plan.buffers.push_back(buffer);
    return buffer.id;
  };

  for (auto function : module.getOps<func::FuncOp>()) {
    artifact::Program program;
    program.name = function.getName().str();
    DenseMap<Value, int64_t> bufferIds;
    for (BlockArgument argument : function.getArguments()) {
      DictionaryAttr attrs = function.getArgAttrDict(argument.getArgNumber());
      StringRef kind = mlir::simclr::getStringAttrOr(attrs, mlir::simclr::kKindAttrName);
      StringRef name = mlir::simclr::getStringAttrOr(attrs, mlir::simclr::kNameAttrName);
      auto type = dyn_cast<MemRefType>(argument.getType());
      if (!type)
        return function.emitError() << "argument #" << argument.getArgNumber()
                                    << " is not a buffer; run "
                                       "simclr-lower-to-kernels first";
      if (mlir::simclr::isStateKind(kind)) {
        auto it = stateByName.find(name.str());
        if (it != stateByName.end()) {
          const artifact::Buffer &existing = plan.buffers[it->second];
          if (existing.shape != std::vector<int64_t>(type.getShape().begin(),
                                                     type.getShape().end()))
            return function.emitError()
                   << "state tensor '" << name
                   << "' has different shapes in two programs";
          bufferIds[argument] = it->second;
          continue;
        }
        int64_t id = newBuffer(name, type, artifact::BufferRegion::kState,
                               plan.stateBytes);
        plan.stateBytes = alignUp(plan.stateBytes + getBufferBytes(type), plan.alignment);
        stateByName[name.str()] = id;
        bufferIds[argument] = id;
        artifact::StateTensor state;
        state.name = name.str();
        state.kind = kind.str();
        state.buffer = id;
        StringRef init = mlir::simclr::getStringAttrOr(attrs, mlir::simclr::kInitAttrName);
        state.init.kind = init.empty() ? "zeros" : init.str();
        if (attrs)
          if (auto fanIn = attrs.getAs<IntegerAttr>(mlir::simclr::kFanInAttrName))
            state.init.fanIn = fanIn.getInt();
        plan.state.push_back(state);
        continue;
      }
      int64_t id = newBuffer(name.empty() ? kind : name, type,
                             artifact::BufferRegion::kInput, plan.inputBytes);
      plan.inputBytes = alignUp(plan.inputBytes + getBufferBytes(type), plan.alignment);
      bufferIds[argument] = id;
      program.inputs.push_back({roleOf(kind, name), id});
    }

    for (Operation &op : function.getBody().front()) {
      if (auto alloc = dyn_cast<AllocOp>(op)) {
        if (!alloc.getOffset())
          return alloc.emitOpError()
                 << "has no offset; run simclr-plan-memory first";
        bufferIds[alloc] = newBuffer(alloc.getName(), alloc.getType(),
                                     alloc->hasAttr(kGatheredAttrName)
                                         ? artifact::BufferRegion::kGathered
                                         : artifact::BufferRegion::kArena,
                                     static_cast<int64_t>(*alloc.getOffset()));
        continue;
      }
      if (auto view = dyn_cast<ViewOp>(op)) {
        const artifact::Buffer &source = plan.buffers[bufferIds[view.getSource()]];
        artifact::BufferRegion region = source.region;
        int64_t offset = source.offset;
        std::string name = source.name + ".view";
        bufferIds[view] = newBuffer(name, view.getType(), region, offset);
        continue;
      }
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        for (auto [index, value] : llvm::enumerate(ret.getOperands())) {
          DictionaryAttr attrs = function.getResultAttrDict(index);
          StringRef kind = mlir::simclr::getStringAttrOr(attrs, mlir::simclr::kKindAttrName);
          program.outputs.push_back(
              {roleOf(kind, mlir::simclr::getStringAttrOr(attrs, mlir::simclr::kNameAttrName)),
               bufferIds[value]});
        }
        continue;
      }
      artifact::ScheduleEntry entry;
      ValueRange inputs, outputs, scratch;
      if (auto launch = dyn_cast<LaunchOp>(op)) {
        entry.kind = artifact::EntryKind::kKernel;
        entry.name = launch.getKernel().str();
        inputs = launch.getInputs();
        outputs = launch.getOutputs();
        scratch = launch.getScratch();
      } else if (auto call = dyn_cast<ExternOp>(op)) {
        entry.kind = artifact::EntryKind::kExtern;
        entry.name = call.getCallee().str();
        inputs = call.getInputs();
        outputs = call.getOutputs();
        scratch = call.getScratch();
        FailureOr<artifact::AttrMap> attrs = getExternAttributes(call);
        if (failed(attrs))
          return failure();
        entry.attrs = std::move(*attrs);
      } else if (auto collective = dyn_cast<CollectiveOp>(op)) {
        entry.kind = artifact::EntryKind::kCollective;
        entry.name = collective.getCollective().str();
        entry.attrs[::simclr::collective_attr::kGroup] =
            collective.getGroup().str();
        if (std::optional<uint64_t> blocks = collective.getBlocks())
          entry.attrs[::simclr::collective_attr::kBlocks] =
              static_cast<int64_t>(*blocks);
        inputs = collective.getInputs();
        outputs = collective.getOutputs();
      } else {
        return op.emitOpError() << "is not part of a kernel-level schedule";
      }
      for (Value value : inputs)
        entry.operands.push_back(bufferIds[value]);
      for (Value value : outputs)
        entry.operands.push_back(bufferIds[value]);
      for (Value value : scratch)
        entry.operands.push_back(bufferIds[value]);
      entry.numInputs = static_cast<int64_t>(inputs.size());
      entry.numOutputs = static_cast<int64_t>(outputs.size());
      program.schedule.push_back(std::move(entry));
    }
    if (auto arena = function->getAttrOfType<IntegerAttr>(kArenaBytesAttrName))
      program.arenaBytes = arena.getInt();
    if (auto sum = function->getAttrOfType<IntegerAttr>(kSumOfIntermediatesAttrName))
      program.sumOfIntermediates = sum.getInt();
    if (auto gathered = function->getAttrOfType<IntegerAttr>(kGatheredBytesAttrName))
      plan.gatheredBytes = std::max(plan.gatheredBytes, gathered.getInt());
    plan.programs.push_back(std::move(program));
  }
  return plan;
}

LogicalResult mlir::simclr_kernel::writeArtifact(ModuleOp module,
                                                 const Target &target,
                                                 const ArtifactOptions &options,
                                                 ArtifactReport &report) {
  FailureOr<artifact::Plan> plan = buildPlan(module);
  if (failed(plan))
    return failure();
  module->setAttr(kBindingDigestAttrName,
                  StringAttr::get(module.getContext(), artifact::kernelBindingDigest(*plan)));
  FailureOr<KernelSource> source = target.emitKernels(module);
  if (failed(source))
    return failure();
  report.kernelCount = source->kernelCount;
  // What the target says about how each kernel runs (a GPU kernel's
  // launches) travels on the kernel's schedule entries.
  for (artifact::Program &program : plan->programs)
    for (artifact::ScheduleEntry &entry : program.schedule)
      if (entry.kind == artifact::EntryKind::kKernel)
        if (auto it = source->entryAttributes.find(entry.name);
            it != source->entryAttributes.end())
          entry.attrs.insert(it->second.begin(), it->second.end());

  std::string directory = options.outputDirectory;
  if (std::error_code error = llvm::sys::fs::create_directories(directory))
    return module.emitError() << directory << ": cannot create the artifact "
                              << "directory: " << error.message();
  // Two simclrc writing one directory take turns (issue 14): otherwise one
  // could pair its plan.json with the other's library. Released on return
  // or when the process dies.
  ::simclr::Expected<::simclr::FileLock> directoryLock =
      ::simclr::FileLock::acquire(directory + "/" + kArtifactLockFileName);
  if (!directoryLock)
    return module.emitError() << directoryLock.status().message();
  std::string sourcePath = directory + "/" + target.getSourceFileName().str();
  std::string libraryPath = directory + "/" + target.getLibraryFileName().str();
  if (::simclr::Status status = ::simclr::writeFileAtomically(
          sourcePath, source->text.data(), source->text.size());
      !status.isOk())
    return module.emitError() << status.message();

  // The cache key covers everything that determines the library's bytes.
  llvm::SHA256 hasher;
  hasher.update(::simclr::targetKindName(target.getKind()));
  hasher.update(target.getArchitecture());
  hasher.update(source->text);
  hasher.update(target.getToolchainKey());
  std::string key = llvm::toHex(hasher.final(), /*LowerCase=*/true);
  std::string cached =
      options.cacheDirectory.empty()
          ? std::string()
          : options.cacheDirectory + "/" + key + "." +
                llvm::sys::path::extension(libraryPath).drop_front().str();

  auto start = std::chrono::steady_clock::now();
  // A cache entry is used only when its bytes still have the SHA-256
  // recorded beside it when it was stored (a truncated copy, a flipped
  // bit, a file put there by hand is recompiled and replaced instead).
  std::string cachedChecksum = cached + kCacheChecksumSuffix;
  // One compiler per cache entry at a time: a second simclrc of the same
  // spec waits and then finds the entry instead of compiling it again.
  std::optional<::simclr::FileLock> entryLock;
  if (!cached.empty()) {
    llvm::sys::fs::create_directories(options.cacheDirectory);
    ::simclr::Expected<::simclr::FileLock> lock =
        ::simclr::FileLock::acquire(cached + kCacheLockSuffix);
    if (!lock)
      return module.emitError() << lock.status().message();
    entryLock.emplace(std::move(*lock));
  }
  if (!cached.empty() && llvm::sys::fs::exists(cached)) {
    ::simclr::Expected<std::string> actual = artifact::sha256OfFile(cached);
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> recorded =
        llvm::MemoryBuffer::getFile(cachedChecksum);
    std::string expected = recorded ? (*recorded)->getBuffer().trim().str() : "";
    if (actual && *actual == expected)
      report.cacheHit = true;
    else
      llvm::errs() << "simclrc: warning: " << cached
                   << (expected.empty() ? ": no recorded SHA-256 (" + cachedChecksum + ")"
                                        : ": SHA-256 does not match " + cachedChecksum)
                   << "; recompiling the cache entry\n";
  }
  if (!report.cacheHit) {
    // Per process: another simclrc may be compiling the same library.
    std::string temporary =
        libraryPath + ".tmp." + std::to_string(llvm::sys::Process::getProcessId());
    std::string messages;
    if (failed(target.compileLibrary(sourcePath, temporary, messages))) {
      llvm::sys::fs::remove(temporary);
      return module.emitError()
             << "the " << ::simclr::targetKindName(target.getKind())
             << " toolchain failed on the generated " << sourcePath << ":\n"
             << messages;
    }
    if (!cached.empty()) {
      // Copy, then rename: concurrent simclrc runs never see a partial file.
      std::string partial = cached + ".partial." +
                            std::to_string(llvm::sys::Process::getProcessId());
      ::simclr::Expected<std::string> sha = artifact::sha256OfFile(temporary);
      // The record first: a reader that finds the library finds its record
      // (and none reads before this process releases the entry's lock).
      if (sha && ::simclr::writeFileAtomically(cachedChecksum, sha->data(), sha->size()) &&
          !llvm::sys::fs::copy_file(temporary, partial))
        llvm::sys::fs::rename(partial, cached);
    }
    if (std::error_code error = llvm::sys::fs::rename(temporary, libraryPath))
      return module.emitError() << libraryPath << ": " << error.message();
  }
  if (report.cacheHit) {
    std::string partial =
        libraryPath + ".tmp." + std::to_string(llvm::sys::Process::getProcessId());
    if (std::error_code error = llvm::sys::fs::copy_file(cached, partial))
      return module.emitError() << cached << ": " << error.message();
    if (std::error_code error = llvm::sys::fs::rename(partial, libraryPath))
      return module.emitError() << libraryPath << ": " << error.message();
  }
  report.libraryCompileSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (!options.keepSource)
    llvm::sys::fs::remove(sourcePath);

  ::simclr::Expected<std::string> sha = artifact::sha256OfFile(libraryPath);
  if (!sha)
    return module.emitError() << sha.status().message();
  plan->library.file = target.getLibraryFileName().str();
  plan->library.sha256 = *sha;
  plan->library.fingerprint = source->fingerprint;
  plan->library.target = std::string(::simclr::targetKindName(target.getKind()));
  plan->library.architecture = target.getArchitecture();
  plan->specName = options.specName;
  plan->specSha256 = options.specSha256;
  plan->trainingJson = options.trainingJson;
  if (::simclr::Status status = artifact::verifyPlan(*plan); !status.isOk())
    return module.emitError() << "internal error: the plan is inconsistent: "
                              << status.message();
  report.planPath = directory + "/plan.json";
  report.libraryPath = libraryPath;
  if (::simclr::Status status = artifact::writePlanFile(*plan, report.planPath);
      !status.isOk())
    return module.emitError() << status.message();
  return success();
}
