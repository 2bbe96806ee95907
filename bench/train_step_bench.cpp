//===- train_step_bench.cpp - Times a compiled artifact's train step ------===//
//
// simclr-train-step-bench ARTIFACT_DIR [--steps N] [--warmup W] [--threads T]
//                         [--seed S] [--device D]
//
// Loads the artifact, initializes its state from the seed, fills the views
// input once with normalized random values (standard normal, fixed seed:
// what the normalize augmentation produces, roughly), runs W untimed
// warm-up steps and then N timed Executor::trainStep calls. Augmentation and
// data loading are excluded: this is the compiled step alone, the figure
// bench/pytorch_simclr.py's "step" mode measures for PyTorch.
//
// Convention: images/s counts the batch N per step (the spec's batch_size),
// not the 2N views the step processes; views/s is printed too. Peak RSS is
// the process's (getrusage ru_maxrss), which includes the artifact's state,
// input block and arena, the kernel library and oneDNN's scratch.
//
// Arithmetic: the FLOPs of the step's library calls (convolutions forward
// and backward, GEMMs: 2 per multiply-add, counted from the plan's shapes;
// what an FMA unit executes, the generated element-wise kernels left out),
// their rate over the whole step, and that rate as a share of this
// machine's FMA peak with the same thread count (fma_peak.h). The count is
// the network's, not simclrc's: bench/compare.sh divides it by PyTorch's
// step time too.
//
// Output: one human-readable line per figure, then one JSON line (prefix
// "json: ") that bench/compare.sh parses.
//
//===----------------------------------------------------------------------===//
#include "fma_peak.h"

#include "simclr/Runtime/Executor.h"
#include "simclr/Support/CommonFlags.h"
#include "simclr/Support/Vocabulary.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

using namespace simclr;

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr const char *kTrainStepProgram = "train_step";
/// ru_maxrss is in KiB on Linux (getrusage(2)).
constexpr double kKiBPerMiB = 1024.0;
constexpr double kMsPerS = 1000.0;

struct Arguments {
  std::string artifactDir;
  int64_t steps = 10;
  int64_t warmup = 2;
  int threads = 2;
  uint64_t seed = 0;
  /// Unset: the device the artifact was compiled for.
  std::optional<DeviceSpec> device;
};

int fail(const std::string &message) {
  std::cerr << "simclr-train-step-bench: error: " << message << "\n";
  return kExitFailure;
}

/// The shape of the train step's "views" input (2N x C x H x W), or an
/// error naming the artifact.
Expected<std::vector<int64_t>> viewsShape(const artifact::Plan &plan,
                                          const std::string &dir) {
  const artifact::Program *program = plan.findProgram(kTrainStepProgram);
  if (!program)
    return invalidArgument(dir + ": the plan has no train_step program");
  for (const artifact::Binding &b : program->inputs) {
    if (b.role != "views")
      continue;
    const artifact::Buffer *buffer = plan.findBuffer(b.buffer);
    if (!buffer || buffer->shape.size() != 4)
      return invalidArgument(dir + ": train_step's views buffer is not 2N x C x H x W");
    return buffer->shape;
  }
  return invalidArgument(dir + ": train_step has no 'views' input");
}

int64_t product(const std::vector<int64_t> &dims, size_t from = 0) {
  int64_t result = 1;
  for (size_t i = from; i < dims.size(); ++i)
    result *= dims[i];
  return result;
}

/// Multiply-add FLOPs (2 per MAC) of the library calls of `program`, from
/// the operands' shapes. Convolutions: every output (or output-gradient)
/// element takes C/groups x R x S MACs in each of forward, backward-data and
/// backward-filter. GEMM C = op(A) op(B): M x N x K. `uncounted` gets the
/// number of other extern calls.
double libraryFlops(const artifact::Plan &plan, const artifact::Program &program,
                    int64_t &uncounted) {
  double macs = 0;
  uncounted = 0;
  auto shapeOf = [&](int64_t id) -> const std::vector<int64_t> & {
    return plan.findBuffer(id)->shape;
  };
  for (const artifact::ScheduleEntry &e : program.schedule) {
    if (e.kind != artifact::EntryKind::kExtern)
      continue;
    // Inputs and the output; a workspace may follow.
    if (e.numInputs != kExternInputs || e.numOutputs != kExternOutputs) {
      ++uncounted;
      continue;
    }
    const std::vector<int64_t> &a = shapeOf(e.operands[0]), &b = shapeOf(e.operands[1]),
                               &c = shapeOf(e.operands[2]);
    std::optional<ExternRoutine> routine = parseExternRoutine(e.name);
    if (routine == ExternRoutine::kConv2d ||
        routine == ExternRoutine::kConv2dBackwardInput) {
      // (x, w, y) or (dy, w, dx): |y| or |dy| x |w| / K.
      macs += static_cast<double>(
                  product(routine == ExternRoutine::kConv2d ? c : a)) *
              product(b, 1);
    } else if (routine == ExternRoutine::kConv2dBackwardFilter) {
      // (dy, x, dw): |dy| x |dw| / K.
      macs += static_cast<double>(product(a)) * product(c, 1);
    } else if (routine == ExternRoutine::kMatmul && a.size() == 2) {
      auto it = e.attrs.find("transpose_lhs");
      bool transposed = it != e.attrs.end() && std::get_if<int64_t>(&it->second) &&
                        std::get<int64_t>(it->second) != 0;
      macs += static_cast<double>(product(c)) * (transposed ? a[0] : a[1]);
    } else {
      ++uncounted;
    }
  }
  return 2.0 * macs;
}

double peakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / kKiBPerMiB;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

int run(const Arguments &args) {
  Expected<std::shared_ptr<const runtime::Artifact>> artifact =
      runtime::Artifact::load(args.artifactDir);
  if (!artifact)
    return fail(artifact.status().message());
  Expected<std::vector<int64_t>> shape = viewsShape((*artifact)->plan(), args.artifactDir);
  if (!shape)
    return fail(shape.status().message());
  runtime::ExecutorOptions options;
  options.threads = args.threads;
  options.device = args.device;
  Expected<std::unique_ptr<runtime::Executor>> executor =
      runtime::Executor::create(*artifact, options);
  if (!executor)
    return fail(executor.status().message());
  if (Status status = (*executor)->initializeState(args.seed); !status.isOk())
    return fail(status.message());

  int64_t views = (*shape)[0];
  int64_t batch = views / 2;
  int64_t elements = 1;
  for (int64_t d : *shape)
    elements *= d;
  std::vector<float> input(static_cast<size_t>(elements));
  std::mt19937_64 rng(args.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float &v : input)
    v = normal(rng);

  auto step = [&](int64_t index) -> Status {
    return (*executor)->trainStep(input, index);
  };
  for (int64_t i = 0; i < args.warmup; ++i)
    if (Status status = step(i); !status.isOk())
      return fail(status.message());

  std::vector<double> stepMs;
  auto begin = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < args.steps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    if (Status status = step(args.warmup + i); !status.isOk())
      return fail(status.message());
    stepMs.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
            .count());
  }
  double totalS =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  float loss = (*executor)->lastLoss();
  if (!std::isfinite(loss))
    return fail("the loss is " + std::to_string(loss) + " after the timed steps");

  double imagesPerS = static_cast<double>(batch * args.steps) / totalS;
  double meanMs = totalS * kMsPerS / static_cast<double>(args.steps);
  double rss = peakRssMiB();
  int64_t uncounted = 0;
  double flops = libraryFlops((*artifact)->plan(),
                              *(*artifact)->plan().findProgram(kTrainStepProgram), uncounted);
  double gflops = flops / (meanMs / kMsPerS) / 1e9;
  const char *isa = "none";
  // After the timed steps, so the peak loop does not warm or cool them. The
  // CPU's peak says nothing of a step that ran on a GPU: 0 there.
  bool onCpu = (*artifact)->plan().library.target == targetKindName(TargetKind::kCpu);
  int peakThreads = args.threads > 0 ? args.threads
                                     : static_cast<int>(std::thread::hardware_concurrency());
  double peak = onCpu ? measureFmaPeak(peakThreads, &isa) : 0.0;
  std::printf("artifact: %s (views %lld x %lld x %lld x %lld, batch N = %lld)\n",
              args.artifactDir.c_str(), static_cast<long long>(views),
              static_cast<long long>((*shape)[1]), static_cast<long long>((*shape)[2]),
              static_cast<long long>((*shape)[3]), static_cast<long long>(batch));
  std::printf("threads %d, warm-up %lld, timed steps %lld\n", args.threads,
              static_cast<long long>(args.warmup), static_cast<long long>(args.steps));
  std::printf("ms/step: mean %.1f, median %.1f, min %.1f\n", meanMs, median(stepMs),
              *std::min_element(stepMs.begin(), stepMs.end()));
  std::printf("images/s (N per step): %.1f; views/s (2N): %.1f\n", imagesPerS,
              2.0 * imagesPerS);
  std::printf("peak RSS: %.1f MiB; last loss %.5f\n", rss, loss);
  std::string uncountedText =
      uncounted ? " (+" + std::to_string(uncounted) + " uncounted calls)" : "";
  if (onCpu)
    std::printf("library FLOPs per step: %.3f GFLOP%s; %.1f GFLOP/s over the step, "
                "%.0f%% of the FMA peak (%.0f GFLOP/s, %s, %d threads)\n",
                flops / 1e9, uncountedText.c_str(), gflops,
                peak > 0 ? 100.0 * gflops / peak : 0.0, peak, isa, peakThreads);
  else
    std::printf("library FLOPs per step: %.3f GFLOP%s; %.1f GFLOP/s over the step "
                "(target %s)\n",
                flops / 1e9, uncountedText.c_str(), gflops,
                (*artifact)->plan().library.target.c_str());
  std::printf("json: {\"batch\": %lld, \"threads\": %d, \"steps\": %lld, "
              "\"ms_per_step\": %.3f, \"median_ms\": %.3f, \"images_per_s\": %.3f, "
              "\"peak_rss_mib\": %.1f, \"loss\": %.6f, \"library_flops\": %.0f, "
              "\"gflops\": %.2f, \"fma_peak_gflops\": %.1f}\n",
              static_cast<long long>(batch), args.threads,
              static_cast<long long>(args.steps), meanMs, median(stepMs), imagesPerS,
              rss, loss, flops, gflops, peak);
  return 0;
}

