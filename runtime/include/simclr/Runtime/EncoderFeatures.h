//===- EncoderFeatures.h - Encoder features and the kNN monitor -*- C++ -*-===//
//
// What simclr-eval and simclr-train's kNN monitor share: running a compiled
// artifact's "encode" program over a dataset in batches of its compiled
// size, and the weighted kNN top-1 of a memory bank and queries (Knn.h).
// The datasets come from readDatasetSplit (Dataset.h).
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

#include <cstdint>

namespace simclr {

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
