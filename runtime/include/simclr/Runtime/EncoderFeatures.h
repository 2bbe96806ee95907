//===- EncoderFeatures.h - Dataset splits and features of a compiled encoder -===//
//
// What simclr-eval and simclr-train's kNN monitor share: reading one split
// of a dataset by what its path holds, running a compiled artifact's
// "encode" program over a dataset in batches of its compiled size, and the
// weighted kNN top-1 of a memory bank and queries (Knn.h).
//
// Ownership: functions borrow their arguments for the call only.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_ENCODERFEATURES_H
#define SIMCLR_RUNTIME_ENCODERFEATURES_H

#include "simclr/Eval/Features.h"
#include "simclr/Eval/Knn.h"
#include "simclr/Runtime/Dataset.h"
#include "simclr/Runtime/Executor.h"
#include "simclr/Support/Status.h"

#include <array>
#include <cstdint>
#include <string>

namespace simclr {

/// Reads split `split` at `path`, by what it holds: a Fashion-MNIST (gzip
/// IDX) directory (train-* or t10k-*), an uncompressed IDX directory, a
/// CIFAR-10 binary directory (data_batch_* or test_batch.bin); for
/// Split::kTrain also a single IDX image file or a folder of PNG/JPEG
/// images of `imageShape` (C, H, W). Anything without the split is
/// kNotFound naming the path and the file looked for.
Expected<ImageDataset> readDatasetSplit(const std::string &path, Split split,
                                        const std::array<int64_t, 3> &imageShape);

/// Features [count, featureDim()] of images [0, count) of `dataset` (count
/// <= 0 or beyond the dataset: all of them) by the executor's "encode"
/// program with its current state, in batches of encodeBatch(); the last
/// partial batch is padded with black images and the padded rows dropped
/// (inference-mode batch norm treats rows independently). Labels are copied; a dataset without labels, or whose image
/// shape is not the artifact's, is kInvalidArgument.
Expected<eval::FeatureMatrix> encodeDataset(runtime::Executor &executor,
                                            const ImageDataset &dataset,
                                            int64_t count = 0);

/// Top-1 accuracy of the weighted kNN vote (Knn.h) of `queries` among
/// `bank`, both encoded with the executor's current state: the kNN monitor
/// of a training run.
Expected<double> knnMonitorTop1(runtime::Executor &executor,
                                const ImageDataset &bank,
                                const ImageDataset &queries,
                                const eval::KnnOptions &options = {});

} // namespace simclr

#endif // SIMCLR_RUNTIME_ENCODERFEATURES_H
