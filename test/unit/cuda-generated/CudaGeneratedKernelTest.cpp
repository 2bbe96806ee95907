//===- CudaGeneratedKernelTest.cpp - Generated CUDA kernels vs the CPU's --===//
//
// Every kernel simclrc generates for --target=cuda, run on the CPU through
// CudaEmulation.h, against the kernel of the same name that simclrc
// generates for --target=cpu, on random inputs:
//  1. simclrc compiles the spec for both targets (plan.json, kernels.cu,
//     kernels.so).
//  2. EmulatedKernels.cpp includes kernels.cu after CudaEmulation.h and is
//     compiled by the host compiler into a library (dlopen'ed).
//  3. For each kernel of the CUDA plan (first schedule entry of a name): a
//     random value per distinct operand buffer, in row-major NCHW, laid out
//     in each plan's layout (CUDA NHWC, CPU plain or blocked); outputs
//     that are not also inputs and scratch start as NaN bytes, so a read
//     of an unwritten element shows; every buffer has a guard after it.
//  4. The CUDA launches run in order with their grid and block; the CPU
//     kernel runs once; outputs, back in NCHW, are compared.
// A --data-parallel artifact is checked for several replica counts R: its
// gathered buffers hold R copies of their per-replica bytes and its
// replicas input holds R, so the kernels that read R (NT-Xent over the
// gathered projections, the lr schedule) run on R replicas' rows with the
// launches the plan gives, which do not depend on R.
// Both targets name kernels identically (they print the same kernel-level
// IR); the test checks that the two plans give each name the same
// operands up to layout.
//
//===----------------------------------------------------------------------===//
#include "simclr/Support/ArtifactPlan.h"
#include "simclr/Support/DType.h"
#include "simclr/Support/Vocabulary.h"

