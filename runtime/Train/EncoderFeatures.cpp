//===- EncoderFeatures.cpp - Features of a compiled encoder, kNN monitor --===//
#include "simclr/Runtime/EncoderFeatures.h"
#include "simclr/Support/TrainingConfig.h"

#include <algorithm>
#include <cstring>

namespace simclr {

namespace {

std::string shapeText(int64_t c, int64_t h, int64_t w) {
  return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
}

} // namespace

Expected<eval::FeatureMatrix> encodeDataset(runtime::Executor &executor,
                                            const ImageDataset &dataset,
                                            int64_t count) {
  const int64_t batch = executor.encodeBatch();
  const int64_t dim = executor.featureDim();
  if (batch < 1 || dim < 1)
    return invalidArgument(executor.artifact().directory() +
                           ": the artifact has no 'encode' program");
  if (count <= 0 || count > dataset.count)
    count = dataset.count;
  if (count < 1)
    return invalidArgument("the dataset has no images to encode");
  if (static_cast<int64_t>(dataset.labels.size()) < count)
    return invalidArgument("the dataset has no labels; evaluation needs one per image");
  Expected<TrainingConfig> config = trainingConfigFromPlan(executor.artifact().plan());
  if (!config)
    return config.takeStatus();
  const std::array<int64_t, 3> &shape = config->imageShape;
  if (shape != std::array<int64_t, 3>{dataset.channels, dataset.height, dataset.width})
    return invalidArgument("images are " +
                           shapeText(dataset.channels, dataset.height, dataset.width) +
                           " (CxHxW), the artifact was compiled for " +
                           shapeText(shape[0], shape[1], shape[2]));
  const int64_t imageBytes = dataset.imageBytes();
  std::vector<uint8_t> images(static_cast<size_t>(batch * imageBytes));
  std::vector<float> features(static_cast<size_t>(batch * dim));

  eval::FeatureMatrix result;
  result.count = count;
  result.dim = dim;
  result.values.resize(static_cast<size_t>(count * dim));
  result.labels.resize(static_cast<size_t>(count));
  std::copy_n(dataset.labels.begin(), count, result.labels.begin());
  for (int64_t begin = 0; begin < count; begin += batch) {
    int64_t rows = std::min(batch, count - begin);
    std::memcpy(images.data(), dataset.pixels.data() + begin * imageBytes,
                static_cast<size_t>(rows * imageBytes));
    if (rows < batch)
      std::memset(images.data() + rows * imageBytes, 0,
                  static_cast<size_t>((batch - rows) * imageBytes));
    SIMCLR_RETURN_IF_ERROR(executor.encode(images, features));
    std::memcpy(result.values.data() + begin * dim, features.data(),
                static_cast<size_t>(rows * dim) * sizeof(float));
  }
  return result;
}

Expected<double> knnMonitorTop1(runtime::Executor &executor,
                                const ImageDataset &bank,
                                const ImageDataset &queries,
                                const eval::KnnOptions &options) {
  Expected<eval::FeatureMatrix> bankFeatures = encodeDataset(executor, bank);
  if (!bankFeatures)
    return bankFeatures.status().withContext("kNN memory bank");
  Expected<eval::FeatureMatrix> queryFeatures = encodeDataset(executor, queries);
  if (!queryFeatures)
    return queryFeatures.status().withContext("kNN queries");
  Expected<eval::ClassificationResult> result =
      eval::knnClassify(*bankFeatures, *queryFeatures, options);
  if (!result)
    return result.takeStatus();
  return result->top1();
}

} // namespace simclr
