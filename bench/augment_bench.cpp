//===- augment_bench.cpp - Images/s of the Halide and reference augmenters ===//
//
// Times Augmenter::augmentView on synthetic uint8 batches for the
// Fashion-MNIST policy (1x28x28: crop scale 0.2-1, flip, jitter b/c 0.4
// p 0.8, normalize) and SimCLR's CIFAR-10 policy (3x32x32: crop 0.08-1,
// flip, jitter 0.4/0.4/0.4/0.1 p 0.8, grayscale 0.2, normalize), with
// --threads threads (one count per process: Halide 14's pool does not shrink
// once started). The Halide augmenter's threads are Halide's pool; the
// reference augmenter is single-threaded, so with 2 threads it runs two
// augmenters on the two halves of the batch at once (the same work, not the
// same view).
// Each figure is the median of --repeats timings of --iterations views.
// A second table splits the Halide time by step: the time of the policy's
// first k steps minus that of its first k - 1 (per image, in ns), for the
// schedules' measurements (runtime/Augment/generators); it adds STL-10
// (3x96x96, CIFAR's policy plus a 9-tap blur) for the blur kernel.
// Not a test: docs/benchmarks.md records its output and command.
//
//===----------------------------------------------------------------------===//
#include "simclr/Runtime/HalideAugmenter.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace simclr;

struct Options {
  int64_t batch = 256;
  int iterations = 20;
  int repeats = 5;
  int threads = 1;
};

void usage() {
  std::printf("usage: simclr-augment-bench [--batch N] [--iterations N] [--repeats N]\n"
              "                           [--threads N]\n"
              "Prints images/s of the Halide and reference augmenters on the\n"
              "Fashion-MNIST and CIFAR-10 SimCLR policies with N threads\n"
              "(default 1), and the Halide time of each step.\n");
}

bool parse(int argc, char **argv, Options &options) {
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      usage();
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "augment_bench: %s needs a value\n", flag.c_str());
      return false;
    }
    long value = std::strtol(argv[++i], nullptr, 10);
    if (value < 1) {
      std::fprintf(stderr, "augment_bench: %s must be a positive integer\n", flag.c_str());
      return false;
    }
    if (flag == "--batch")
      options.batch = value;
    else if (flag == "--iterations")
      options.iterations = static_cast<int>(value);
    else if (flag == "--repeats")
      options.repeats = static_cast<int>(value);
    else if (flag == "--threads")
      options.threads = static_cast<int>(value);
    else {
      std::fprintf(stderr, "augment_bench: unknown flag %s\n", flag.c_str());
      return false;
    }
  }
  return true;
}

AugmentationStep step(AugmentationKind kind, double p = 0.5) {
  AugmentationStep s;
  s.kind = kind;
  s.probability = p;
  return s;
}

AugmentationPolicy fashionPolicy() {
  AugmentationStep crop = step(AugmentationKind::kRandomResizedCrop);
  crop.scale = {0.2, 1.0};
  crop.size = std::array<int64_t, 2>{28, 28};
  AugmentationStep jitter = step(AugmentationKind::kColorJitter, 0.8);
  jitter.brightness = jitter.contrast = 0.4;
  AugmentationStep normalize = step(AugmentationKind::kNormalize);
  normalize.mean = {0.2860};
  normalize.std = {0.3530};
  return {crop, step(AugmentationKind::kHorizontalFlip), jitter, normalize};
}

/// STL-10 (3x96x96): CIFAR's policy with a 9-tap Gaussian blur, for the
/// per-step table only.
AugmentationPolicy stl10Policy();

AugmentationPolicy cifarPolicy() {
  AugmentationStep crop = step(AugmentationKind::kRandomResizedCrop);
  crop.scale = {0.08, 1.0};
  crop.size = std::array<int64_t, 2>{32, 32};
  AugmentationStep jitter = step(AugmentationKind::kColorJitter, 0.8);
  jitter.brightness = jitter.contrast = jitter.saturation = 0.4;
  jitter.hue = 0.1;
  AugmentationStep normalize = step(AugmentationKind::kNormalize);
  normalize.mean = {0.4914, 0.4822, 0.4465};
  normalize.std = {0.2470, 0.2435, 0.2616};
  return {crop, step(AugmentationKind::kHorizontalFlip), jitter,
          step(AugmentationKind::kRandomGrayscale, 0.2), normalize};
}