#include "../common/LayoutCopy.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace simclr {
namespace {

using artifact::Buffer;
using artifact::Plan;
using artifact::ScheduleEntry;

/// The brief's bound between the targets: |got - want| <= kTol * (|want| +
/// max|want|) per output (TemplateTestUtil.h's form). Both targets run the
/// same float formulas; the GPU templates reduce in another order (tree
/// sums of float partials), which stays within 1e-4 of the output's scale.
constexpr double kTol = 1e-4;
/// Guard bytes after every buffer: a write past a buffer's planned bytes
/// changes them.
constexpr size_t kGuardBytes = 256;
constexpr unsigned char kGuardByte = 0xA5;
/// Fill of outputs and scratch: all-ones bytes are a NaN float (and -1 as
/// an integer), so an element a kernel reads before writing poisons its
/// result.
constexpr unsigned char kUnwrittenByte = 0xFF;
/// Step counters: small, as a run's first steps (bias corrections and
/// warmup schedules divide by powers of betas at these steps).
constexpr int64_t kMaxStep = 5;

/// The element count of random batch-norm statistics: a few images' worth.
constexpr double kStatisticsCount = 8;

using KernelFunction = void (*)(void *const *);
using EmulatedLaunch = const char *(*)(KernelFunction, void *const *,
                                       const int64_t *, const int64_t *,
                                       int64_t);

std::string tmpDir() {
  const char *dir = std::getenv("SIMCLR_TEST_TMPDIR");
  return dir ? dir : "/tmp";
}

/// Runs a shell command; returns its exit status (output to `log`).
int runCommand(const std::string &command, const std::string &log) {
  return std::system((command + " >" + log + " 2>&1").c_str());
}

std::string readText(const std::string &path) {
  std::string text;
  if (FILE *file = std::fopen(path.c_str(), "r")) {
    char chunk[4096];
    size_t got;
    while ((got = std::fread(chunk, 1, sizeof chunk, file)) > 0)
      text.append(chunk, got);
    std::fclose(file);
  }
  return text;
}

/// One buffer's bytes, 64-byte aligned as the arena aligns them, with a
/// guard after them.
class Bytes {
public:
  Bytes(size_t size, unsigned char fill)
      : size_(size), storage_(size + kGuardBytes + kAlign, kGuardByte) {
    const auto address = reinterpret_cast<uintptr_t>(storage_.data());
    offset_ = (kAlign - address % kAlign) % kAlign;
    std::memset(data(), fill, size_);
  }
  // The offset is into storage_: moving keeps it, copying would not.
  Bytes(Bytes &&) = default;
  Bytes(const Bytes &) = delete;
  Bytes &operator=(const Bytes &) = delete;
  unsigned char *data() { return storage_.data() + offset_; }
  size_t size() const { return size_; }
  bool guardIntact() const {
    for (size_t i = 0; i < kGuardBytes; ++i)
      if (storage_[offset_ + size_ + i] != kGuardByte)
        return false;
    return true;
  }

private:
  static constexpr size_t kAlign = 64;
  size_t size_;
  std::vector<unsigned char> storage_;
  size_t offset_ = 0;
};

bool isActivation(const Buffer &buffer) {
  return buffer.shape.size() == 4 && buffer.dtype == DType::kF32;
}
std::array<int64_t, 4> dims4(const Buffer &buffer) {
  return {buffer.shape[0], buffer.shape[1], buffer.shape[2], buffer.shape[3]};
}

/// Buffers a kernel needs positive: variances (running, batch or saved as
/// the third result "N#2" of a batch-norm kernel) and Adam's second
/// moments, whose square roots the kernels take.
bool needsPositive(const Buffer &buffer) {
  const std::string &name = buffer.name;
  auto endsWith = [&](const std::string &tail) {
    return name.size() >= tail.size() &&
           name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
  };
  return endsWith("running_var") || endsWith("exp_avg_sq") || endsWith("#2");
}

/// The bytes `buffer` spans with `replicas` replicas: R copies of its
/// per-replica bytes in the gathered region (ArtifactPlan.h).
size_t spanBytes(const Buffer &buffer, int64_t replicas) {
  return static_cast<size_t>(buffer.region == artifact::BufferRegion::kGathered
                                 ? replicas * buffer.bytes
                                 : buffer.bytes);
}

/// A buffer's value in row-major NCHW (plain) bytes.
std::vector<unsigned char> randomPlain(const Buffer &buffer, int64_t replicas,
                                       std::mt19937_64 &rng) {
  std::vector<unsigned char> bytes(spanBytes(buffer, replicas));
  const size_t count = bytes.size() / dtypeByteSize(buffer.dtype);
  if (buffer.dtype == DType::kF32) {
    const bool positive = needsPositive(buffer);
    std::uniform_real_distribution<float> dist(positive ? 0.25f : -1.0f,
                                               positive ? 1.5f : 1.0f);
    auto *values = reinterpret_cast<float *>(bytes.data());
    for (size_t i = 0; i < count; ++i)
      values[i] = dist(rng);
  } else if (buffer.dtype == DType::kF64 && buffer.shape.size() == 2 &&
             buffer.shape[0] == 3) {
    // Batch-norm statistics of a data-parallel step (SyncBatchNorm.h): per
    // channel a sum, a sum of squares (or products) and an element count
    // kStatisticsCount, consistent with a mean in [-1, 1] and a variance
    // in [0.25, 1.5].
    const int64_t c = buffer.shape[1];
    std::uniform_real_distribution<double> mean(-1.0, 1.0), var(0.25, 1.5);
    auto *stats = reinterpret_cast<double *>(bytes.data());
    for (int64_t ch = 0; ch < c; ++ch) {
      const double m = mean(rng);
      stats[ch] = m * kStatisticsCount;
      stats[c + ch] = (m * m + var(rng)) * kStatisticsCount;
      stats[2 * c + ch] = kStatisticsCount;
    }
  } else if (buffer.dtype == DType::kI64) {
    std::uniform_int_distribution<int64_t> dist(1, kMaxStep);
    auto *values = reinterpret_cast<int64_t *>(bytes.data());
    for (size_t i = 0; i < count; ++i)
      values[i] = dist(rng);
  } else {
    std::uniform_int_distribution<int> dist(0, 255);
    for (unsigned char &byte : bytes)
      byte = static_cast<unsigned char>(dist(rng));
  }
  return bytes;
}

/// Copies plain (NCHW) bytes into `buffer`'s layout, or back (`bytes` of
/// them: a gathered buffer's whole span).
void relayout(const Buffer &buffer, size_t bytes, const unsigned char *from,
              unsigned char *to, bool toLaid) {
  if (!isActivation(buffer) || buffer.layout == Layout::kPlain) {
    std::memcpy(to, from, bytes);
    return;
  }
  const auto *source = reinterpret_cast<const float *>(from);
  auto *target = reinterpret_cast<float *>(to);
  test::forEachLaidElement(dims4(buffer), buffer.layout,
                           [&](size_t plain, size_t laid) {
                             if (toLaid)
                               target[laid] = source[plain];
                             else
                               target[plain] = source[laid];
                           });
}

/// The operands of one kernel entry, one Bytes per distinct buffer (an
/// in-place kernel names a buffer as input and output).
struct Operands {
  std::map<int64_t, Bytes> bytes;
  std::vector<void *> pointers;
};

Operands
makeOperands(const Plan &plan, const ScheduleEntry &entry, int64_t replicas,
             const std::map<int64_t, std::vector<unsigned char>> &plainInputs) {
  Operands operands;
  for (int64_t id : entry.operands) {
    const Buffer &buffer = *plan.findBuffer(id);
    auto it = operands.bytes.find(id);
    if (it == operands.bytes.end()) {
      it = operands.bytes
               .emplace(id, Bytes(spanBytes(buffer, replicas), kUnwrittenByte))
               .first;
    }
    operands.pointers.push_back(it->second.data());
  }
  for (const auto &[position, plain] : plainInputs) {
    const int64_t id = entry.operands[static_cast<size_t>(position)];
    relayout(*plan.findBuffer(id), plain.size(), plain.data(),
             operands.bytes.at(id).data(), /*toLaid=*/true);
  }
  return operands;
}

struct Artifact {
  Plan plan;
  void *library = nullptr;
};

/// Compiles `spec` for `target` into `dir` with simclrc and `flags`.
Artifact compile(const std::string &spec, const std::string &target,
                 const std::string &flags, const std::string &dir) {
  const std::string log = dir + ".log";
  const int status = runCommand(
      std::string(SIMCLR_SIMCLRC) + " " + spec + " --target=" + target + " " +
          flags + " --cache-dir=" + tmpDir() + "/simclrc-cache -o " + dir,
      log);
  Artifact artifact;
  EXPECT_EQ(status, 0) << "simclrc " << target << ":\n" << readText(log);
  if (status != 0)
    return artifact;
  Expected<Plan> plan = artifact::readPlanFile(dir + "/plan.json");
  EXPECT_TRUE(plan.hasValue()) << dir;
  if (plan.hasValue())
    artifact.plan = std::move(*plan);
  return artifact;
}

/// The first schedule entry of each kernel, in schedule order.
std::vector<const ScheduleEntry *> kernelEntries(const Plan &plan) {
  std::vector<const ScheduleEntry *> entries;
  std::set<std::string> seen;
  for (const artifact::Program &program : plan.programs)
    for (const ScheduleEntry &entry : program.schedule)
      if (entry.kind == artifact::EntryKind::kKernel &&
          seen.insert(entry.name).second)
        entries.push_back(&entry);
  return entries;
}

const ScheduleEntry *findKernel(const Plan &plan, const std::string &name) {
  for (const ScheduleEntry *entry : kernelEntries(plan))
    if (entry->name == name)
      return entry;
  return nullptr;
}

template <typename T>
T attr(const ScheduleEntry &entry, const std::string &key) {
  auto it = entry.attrs.find(key);
  if (it == entry.attrs.end() || !std::holds_alternative<T>(it->second))
    throw std::runtime_error(entry.name + ": no attribute " + key);
  return std::get<T>(it->second);
}

/// Result of comparing one kernel.
struct Comparison {
  size_t elements = 0;
  double maxError = 0;
  /// max |got - want| / (|want| + scale): what kTol bounds.
  double maxRelative = 0;
};

/// Compares output `position` of both runs, in NCHW.
void compareOutput(const ScheduleEntry &entry, size_t position,
                   const Buffer &cudaBuffer, Bytes &cudaBytes,
                   const Buffer &cpuBuffer, Bytes &cpuBytes,
                   Comparison &comparison) {
  const std::string what = entry.name + " operand " + std::to_string(position) +
                           " (" + cudaBuffer.name + ")";
  std::vector<unsigned char> got(cudaBytes.size()), want(cpuBytes.size());
  relayout(cudaBuffer, got.size(), cudaBytes.data(), got.data(),
           /*toLaid=*/false);
  relayout(cpuBuffer, want.size(), cpuBytes.data(), want.data(),
           /*toLaid=*/false);
  if (cudaBuffer.dtype != DType::kF32) {
    EXPECT_EQ(got, want) << what;
    comparison.elements += got.size() / dtypeByteSize(cudaBuffer.dtype);
    return;
  }
  const size_t count = got.size() / sizeof(float);
  const auto *g = reinterpret_cast<const float *>(got.data());
  const auto *w = reinterpret_cast<const float *>(want.data());
  double scale = 0;
  for (size_t i = 0; i < count; ++i) {
    // The CPU kernel writes every element, finite on these inputs: a NaN
    // there is an unwritten element or an input out of the kernel's domain.
    ASSERT_TRUE(std::isfinite(w[i])) << what << ": CPU element " << i;
    scale = std::max(scale, std::fabs(static_cast<double>(w[i])));
  }
  int failures = 0;
  for (size_t i = 0; i < count; ++i) {
    const double error = std::fabs(static_cast<double>(g[i]) - w[i]);
    const double relative = std::isnan(error)
                                ? INFINITY
                                : error / (std::fabs(w[i]) + scale + 1e-30);
    comparison.maxError = std::max(comparison.maxError, error);
    comparison.maxRelative = std::max(comparison.maxRelative, relative);
    if (!(relative <= kTol) && failures++ < 5)
      ADD_FAILURE() << what << ": element " << i << " (NCHW) is " << g[i]
                    << ", the CPU's " << w[i];
  }
  comparison.elements += count;
}

/// The buffers bound as the replica count (a --data-parallel train step's
/// "replicas" input).
std::set<int64_t> replicaBuffers(const Plan &plan) {
  std::set<int64_t> ids;
  for (const artifact::Program &program : plan.programs)
    for (const artifact::Binding &binding : program.inputs)
      if (binding.role == binding_role::kReplicas)
        ids.insert(binding.buffer);
  return ids;
}

/// Runs every CUDA kernel of `spec`, compiled with `flags`, emulated
/// against the CPU's, once for each replica count of `replicaCounts`.
void checkSpec(const std::string &specName, const std::string &flags = "",
               const std::vector<int64_t> &replicaCounts = {1}) {
  const auto start = std::chrono::steady_clock::now();
  const std::string spec =
      std::string(SIMCLR_SOURCE_DIR) + "/test/Frontend/Inputs/" + specName;
  std::string base = tmpDir() + "/generated-" + specName;
  if (!flags.empty())
    base += "-data-parallel";
  Artifact cuda = compile(spec, "cuda", flags, base + "-cuda");
  Artifact cpu = compile(spec, "cpu", flags, base + "-cpu");
  ASSERT_FALSE(::testing::Test::HasFailure());

  // 2. kernels.cu as a host library.
  const std::string emulated = base + "-emulated.so";
  const std::string log = emulated + ".log";
  const int status =
      runCommand(std::string(SIMCLR_CXX_COMPILER) +
                     " -std=c++17 -O1 -shared -fPIC -fno-gnu-unique -x c++ "
                     "-I " SIMCLR_SOURCE_DIR
                     "/lib/include -I " SIMCLR_SOURCE_DIR "/test/unit/cuda "
                     "-DSIMCLR_GENERATED_CUDA='\"" +
                     base +
                     "-cuda/kernels.cu\"' " SIMCLR_SOURCE_DIR
                     "/test/unit/cuda-generated/EmulatedKernels.cpp -o " +
                     emulated,
                 log);
  ASSERT_EQ(status, 0) << "compiling kernels.cu:\n" << readText(log);
  void *cudaLibrary = dlopen(emulated.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(cudaLibrary, nullptr) << dlerror();
  void *cpuLibrary =
      dlopen((base + "-cpu/kernels.so").c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(cpuLibrary, nullptr) << dlerror();
  auto launch = reinterpret_cast<EmulatedLaunch>(
      dlsym(cudaLibrary, "simclr_emulated_launch"));
  ASSERT_NE(launch, nullptr);

  std::vector<const ScheduleEntry *> cudaKernels = kernelEntries(cuda.plan);
  ASSERT_EQ(cudaKernels.size(), kernelEntries(cpu.plan).size())
      << "the targets generate different kernels";
  const std::set<int64_t> cudaReplicas = replicaBuffers(cuda.plan);
  EXPECT_EQ(cudaReplicas.empty(), flags.empty())
      << "a replica count is bound exactly in a data-parallel artifact";
  std::mt19937_64 rng(20261205);
  for (int64_t replicas : replicaCounts) {
    SCOPED_TRACE("replicas " + std::to_string(replicas));
    for (const ScheduleEntry *cudaEntry : cudaKernels) {
      SCOPED_TRACE(cudaEntry->name);
      const ScheduleEntry *cpuEntry = findKernel(cpu.plan, cudaEntry->name);
      ASSERT_NE(cpuEntry, nullptr) << "no CPU kernel " << cudaEntry->name;
      ASSERT_EQ(cudaEntry->operands.size(), cpuEntry->operands.size());
      ASSERT_EQ(cudaEntry->numInputs, cpuEntry->numInputs);
      ASSERT_EQ(cudaEntry->numOutputs, cpuEntry->numOutputs);
      for (size_t i = 0; i < cudaEntry->operands.size(); ++i) {
        const Buffer &a = *cuda.plan.findBuffer(cudaEntry->operands[i]);
        const Buffer &b = *cpu.plan.findBuffer(cpuEntry->operands[i]);
        ASSERT_TRUE(a.dtype == b.dtype && a.shape == b.shape &&
                    a.bytes == b.bytes && a.region == b.region)
            << "operand " << i << " differs between the targets";
      }

      // 3. Inputs by position, shared by both runs; the replica count is R.
      std::map<int64_t, std::vector<unsigned char>> plainInputs;
      bool readsReplicas = false;
      for (int64_t i = 0; i < cudaEntry->numInputs; ++i) {
        const int64_t id = cudaEntry->operands[static_cast<size_t>(i)];
        const Buffer &buffer = *cuda.plan.findBuffer(id);
        plainInputs[i] = randomPlain(buffer, replicas, rng);
        if (cudaReplicas.count(id)) {
          ASSERT_EQ(buffer.dtype, DType::kI64);
          std::memcpy(plainInputs[i].data(), &replicas, sizeof replicas);
          readsReplicas = true;
        }
      }
      // A kernel that reads no replica count does not depend on R.
      if (replicas != replicaCounts.front() && !readsReplicas)
        continue;
      Operands cudaOperands =
          makeOperands(cuda.plan, *cudaEntry, replicas, plainInputs);
      Operands cpuOperands =
          makeOperands(cpu.plan, *cpuEntry, replicas, plainInputs);

      // 4. The CUDA launches in order, then the CPU kernel.
      const int64_t launches = attr<int64_t>(*cudaEntry, "launches");
      for (int64_t k = 0; k < launches; ++k) {
        const std::string key = "launch." + std::to_string(k) + ".";
        const std::string function =
            attr<std::string>(*cudaEntry, key + "function");
        const std::vector<int64_t> grid =
            attr<std::vector<int64_t>>(*cudaEntry, key + "grid");
        const std::vector<int64_t> block =
            attr<std::vector<int64_t>>(*cudaEntry, key + "block");
        ASSERT_EQ(grid.size(), 3u);
        ASSERT_EQ(block.size(), 3u);
        auto kernel = reinterpret_cast<KernelFunction>(
            dlsym(cudaLibrary, function.c_str()));
        ASSERT_NE(kernel, nullptr) << function;
        const char *error = launch(
            kernel, cudaOperands.pointers.data(), grid.data(), block.data(),
            attr<int64_t>(*cudaEntry, key + "shared_bytes"));
        ASSERT_EQ(error, nullptr) << function << ": " << error;
      }
      auto cpuKernel = reinterpret_cast<KernelFunction>(
          dlsym(cpuLibrary, cpuEntry->name.c_str()));
      ASSERT_NE(cpuKernel, nullptr) << cpuEntry->name;
      cpuKernel(cpuOperands.pointers.data());

      for (auto &[id, bytes] : cudaOperands.bytes)
        EXPECT_TRUE(bytes.guardIntact())
            << "CUDA kernel wrote past " << cuda.plan.findBuffer(id)->name;
      for (auto &[id, bytes] : cpuOperands.bytes)
        EXPECT_TRUE(bytes.guardIntact())
            << "CPU kernel wrote past " << cpu.plan.findBuffer(id)->name;
      Comparison comparison;
      const size_t firstOutput = static_cast<size_t>(cudaEntry->numInputs);
      for (size_t i = firstOutput;
           i < firstOutput + static_cast<size_t>(cudaEntry->numOutputs); ++i) {
        const int64_t cudaId = cudaEntry->operands[i];
        const int64_t cpuId = cpuEntry->operands[i];
        compareOutput(*cudaEntry, i, *cuda.plan.findBuffer(cudaId),
                      cudaOperands.bytes.at(cudaId),
                      *cpu.plan.findBuffer(cpuId), cpuOperands.bytes.at(cpuId),
                      comparison);
      }
      std::printf("[ kernel   ] %-48s R %ld, launches %ld, %zu elements, max "
                  "error %.3g, max relative %.3g\n",
                  cudaEntry->name.c_str(), static_cast<long>(replicas),
                  static_cast<long>(launches), comparison.elements,
                  comparison.maxError, comparison.maxRelative);
    }
  }
  // Neither library is closed: the CPU kernels' OpenMP worker threads
  // outlive a dlclose that would unmap the libgomp they idle in.
  std::printf(
      "[ summary  ] %s %s: %zu kernels in %.1f s\n", specName.c_str(),
      flags.c_str(), cudaKernels.size(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count());
}

TEST(CudaGeneratedKernelTest, Tiny) { checkSpec("tiny.toml"); }

TEST(CudaGeneratedKernelTest, TrainSmall) { checkSpec("train-small.toml"); }

/// The data-parallel step of tiny.toml: every kernel for one replica, and
/// those reading the replica count (NT-Xent over the gathered projections,
/// the lr schedule) again for 2 and 3 replicas' rows.
TEST(CudaGeneratedKernelTest, TinyDataParallel) {
  checkSpec("tiny.toml", "--data-parallel", {1, 2, 3});
}

} // namespace
} // namespace simclr
