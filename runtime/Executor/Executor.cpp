//===- Executor.cpp - Replays a plan's schedules on the CPU ---------------===//
//
// Executor::create does all the work a step must not: it has the plan's
// backend allocate the state block, the input block and one arena (the
// largest program's), zeroed and aligned; resolves every operand of every
// schedule entry to an address; has the backend prepare every entry
// (kernels looked up, library calls bound to those addresses); and checks
// the bindings the typed entry points use. Running a program then walks its
// prepared entries with no allocation and no lookup.
//
//===----------------------------------------------------------------------===//
#include "simclr/Runtime/Executor.h"

#include "simclr/Runtime/Backend.h"
#include "simclr/Runtime/Communicator.h"
#include "simclr/Support/ParameterInit.h"
#include "simclr/Support/Safetensors.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <functional>
#include <cstdlib>
#include <cstring>
#include <set>
#include <unordered_map>

namespace simclr::runtime {

using artifact::Binding;
using artifact::Buffer;
using artifact::BufferRegion;
using artifact::EntryKind;
using artifact::Plan;
using artifact::Program;
using artifact::ScheduleEntry;

namespace {

/// The blocks' base alignment when the plan asks for less: a cache line,
/// which also satisfies oneDNN and AVX-512 loads.
constexpr int64_t kMinimumAlignment = 64;

constexpr const char *kTrainStepProgram = program_name::kTrainStep;
constexpr const char *kEncodeProgram = program_name::kEncode;

std::string quoted(const std::string &text) { return "'" + text + "'"; }

const char *entryKindName(EntryKind kind) {
  switch (kind) {
  case EntryKind::kKernel:
    return "kernel";
  case EntryKind::kExtern:
    return "extern";
  case EntryKind::kCollective:
    return "collective";
  }
  return "?";
}

std::string describeEntry(const Program &program, size_t index) {
  const ScheduleEntry &e = program.schedule[index];
  return "program " + quoted(program.name) + ": schedule[" +
         std::to_string(index) + "] (" + entryKindName(e.kind) + " " +
         quoted(e.name) + ")";
}

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

int64_t numElements(const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (int64_t extent : shape)
    count *= extent;
  return count;
}

const Binding *findBinding(const std::vector<Binding> &bindings,
                           const std::string &role) {
  for (const Binding &b : bindings)
    if (b.role == role)
      return &b;
  return nullptr;
}

/// Writes float `values` into `dst` as `dtype`; false for a dtype that
/// cannot hold them (f16, bf16).
bool storeAs(DType dtype, const std::vector<float> &values, void *dst) {
  auto store = [&](auto tag) {
    using T = decltype(tag);
    T *out = static_cast<T *>(dst);
    for (size_t i = 0; i < values.size(); ++i)
      out[i] = static_cast<T>(values[i]);
    return true;
  };
  switch (dtype) {
  case DType::kF32:
    std::memcpy(dst, values.data(), values.size() * sizeof(float));
    return true;
  case DType::kF64:
    return store(double());
  case DType::kI64:
    return store(int64_t());
  case DType::kI32:
    return store(int32_t());
  case DType::kU8:
  case DType::kBool:
    return store(uint8_t());
  case DType::kF16:
  case DType::kBF16:
    return false;
  }
  return false;
}

} // namespace

//===----------------------------------------------------------------------===//
// Impl
//===----------------------------------------------------------------------===//

struct Executor::Impl {
  struct CompiledProgram {
    const Program *program = nullptr;
    /// The backend's handle of each schedule entry, in order.
    std::vector<size_t> entries;
  };
  /// A binding resolved to its buffer and address.
  struct Slot {
    const Buffer *buffer = nullptr;
    void *data = nullptr;
  };

  std::shared_ptr<const Artifact> artifact;
  std::unique_ptr<Backend> backend;
  std::byte *state = nullptr, *input = nullptr, *arena = nullptr;
  std::unordered_map<int64_t, void *> addresses;
  std::unordered_map<int64_t, const Buffer *> buffers;
  std::vector<CompiledProgram> programs;

  /// train_step and encode, resolved at create (null / empty when absent).
  const CompiledProgram *trainProgram = nullptr;
  Slot views, step, replicas, loss, learningRate;
  const CompiledProgram *encodeProgram = nullptr;
  Slot images, features;