constexpr const char *kUsage =
    "usage: simclr-train-step-bench ARTIFACT_DIR [--steps N] [--warmup W] "
    "[--threads T] [--seed S] [--device D]\n"
    "Times Executor::trainStep of a compiled artifact on random normalized views\n"
    "(no augmentation, no data loading).\n"
    "  --steps N    timed steps (default 10)\n"
    "  --warmup W   untimed steps first; oneDNN creates its primitives on the "
    "first (default 2)\n"
    "  --threads T  worker threads, 0: one per core (default 2)\n"
    "  --seed S     seed of the initial state and of the random views (default 0)\n"
    "  --device D   'cpu', 'cuda' or 'cuda:N' (default: the artifact's target's)\n";

int usageError(const std::string &message) {
  std::cerr << "simclr-train-step-bench: error: " << message
            << " (--help lists the options)\n";
  return kExitUsage;
}

/// Parses `text` as an integer of at least `minimum` into `out`.
bool parseInt(const std::string &text, int64_t minimum, int64_t &out) {
  try {
    size_t used = 0;
    long long value = std::stoll(text, &used);
    if (used != text.size() || value < minimum)
      return false;
    out = value;
    return true;
  } catch (const std::exception &) {
    return false;
  }
}

} // namespace

int main(int argc, char **argv) {
  Arguments args;
  int64_t threads = args.threads;
  int64_t seed = 0;
  struct IntFlag {
    std::string name;
    int64_t minimum;
    int64_t *value;
  };
  const IntFlag intFlags[] = {{"--steps", 1, &args.steps},
                              {"--warmup", 0, &args.warmup},
                              {std::string("--") + flags::kThreads.name, 0, &threads},
                              {std::string("--") + flags::kSeed.name, 0, &seed}};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg == std::string("--") + flags::kDevice.name) {
      if (i + 1 >= argc)
        return usageError(arg + " needs a value");
      Expected<DeviceSpec> device = parseDeviceSpec(argv[++i]);
      if (!device)
        return usageError(device.status().message());
      args.device = *device;
      continue;
    }
    const IntFlag *flag = nullptr;
    for (const IntFlag &f : intFlags)
      if (arg == f.name)
        flag = &f;
    if (flag) {
      if (i + 1 >= argc)
        return usageError(arg + " needs a value");
      if (!parseInt(argv[++i], flag->minimum, *flag->value))
        return usageError(arg + " must be an integer of at least " +
                          std::to_string(flag->minimum) + ", got '" + argv[i] + "'");
    } else if (!arg.empty() && arg[0] == '-') {
      return usageError("unknown option '" + arg + "'");
    } else if (args.artifactDir.empty()) {
      args.artifactDir = arg;
    } else {
      return usageError("one artifact directory expected, got '" + arg + "' too");
    }
  }
  if (args.artifactDir.empty())
    return usageError("missing ARTIFACT_DIR");
  args.threads = static_cast<int>(threads);
  args.seed = static_cast<uint64_t>(seed);
  return run(args);
}
