//===- Baselines.h - Features that need no trained encoder -----------------===//
//
// The floor every learned representation must beat: raw pixels, scaled to
// [0, 1] (byte / 255) and flattened in the dataset's CHW order, fed to the
// same kNN and linear-probe code as encoder features.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_EVAL_BASELINES_H
#define SIMCLR_EVAL_BASELINES_H

#include "simclr/Eval/Features.h"
#include "simclr/Runtime/Dataset.h"

namespace simclr::eval {

/// Raw-pixel features [count, channels * height * width] of a labelled
/// dataset. Fails (kInvalidArgument) when the dataset is empty or has no
/// label per image.
Expected<FeatureMatrix> rawPixelFeatures(const ImageDataset &dataset);

} // namespace simclr::eval

#endif // SIMCLR_EVAL_BASELINES_H