  float lastLoss = 0.0f;
  float lastLearningRate = 0.0f;

  const Plan &plan() const { return artifact->plan(); }
  std::string planPath() const { return artifact->directory() + "/plan.json"; }

  Status compile(const Program &program, CompiledProgram &out);
  Status resolveBindings();
  Status execute(const CompiledProgram &program);

  /// SIMCLR_PROFILE=1: seconds spent in each schedule entry, summed over
  /// runs, printed (slowest first) when the executor is destroyed.
  bool profiling = false;
  std::map<std::pair<const Program *, size_t>, double> entrySeconds;
  std::map<const Program *, int64_t> runs;
  void printProfile() const;
  Slot slot(const CompiledProgram *program, const std::string &role,
            bool output) const;
};

Status Executor::Impl::compile(const Program &program, CompiledProgram &out) {
  out.program = &program;
  for (size_t i = 0; i < program.schedule.size(); ++i) {
    const ScheduleEntry &e = program.schedule[i];
    std::vector<EntryOperand> operands;
    for (int64_t id : e.operands)
      operands.push_back({buffers.at(id), addresses.at(id)});
    Expected<size_t> handle = backend->prepare(e, operands);
    if (!handle)
      return invalidArgument(planPath() + ": " + describeEntry(program, i) +
                             ": " + handle.status().message());
    out.entries.push_back(*handle);
  }
  return Status::ok();
}

Executor::Impl::Slot Executor::Impl::slot(const CompiledProgram *program,
                                          const std::string &role,
                                          bool output) const {
  if (!program)
    return {};
  const Binding *b = findBinding(
      output ? program->program->outputs : program->program->inputs, role);
  if (!b)
    return {};
  return {buffers.at(b->buffer), addresses.at(b->buffer)};
}

Status Executor::Impl::resolveBindings() {
  for (const CompiledProgram &p : programs) {
    if (p.program->name == kTrainStepProgram)
      trainProgram = &p;
    if (p.program->name == kEncodeProgram)
      encodeProgram = &p;
  }
  views = slot(trainProgram, binding_role::kViews, false);
  step = slot(trainProgram, binding_role::kStep, false);
  replicas = slot(trainProgram, binding_role::kReplicas, false);
  loss = slot(trainProgram, binding_role::kLoss, true);
  learningRate = slot(trainProgram, binding_role::kLearningRate, true);
  images = slot(encodeProgram, binding_role::kImages, false);
  features = slot(encodeProgram, binding_role::kFeatures, true);

  // The typed entry points read and write these with fixed types.
  struct Expectation {
    const Slot &slot;
    const char *program;
    const char *role;
    DType dtype;
    /// -1: any number of elements.
    int64_t elements;
  };
  const Expectation expectations[] = {
      {views, kTrainStepProgram, binding_role::kViews, DType::kF32, -1},
      {step, kTrainStepProgram, binding_role::kStep, DType::kI64, 1},
      {replicas, kTrainStepProgram, binding_role::kReplicas, DType::kI64, 1},
      {loss, kTrainStepProgram, binding_role::kLoss, DType::kF32, 1},
      {learningRate, kTrainStepProgram, binding_role::kLearningRate, DType::kF32, 1},
      {images, kEncodeProgram, binding_role::kImages, DType::kU8, -1},
      {features, kEncodeProgram, binding_role::kFeatures, DType::kF32, -1},
  };
  for (const Expectation &e : expectations) {
    if (!e.slot.buffer)
      continue;
    const Buffer &b = *e.slot.buffer;
    if (b.dtype != e.dtype ||
        (e.elements >= 0 && numElements(b.shape) != e.elements))
      return invalidArgument(
          planPath() + ": program " + quoted(e.program) + ": binding " +
          quoted(e.role) + " is " + dtypeName(b.dtype) + " " +
          formatShape(b.shape) + ", expected " + dtypeName(e.dtype) +
          (e.elements == 1 ? " with one element" : ""));
  }
  return Status::ok();
}

Status Executor::Impl::execute(const CompiledProgram &program) {
  backend->beginRun();
  if (profiling)
    ++runs[program.program];
  for (size_t i = 0; i < program.entries.size(); ++i) {
    std::chrono::steady_clock::time_point start;
    if (profiling)
      start = std::chrono::steady_clock::now();
    Status status = backend->run(program.entries[i]);
    if (!status)
      return status.withContext(describeEntry(*program.program, i));
    if (profiling) {
      SIMCLR_RETURN_IF_ERROR(backend->synchronize());
      entrySeconds[{program.program, i}] +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
              .count();
    }
  }
  return backend->synchronize();
}

void Executor::Impl::printProfile() const {
  std::map<const Program *, double> total;
  for (const auto &[key, seconds] : entrySeconds)
    total[key.first] += seconds;
  std::vector<std::pair<double, std::pair<const Program *, size_t>>> sorted;
  for (const auto &[key, seconds] : entrySeconds)
    sorted.push_back({seconds, key});
  std::sort(sorted.rbegin(), sorted.rend());
  std::fprintf(stderr, "SIMCLR_PROFILE: ms per run, slowest schedule entries first\n");
  std::map<std::string, double> byName;
  for (const auto &[seconds, key] : sorted) {
    const ScheduleEntry &e = key.first->schedule[key.second];
    byName[key.first->name + " " + (e.kind == EntryKind::kExtern ? "extern " : "") +
           e.name] += seconds / static_cast<double>(runs.at(key.first));
  }
  std::vector<std::pair<double, std::string>> names;
  for (const auto &[name, ms] : byName)
    names.push_back({ms, name});
  std::sort(names.rbegin(), names.rend());
  for (size_t i = 0; i < names.size() && i < 25; ++i)
    std::fprintf(stderr, "  %9.2f ms  %s\n", names[i].first * 1e3, names[i].second.c_str());
  for (const auto &[program, seconds] : total)
    std::fprintf(stderr, "  %9.2f ms  total of %s (%lld runs)\n",
                 seconds * 1e3 / static_cast<double>(runs.at(program)),
                 program->name.c_str(), static_cast<long long>(runs.at(program)));
}

//===----------------------------------------------------------------------===//
// Executor
//===----------------------------------------------------------------------===//

Executor::Executor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Executor::~Executor() {
  if (impl_ && impl_->profiling)
    impl_->printProfile();
}

Expected<std::unique_ptr<Executor>>
Executor::create(std::shared_ptr<const Artifact> artifact,
                 ExecutorOptions options) {
  if (!artifact)
    return invalidArgument("Executor::create: no artifact");
  if (options.threads < 0)
    return invalidArgument("threads must be 0 (all cores) or positive, got " +
                           std::to_string(options.threads));
  auto impl = std::make_unique<Impl>();
  impl->artifact = std::move(artifact);
  if (const char *profile = std::getenv("SIMCLR_PROFILE"); profile && *profile && std::string(profile) != "0")
    impl->profiling = true;
  const Plan &plan = impl->plan();
  BackendOptions backendOptions;
  backendOptions.threads = options.threads;
  backendOptions.communicator = options.communicator;
  int64_t replicas = options.communicator ? options.communicator->size() : 1;
  if (options.device) {
    // The device must be the kind the artifact's target runs on.
    const RuntimeTarget &target = impl->artifact->target();
    if (options.device->kind != target.deviceKind())
      return invalidArgument(
          impl->planPath() + ": the artifact is compiled for target " +
          quoted(impl->plan().library.target) + ", which does not run on " +
          options.device->toString() +
          "; compile the spec for that device (simclrc --target)");
    backendOptions.deviceIndex = options.device->index;
  }
  Expected<std::unique_ptr<Backend>> backend =
      impl->artifact->target().createBackend(impl->artifact->library(), plan,
                                             backendOptions);
  if (!backend)
    return backend.takeStatus();
  impl->backend = std::move(*backend);

  int64_t alignment = std::max(plan.alignment, kMinimumAlignment);
  int64_t arenaBytes = 0;
  for (const Program &p : plan.programs)
    arenaBytes = std::max(arenaBytes, p.arenaBytes);
  auto allocate = [&](int64_t bytes, const char *what,
                      std::byte *&block) -> Status {
    Expected<std::byte *> allocated =
        impl->backend->allocateBlock(bytes, alignment, what);
    if (!allocated)
      return allocated.takeStatus();
    block = *allocated;
    return Status::ok();
  };
  SIMCLR_RETURN_IF_ERROR(allocate(plan.stateBytes, "state block", impl->state));
  SIMCLR_RETURN_IF_ERROR(allocate(plan.inputBytes, "input block", impl->input));
  SIMCLR_RETURN_IF_ERROR(allocate(arenaBytes, "arena", impl->arena));
  // One copy of every gathered buffer per replica (ArtifactPlan.h).
  std::byte *gathered = nullptr;
  SIMCLR_RETURN_IF_ERROR(
      allocate(replicas * plan.gatheredBytes, "gathered block", gathered));

  // verifyPlan (run by readPlanFile) guarantees every buffer fits its region
  // and every operand names a buffer.
  for (const Buffer &b : plan.buffers) {
    if (b.region == BufferRegion::kGathered) {
      impl->addresses[b.id] = gathered + replicas * b.offset;
      impl->buffers[b.id] = &b;
      continue;
    }
    std::byte *base = b.region == BufferRegion::kState   ? impl->state
                      : b.region == BufferRegion::kInput ? impl->input
                                                         : impl->arena;
    impl->addresses[b.id] = base + b.offset;
    impl->buffers[b.id] = &b;
  }

  impl->programs.resize(plan.programs.size());
  for (size_t i = 0; i < plan.programs.size(); ++i)
    SIMCLR_RETURN_IF_ERROR(impl->compile(plan.programs[i], impl->programs[i]));
  SIMCLR_RETURN_IF_ERROR(impl->backend->finalize());
  SIMCLR_RETURN_IF_ERROR(impl->resolveBindings());
  // The replica count is constant for the executor's life: written once
  // (the input block keeps it; nothing else writes that slot).
  if (impl->replicas.buffer)
    SIMCLR_RETURN_IF_ERROR(impl->backend->copyToDevice(
        impl->replicas.data, &replicas, sizeof replicas));
  return std::unique_ptr<Executor>(new Executor(std::move(impl)));
}

const Artifact &Executor::artifact() const { return *impl_->artifact; }

Status Executor::initializeState(uint64_t seed) {
  const Plan &plan = impl_->plan();
  std::vector<float> values;
  std::vector<std::byte> host;
  for (const artifact::StateTensor &t : plan.state) {
    const Buffer &b = *impl_->buffers.at(t.buffer);
    std::string prefix = "state tensor " + quoted(t.name) + ": ";
    Expected<InitKind> kind = parseInitKind(t.init.kind);
    if (!kind)
      return invalidArgument(prefix + kind.status().message());
    Status status =
        initializeTensor(*kind, b.shape, t.init.fanIn, seed, t.name, values);
    if (!status)
      return status.withContext("state tensor " + quoted(t.name));
    // Written on the host, then copied: the block may be device memory.
    host.resize(static_cast<size_t>(b.bytes));
    if (!storeAs(b.dtype, values, host.data()))
      return invalidArgument(prefix + "cannot initialize a tensor of dtype " +
                             dtypeName(b.dtype));
    SIMCLR_RETURN_IF_ERROR(impl_->backend->copyToDevice(
        impl_->addresses.at(b.id), host.data(), host.size()));
  }
  return Status::ok();
}

namespace {
/// What Executor::checkStateFile and loadState check: every state tensor
/// (or only parameters and running statistics) present with the plan's
/// dtype and shape, no tensor the plan lacks, and each tensor's data
/// checksum where the file records one (SafetensorsReader::verifyChecksum).
Status checkStateTensors(const SafetensorsReader &reader, const std::string &path,
                         const Plan &plan,
                         const std::function<const Buffer &(int64_t)> &bufferOf,
                         bool parametersOnly) {
  std::set<std::string> known;
  for (const artifact::StateTensor &t : plan.state)
    known.insert(t.name);
  for (const TensorInfo &info : reader.tensors())
    if (!known.count(info.name))
      return invalidArgument(path + ": tensor " + quoted(info.name) +
                             " is not a state tensor of this artifact");
  for (const artifact::StateTensor &t : plan.state) {
    if (parametersOnly && t.kind != value_kind::kParameter &&
        t.kind != value_kind::kRunningStat)
      continue;
    const Buffer &b = bufferOf(t.buffer);
    const TensorInfo *info = reader.find(t.name);
    if (!info)
      return notFound(path + ": missing state tensor " + quoted(t.name));
    if (info->dtype != b.dtype || info->shape != b.shape)
      return invalidArgument(path + ": tensor " + quoted(t.name) + ": expected " +
                             dtypeName(b.dtype) + " " + formatShape(b.shape) +
                             ", found " + dtypeName(info->dtype) + " " +
                             formatShape(info->shape));
    SIMCLR_RETURN_IF_ERROR(reader.verifyChecksum(t.name));
  }
  return Status::ok();
}
} // namespace

Status Executor::checkStateFile(const std::string &path, bool parametersOnly) const {
  Expected<SafetensorsReader> reader = SafetensorsReader::open(path);
  if (!reader)
    return reader.takeStatus();
  return checkStateTensors(*reader, path, impl_->plan(),
                           [&](int64_t id) -> const Buffer & { return *impl_->buffers.at(id); },
                           parametersOnly);
}

Status Executor::loadState(const std::string &path, bool parametersOnly) {
  Expected<SafetensorsReader> reader = SafetensorsReader::open(path);
  if (!reader)
    return reader.takeStatus();
  const Plan &plan = impl_->plan();
  auto selected = [&](const artifact::StateTensor &t) {
    return !parametersOnly || t.kind == value_kind::kParameter ||
           t.kind == value_kind::kRunningStat;
  };
  // Check everything first, so a bad file leaves the state untouched.
  SIMCLR_RETURN_IF_ERROR(checkStateTensors(
      *reader, path, plan,
      [&](int64_t id) -> const Buffer & { return *impl_->buffers.at(id); },
      parametersOnly));
  for (const artifact::StateTensor &t : plan.state) {
    if (!selected(t))
      continue;
    const Buffer &b = *impl_->buffers.at(t.buffer);
    // Read on the host, then copied: the block may be device memory.
    std::vector<std::byte> host(static_cast<size_t>(b.bytes));
    SIMCLR_RETURN_IF_ERROR(reader->read(t.name, b.dtype, b.shape, host.data(),
                                        host.size()));
    SIMCLR_RETURN_IF_ERROR(impl_->backend->copyToDevice(
        impl_->addresses.at(b.id), host.data(), host.size()));
  }
  return Status::ok();
}

Status Executor::saveState(
    const std::string &path,
    const std::vector<std::pair<std::string, std::string>> &metadata) const {
  SafetensorsWriter writer;
  for (const auto &[key, value] : metadata)
    writer.setMetadata(key, value);
  std::vector<std::byte> host;
  for (const artifact::StateTensor &t : impl_->plan().state) {
    const Buffer &b = *impl_->buffers.at(t.buffer);
    // Copied to the host first (the block may be device memory); add()
    // copies the bytes, so one buffer serves every tensor.
    host.resize(static_cast<size_t>(b.bytes));
    SIMCLR_RETURN_IF_ERROR(impl_->backend->copyToHost(
        host.data(), impl_->addresses.at(b.id), host.size()));
    Status status = writer.add(t.name, b.dtype, b.shape, host.data());
    if (!status)
      return status.withContext(path);
  }
  // A flipped byte in a checkpoint must not resume silently.
  writer.recordChecksums();
  return writer.writeAtomically(path);
}

std::vector<StateTensorView> Executor::stateTensors() {
  std::vector<StateTensorView> views;
  for (const artifact::StateTensor &t : impl_->plan().state)
    views.push_back({&t, impl_->buffers.at(t.buffer), impl_->addresses.at(t.buffer)});
  return views;
}

Expected<StateTensorView> Executor::stateTensor(const std::string &name) {
  for (const artifact::StateTensor &t : impl_->plan().state)
    if (t.name == name)
      return StateTensorView{&t, impl_->buffers.at(t.buffer),
                             impl_->addresses.at(t.buffer)};
  return notFound("no state tensor named " + quoted(name));
}

Status Executor::trainStep(std::span<const float> views, int64_t step) {
  Impl &impl = *impl_;
  if (!impl.trainProgram)
    return invalidArgument(impl.planPath() + ": the artifact has no '" +
                           std::string(kTrainStepProgram) + "' program");
  if (!impl.views.buffer || !impl.step.buffer || !impl.loss.buffer ||
      !impl.learningRate.buffer)
    return invalidArgument(impl.planPath() +
                           ": program 'train_step' lacks one of the bindings "
                           "views, step (inputs), loss, lr (outputs)");
  size_t expected = static_cast<size_t>(impl.views.buffer->bytes) / sizeof(float);
  if (views.size() != expected)
    return invalidArgument("trainStep: " + std::to_string(views.size()) +
                           " view values, the plan's views are " +
                           formatShape(impl.views.buffer->shape) + " (" +
                           std::to_string(expected) + " values)");
  SIMCLR_RETURN_IF_ERROR(impl.backend->copyToDevice(
      impl.views.data, views.data(), views.size_bytes()));
  SIMCLR_RETURN_IF_ERROR(
      impl.backend->copyToDevice(impl.step.data, &step, sizeof(step)));
  SIMCLR_RETURN_IF_ERROR(impl.execute(*impl.trainProgram));
  SIMCLR_RETURN_IF_ERROR(
      impl.backend->copyToHost(&impl.lastLoss, impl.loss.data, sizeof(float)));
  SIMCLR_RETURN_IF_ERROR(impl.backend->copyToHost(
      &impl.lastLearningRate, impl.learningRate.data, sizeof(float)));
  return Status::ok();
}

float Executor::lastLoss() const { return impl_->lastLoss; }
float Executor::lastLearningRate() const { return impl_->lastLearningRate; }

Status Executor::encode(std::span<const uint8_t> images,
                        std::span<float> features) {
  Impl &impl = *impl_;
  if (!impl.encodeProgram || !impl.images.buffer || !impl.features.buffer)
    return invalidArgument(impl.planPath() + ": the artifact has no '" +
                           std::string(kEncodeProgram) +
                           "' program with an images input and a features output");
  if (images.size() != static_cast<size_t>(impl.images.buffer->bytes))
    return invalidArgument("encode: " + std::to_string(images.size()) +
                           " image bytes, the plan's images are " +
                           formatShape(impl.images.buffer->shape) + " (" +
                           std::to_string(impl.images.buffer->bytes) + " bytes)");
  size_t featureCount =
      static_cast<size_t>(impl.features.buffer->bytes) / sizeof(float);
  if (features.size() != featureCount)
    return invalidArgument("encode: room for " + std::to_string(features.size()) +
                           " features, the plan's are " +
                           formatShape(impl.features.buffer->shape) + " (" +
                           std::to_string(featureCount) + " values)");
  SIMCLR_RETURN_IF_ERROR(impl.backend->copyToDevice(
      impl.images.data, images.data(), images.size_bytes()));
  SIMCLR_RETURN_IF_ERROR(impl.execute(*impl.encodeProgram));
  SIMCLR_RETURN_IF_ERROR(impl.backend->copyToHost(
      features.data(), impl.features.data, features.size_bytes()));
  return Status::ok();
}

int64_t Executor::encodeBatch() const {
  const Buffer *b = impl_->images.buffer;
  return b && !b->shape.empty() ? b->shape[0] : 0;
}

int64_t Executor::featureDim() const {
  const Buffer *b = impl_->features.buffer;
  return b && b->shape.size() == 2 ? b->shape[1] : 0;
}

Status Executor::run(
    const std::string &program,
    const std::vector<std::pair<std::string, const void *>> &inputs) {
  Impl &impl = *impl_;
  const Impl::CompiledProgram *compiled = nullptr;
  for (const Impl::CompiledProgram &p : impl.programs)
    if (p.program->name == program)
      compiled = &p;
  if (!compiled)
    return notFound(impl.planPath() + ": no program named " + quoted(program));
  for (const auto &[role, data] : inputs) {
    const Binding *b = findBinding(compiled->program->inputs, role);
    if (!b)
      return invalidArgument("program " + quoted(program) +
                             " has no input " + quoted(role));
    if (!data)
      return invalidArgument("program " + quoted(program) + ": input " +
                             quoted(role) + " is null");
    const Buffer &buffer = *impl.buffers.at(b->buffer);
    SIMCLR_RETURN_IF_ERROR(impl.backend->copyToDevice(
        impl.addresses.at(b->buffer), data, static_cast<size_t>(buffer.bytes)));
  }
  return impl.execute(*compiled);
}

const void *Executor::bufferData(int64_t bufferId) const {
  auto it = impl_->addresses.find(bufferId);
  return it == impl_->addresses.end() ? nullptr : it->second;
}

} // namespace simclr::runtime