AugmentationPolicy stl10Policy() {
  AugmentationPolicy policy = cifarPolicy();
  policy[0].size = std::array<int64_t, 2>{96, 96};
  AugmentationStep blur = step(AugmentationKind::kGaussianBlur, 0.5);
  blur.kernelSize = 9;
  blur.sigma = {0.1, 2.0};
  policy.insert(policy.end() - 1, blur);
  policy.back().mean = {0.4467, 0.4398, 0.4066};
  policy.back().std = {0.2603, 0.2566, 0.2713};
  return policy;
}

/// Seconds per view: the median of `repeats` timings of `iterations` calls.
template <typename Run> double secondsPerView(const Options &options, Run run) {
  run(0); // warm-up: thread pool start, scratch allocation
  std::vector<double> timings;
  for (int r = 0; r < options.repeats; ++r) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < options.iterations; ++i)
      run(static_cast<uint64_t>(r * options.iterations + i + 1));
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    timings.push_back(elapsed.count() / options.iterations);
  }
  std::sort(timings.begin(), timings.end());
  return timings[timings.size() / 2];
}

/// augmentView of `augmenters[t]` on the t-th slice of the batch, the slices
/// run concurrently (one thread when there is one augmenter).
bool augmentSlices(std::vector<std::unique_ptr<Augmenter>> &augmenters,
                   const ImageBatchView &batch, std::vector<float> &out, uint64_t step) {
  const int64_t slices = static_cast<int64_t>(augmenters.size());
  const int64_t inImage = batch.channels * batch.height * batch.width;
  const int64_t outImage = static_cast<int64_t>(out.size()) / batch.count;
  std::vector<Status> results(augmenters.size());
  auto work = [&](int64_t t) {
    int64_t first = batch.count * t / slices, last = batch.count * (t + 1) / slices;
    ImageBatchView slice = batch;
    slice.pixels = batch.pixels + first * inImage;
    slice.count = last - first;
    results[static_cast<size_t>(t)] = augmenters[static_cast<size_t>(t)]->augmentView(
        slice, keyFromSeed(step), out.data() + first * outImage, (last - first) * outImage);
  };
  std::vector<std::thread> threads;
  for (int64_t t = 1; t < slices; ++t)
    threads.emplace_back(work, t);
  work(0);
  for (std::thread &thread : threads)
    thread.join();
  for (const Status &status : results)
    if (!status.isOk()) {
      std::fprintf(stderr, "augment_bench: %s\n", status.toString().c_str());
      return false;
    }
  return true;
}

const char *kindName(AugmentationKind kind) {
  switch (kind) {
  case AugmentationKind::kRandomResizedCrop:
    return "crop (+ u8 to float)";
  case AugmentationKind::kHorizontalFlip:
    return "flip";
  case AugmentationKind::kColorJitter:
    return "color jitter";
  case AugmentationKind::kRandomGrayscale:
    return "grayscale";
  case AugmentationKind::kGaussianBlur:
    return "gaussian blur";
  case AugmentationKind::kNormalize:
    return "normalize";
  }
  return "?";
}

