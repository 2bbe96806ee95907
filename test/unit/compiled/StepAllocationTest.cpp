//===- StepAllocationTest.cpp - The compiled step allocates nothing -------===//
//
// Every temporary of a kernel or a library call is a planned region of the
// arena (STYLE.md rule 26), so once an Executor is created its steps never
// touch the heap: that is what lets a CUDA graph capture the step, and what
// makes the memory known at compile time. This test interposes malloc and
// friends for the whole process (an executable's definitions take
// precedence over libc's for every shared library, oneDNN and libgomp
// included), compiles the default Fashion-MNIST spec, and counts the heap
// calls of train steps after the first, and of encode: none may come from
// simclrc's code (the executor, the backend, the generated kernels).
//
// One library still calls the heap: oneDNN 2.6's dnnl_primitive_execute
// builds a std::unordered_map of the call's arguments each time (a few
// small nodes, freed on return; its data temporaries are the planned
// workspace). Those calls are told apart by their stack and reported, not
// counted against the step.
//
//===----------------------------------------------------------------------===//
#include "CompileArtifact.h"

#include "simclr/Frontend/SpecReader.h"
#include "simclr/Runtime/Executor.h"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <execinfo.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

extern "C" {
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);
}

namespace {

std::atomic<bool> counting{false};
/// Heap calls from simclrc's code, and from inside oneDNN.
std::atomic<long> heapCalls{0};
std::atomic<long> oneDnnHeapCalls{0};

/// The call stacks of the first heap calls counted, for the failure
/// message (backtrace() itself allocates nothing once warmed up).
constexpr int kRecordedCalls = 4;
constexpr int kStackDepth = 12;
void *recorded[kRecordedCalls][kStackDepth];
int recordedDepth[kRecordedCalls];
thread_local bool inCount = false;

/// Whether the stack holds a frame of oneDNN's library.
bool insideOneDnn(void *const *stack, int depth) {
  for (int frame = 0; frame < depth; ++frame) {
    Dl_info info;
    if (dladdr(stack[frame], &info) && info.dli_fname &&
        std::strstr(info.dli_fname, "libdnnl"))
      return true;
  }
  return false;
}

void count() {
  if (!counting.load(std::memory_order_relaxed) || inCount)
    return;
  inCount = true;
  void *stack[kStackDepth];
  int depth = backtrace(stack, kStackDepth);
  if (insideOneDnn(stack, depth)) {
    oneDnnHeapCalls.fetch_add(1, std::memory_order_relaxed);
  } else {
    long index = heapCalls.fetch_add(1, std::memory_order_relaxed);
    if (index < kRecordedCalls) {
      std::memcpy(recorded[index], stack, sizeof(stack));
      recordedDepth[index] = depth;
    }
  }
  inCount = false;
}

/// The recorded stacks, one frame per line with its symbol.
std::string recordedStacks() {
  std::string text;
  for (int call = 0; call < kRecordedCalls && call < heapCalls.load(); ++call) {
    text += "heap call " + std::to_string(call) + ":\n";
    for (int frame = 0; frame < recordedDepth[call]; ++frame) {
      Dl_info info;
      const char *symbol = dladdr(recorded[call][frame], &info) && info.dli_sname
                               ? info.dli_sname
                               : "?";
      const char *object = info.dli_fname ? info.dli_fname : "?";
      text += "  " + std::string(symbol) + " (" + object + ")\n";
    }
  }
  return text;
}

} // namespace

extern "C" {
void *malloc(size_t size) {
  count();
  return __libc_malloc(size);
}
void *calloc(size_t n, size_t size) {
  count();
  return __libc_calloc(n, size);
}
void *realloc(void *p, size_t size) {
  count();
  return __libc_realloc(p, size);
}
void *memalign(size_t alignment, size_t size) {
  count();
  return __libc_memalign(alignment, size);
}
void *aligned_alloc(size_t alignment, size_t size) {
  count();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void **out, size_t alignment, size_t size) {
  count();
  void *p = __libc_memalign(alignment, size);
  if (!p)
    return ENOMEM;
  *out = p;
  return 0;
}
void free(void *p) {
  if (p)
    count();
  __libc_free(p);
}
}

namespace simclr {
namespace {

TEST(StepAllocationTest, TrainStepsAndEncodeAfterTheFirstAllocateNothing) {
  Expected<frontend::TrainingSpec> spec = frontend::readSpecFile(
      std::string(SIMCLR_SOURCE_DIR) + "/examples/fashion-mnist.toml");
  ASSERT_TRUE(spec) << spec.status().message();
  mlir::MLIRContext context;
  auto artifact = testing::compileArtifact(context, *spec, /*fused=*/true,
                                           testing::scratchDirectory("fm"));
  ASSERT_TRUE(artifact);
  auto executor = runtime::Executor::create(artifact, {/*threads=*/2});
  ASSERT_TRUE(executor) << executor.status().message();
  runtime::Executor &exec = **executor;
  ASSERT_TRUE(exec.initializeState(0).isOk());

  const artifact::Plan &plan = artifact->plan();
  const artifact::Buffer *views = nullptr;
  for (const artifact::Binding &b : plan.findProgram("train_step")->inputs)
    if (b.role == "views")
      views = plan.findBuffer(b.buffer);
  ASSERT_TRUE(views);
  std::vector<float> viewData(static_cast<size_t>(views->bytes) / sizeof(float));
  std::mt19937 rng(0);
  std::normal_distribution<float> normal;
  for (float &v : viewData)
    v = normal(rng);
  std::vector<uint8_t> images(static_cast<size_t>(exec.encodeBatch()) * 28 * 28);
  std::vector<float> features(static_cast<size_t>(exec.encodeBatch()) *
                              static_cast<size_t>(exec.featureDim()));

  // The first step and encode may set things up (OpenMP's thread team);
  // backtrace() loads its unwinder on its first call.
  void *warmUp[1];
  backtrace(warmUp, 1);
  ASSERT_TRUE(exec.trainStep(viewData, 0).isOk());
  ASSERT_TRUE(exec.encode(images, features).isOk());
  heapCalls = 0;
  counting = true;
  Status steps = exec.trainStep(viewData, 1);
  if (steps.isOk())
    steps = exec.trainStep(viewData, 2);
  Status encoded = exec.encode(images, features);
  counting = false;
  ASSERT_TRUE(steps.isOk()) << steps.message();
  ASSERT_TRUE(encoded.isOk()) << encoded.message();
  EXPECT_EQ(heapCalls.load(), 0)
      << "heap calls in two train steps and one encode; the first:\n"
      << recordedStacks();
  std::printf("heap calls inside dnnl_primitive_execute (its argument map): "
              "%ld in two train steps and one encode\n",
              oneDnnHeapCalls.load());
}

} // namespace
} // namespace simclr
