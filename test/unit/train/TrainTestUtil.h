//===- TrainTestUtil.h - A fake model, data and scratch dirs ----*- C++ -*-===//
#ifndef SIMCLR_TEST_UNIT_TRAIN_TRAINTESTUTIL_H
#define SIMCLR_TEST_UNIT_TRAIN_TRAINTESTUTIL_H

#include "simclr/Runtime/Augmenter.h"
#include "simclr/Runtime/Dataset.h"
#include "simclr/Runtime/StepModel.h"
#include "simclr/Support/FileIO.h"
#include "simclr/Support/Safetensors.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace simclr::testing {

/// A fresh directory under $SIMCLR_TEST_TMPDIR (set by ctest) or /tmp,
/// removed with its contents on destruction.
class ScratchDir {
public:
  ScratchDir() {
    const char *parent = std::getenv("SIMCLR_TEST_TMPDIR");
    std::string base = parent && *parent ? parent : "/tmp";
    std::error_code ignored;
    std::filesystem::create_directories(base, ignored);
    Expected<std::string> dir = makeTempDirectory(base, "simclr-train-");
    if (dir)
      path_ = *dir;
  }
  ~ScratchDir() {
    std::error_code ignored;
    if (!path_.empty())
      std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir &) = delete;
  ScratchDir &operator=(const ScratchDir &) = delete;
  /// Empty if creation failed; tests ASSERT on it.
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

/// A tiny deterministic "model": a parameter vector pulled towards the
/// views' sums, so every step's result depends on that step's batch, the
/// step index and all earlier state. Its whole state goes through
/// safetensors like the executor's.
class FakeModel final : public StepModel {
public:
  static constexpr int64_t kParameters = 16;
  /// How much old state each step keeps, and the views' pull: arbitrary,
  /// chosen so the state stays O(1) and depends on every step.
  static constexpr float kDecay = 0.75f, kPull = 1e-3f, kStepTerm = 1e-4f;

  explicit FakeModel(std::string identity = "fake-artifact-1")
      : parameters(kParameters, 0.5f), identity_(std::move(identity)) {}

  Status trainStep(std::span<const float> views, int64_t step) override {
    if (views.empty())
      return invalidArgument("no views");
    std::vector<float> sums(kParameters, 0.0f);
    for (size_t i = 0; i < views.size(); ++i)
      sums[i % kParameters] += views[i];
    for (int64_t i = 0; i < kParameters; ++i)
      parameters[i] = parameters[i] * kDecay + sums[i] * kPull +
                      static_cast<float>(step) * kStepTerm;
    float sum = 0;
    for (float p : parameters)
      sum += std::fabs(p);
    loss = sum / kParameters;
    if (nanAtStep && *nanAtStep == step) {
      loss = std::numeric_limits<float>::quiet_NaN();
      parameters[0] = loss;
    }
    learningRate = 0.1f / static_cast<float>(1 + step);
    if (stopFlag && stopAtStep && *stopAtStep == step)
      stopFlag->store(true);
    stepsSeen.push_back(step);
    return Status::ok();
  }
  float lastLoss() const override { return loss; }
  float lastLearningRate() const override { return learningRate; }

  Status saveState(const std::string &path,
                   const StateMetadata &metadata) const override {
    SafetensorsWriter writer;
    SIMCLR_RETURN_IF_ERROR(writer.add("p", DType::kF32, {kParameters}, parameters.data()));
    if (!padding.empty())
      SIMCLR_RETURN_IF_ERROR(writer.add("padding", DType::kU8,
                                        {static_cast<int64_t>(padding.size())},
                                        padding.data()));
    for (const auto &[key, value] : metadata)
      writer.setMetadata(key, value);
    writer.recordChecksums();
    return writer.writeAtomically(path);
  }
  Status loadState(const std::string &path) override {
    Expected<SafetensorsReader> reader = SafetensorsReader::open(path);
    if (!reader)
      return reader.takeStatus();
    return reader->read("p", DType::kF32, {kParameters}, parameters.data(),
                        parameters.size() * sizeof(float));
  }
  std::string identity() const override { return identity_; }

  std::vector<float> parameters;
  /// Extra bytes saved with the state, to make writes slow enough to kill.
  std::vector<uint8_t> padding;
  std::optional<int64_t> nanAtStep;
  /// Sets *stopFlag during step *stopAtStep, as a signal arriving mid-step.
  std::optional<int64_t> stopAtStep;
  std::atomic<bool> *stopFlag = nullptr;
  std::vector<int64_t> stepsSeen;

private:
  std::string identity_;
  float loss = 0;
  float learningRate = 0;
};

/// `count` 1x8x8 images whose pixels are a fixed function of (image, pixel).
inline ImageDataset makeTinyDataset(int64_t count) {
  constexpr int64_t kSide = 8;
  // Coprime multipliers make neighbouring pixels and images differ.
  constexpr uint32_t kImageStride = 97, kPixelStride = 37;
  ImageDataset data;
  data.count = count;
  data.channels = 1;
  data.height = data.width = kSide;
  data.pixels.resize(static_cast<size_t>(count * data.imageBytes()));
  for (int64_t i = 0; i < count; ++i)
    for (int64_t p = 0; p < data.imageBytes(); ++p)
      data.pixels[static_cast<size_t>(i * data.imageBytes() + p)] =
          static_cast<uint8_t>((i * kImageStride + p * kPixelStride) % 256);
  return data;
}

/// A crop to 6x6 and a flip: random, so batches depend on (seed, step).
inline AugmentationPolicy tinyPolicy() {
  AugmentationPolicy policy(2);
  policy[0].kind = AugmentationKind::kRandomResizedCrop;
  policy[0].scale = {0.3, 1.0};
  policy[0].size = std::array<int64_t, 2>{6, 6};
  policy[1].kind = AugmentationKind::kHorizontalFlip;
  policy[1].probability = 0.5;
  return policy;
}

inline std::string readText(const std::string &path) {
  Expected<std::vector<uint8_t>> bytes = readFile(path);
  return bytes ? std::string(bytes->begin(), bytes->end()) : std::string();
}

} // namespace simclr::testing

#endif // SIMCLR_TEST_UNIT_TRAIN_TRAINTESTUTIL_H