/// ns per image of each step of `policy` in the Halide augmenter, by threads.
bool benchSteps(const char *name, const AugmentationPolicy &policy, int64_t channels,
                int64_t side, const Options &options) {
  std::vector<uint8_t> pixels(static_cast<size_t>(options.batch * channels * side * side));
  std::mt19937 rng(43);
  for (uint8_t &p : pixels)
    p = static_cast<uint8_t>(rng());
  ImageBatchView batch{pixels.data(), options.batch, channels, side, side};
  std::vector<float> out(pixels.size());
  {
    const int threads = options.threads;
    double previous = 0;
    for (size_t k = 1; k <= policy.size(); ++k) {
      AugmentationPolicy prefix(policy.begin(), policy.begin() + static_cast<long>(k));
      std::vector<std::unique_ptr<Augmenter>> augmenters;
      Expected<std::unique_ptr<Augmenter>> made = createHalideAugmenter(prefix);
      if (!made)
        return false;
      augmenters.push_back(std::move(*made));
      bool ok = true;
      double seconds = secondsPerView(options, [&](uint64_t step) {
        ok = ok && augmentSlices(augmenters, batch, out, step);
      });
      if (!ok)
        return false;
      std::printf("| %s | %d | %s | %.0f |\n", name, threads, kindName(policy[k - 1].kind),
                  (seconds - previous) * 1e9 / static_cast<double>(options.batch));
      previous = seconds;
    }
  }
  return true;
}

bool benchPolicy(const char *name, const AugmentationPolicy &policy, int64_t channels,
                 int64_t side, const Options &options) {
  std::vector<uint8_t> pixels(static_cast<size_t>(options.batch * channels * side * side));
  std::mt19937 rng(42);
  for (uint8_t &p : pixels)
    p = static_cast<uint8_t>(rng());
  ImageBatchView batch{pixels.data(), options.batch, channels, side, side};
  std::vector<float> out(pixels.size());

  std::vector<std::unique_ptr<Augmenter>> halideAugmenters;
  Expected<std::unique_ptr<Augmenter>> made = createHalideAugmenter(policy);
  if (!made) {
    std::fprintf(stderr, "augment_bench: %s\n", made.status().toString().c_str());
    return false;
  }
  halideAugmenters.push_back(std::move(*made));
  bool ok = true;
  double halide = secondsPerView(options, [&](uint64_t step) {
    ok = ok && augmentSlices(halideAugmenters, batch, out, step);
  });

  std::vector<std::unique_ptr<Augmenter>> referenceAugmenters;
  for (int t = 0; t < options.threads; ++t) {
    Expected<std::unique_ptr<Augmenter>> reference = createReferenceAugmenter(policy);
    if (!reference) {
      std::fprintf(stderr, "augment_bench: %s\n", reference.status().toString().c_str());
      return false;
    }
    referenceAugmenters.push_back(std::move(*reference));
  }
  double reference = secondsPerView(options, [&](uint64_t step) {
    ok = ok && augmentSlices(referenceAugmenters, batch, out, step);
  });
  if (!ok)
    return false;
  double halideRate = static_cast<double>(options.batch) / halide;
  double referenceRate = static_cast<double>(options.batch) / reference;
  std::printf("| %s | %d | %.0f | %.0f | %.1fx |\n", name, options.threads, halideRate,
              referenceRate, halideRate / referenceRate);
  return true;
}

} // namespace

int main(int argc, char **argv) {
  Options options;
  if (!parse(argc, argv, options))
    return 1;
  // Before any kernel runs: the pool keeps the threads it starts with.
  setHalideThreadCount(options.threads);
  std::printf("batch %lld, median of %d x %d views\n", static_cast<long long>(options.batch),
              options.repeats, options.iterations);
  std::printf("| policy | threads | Halide images/s | reference images/s | speed-up |\n");
  std::printf("|---|---|---|---|---|\n");
  if (!benchPolicy("Fashion-MNIST 1x28x28", fashionPolicy(), 1, 28, options) ||
      !benchPolicy("CIFAR-10 3x32x32", cifarPolicy(), 3, 32, options))
    return 1;
  std::printf("\n| policy | threads | Halide step | ns per image |\n|---|---|---|---|\n");
  if (!benchSteps("Fashion-MNIST", fashionPolicy(), 1, 28, options) ||
      !benchSteps("CIFAR-10", cifarPolicy(), 3, 32, options) ||
      !benchSteps("STL-10", stl10Policy(), 3, 96, options))
    return 1;
  return 0;
}
