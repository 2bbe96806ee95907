//===- TrainingSpec.h - A SimCLR training setup as plain data ----*- C++ -*-===//
//
// TrainingSpec is what a spec file (TOML, see docs/spec-format.md) or a C++
// user describes: data shape, augmentation policy, encoder, projection head,
// loss, optimizer and schedule. It is plain data with no MLIR types, so the
// spec reader and its tests need no MLIR; the builder (GraphBuilder.h) turns
// it into `simclr` dialect IR. Every default below is the value a spec gets
// for an omitted key, and docs/spec-format.md lists the same defaults.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_FRONTEND_TRAININGSPEC_H
#define SIMCLR_FRONTEND_TRAININGSPEC_H

#include "simclr/Support/AugmentationPolicy.h"
#include "simclr/Support/TrainingSteps.h"

#include <array>
#include <map>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace simclr::frontend {

/// Where a value came from in a spec file, for `FILE:LINE:COL: error:`.
/// Line and column are 1-based; 0 means "not from a file" (built in C++).
struct SourceLoc {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
};

/// Element type of activations and parameters.
enum class ElementType { kF32, kBF16, kF16 };

//===----------------------------------------------------------------------===//
// Data
//===----------------------------------------------------------------------===//

struct DataSpec {
  /// A name for people and for `simclr-train`'s default data path
  /// ("fashion-mnist", "cifar10", "stl10", "folder").
  std::string dataset = "fashion-mnist";
  int64_t channels = 1;
  int64_t height = 28;
  int64_t width = 28;
  /// Images per batch, N; the train step sees 2N views.
  int64_t batchSize = 256;
  /// Training-set size; with the batch size it gives steps per epoch
  /// (incomplete last batches are dropped).
  int64_t trainImages = 60000;
  ElementType elementType = ElementType::kF32;
};

//===----------------------------------------------------------------------===//
// Augmentation policy (applied in order, independently to each view)
//===----------------------------------------------------------------------===//

/// The policy's steps are shared with the runtime's input pipeline, which
/// applies them outside the graph (lib/, no MLIR).
using AugmentationKind = ::simclr::AugmentationKind;
using AugmentationSpec = ::simclr::AugmentationStep;

//===----------------------------------------------------------------------===//
// Encoder and projection head
//===----------------------------------------------------------------------===//

enum class BlockKind { kBasic, kBottleneck };
enum class StemKind {
  /// 3x3 conv, stride 1, no max-pool (CIFAR-style, SimCLR appendix B.9).
  kSmall,
  /// 7x7 conv stride 2, then 3x3 max-pool stride 2 (torchvision's ResNet).
  kImageNet,
};

struct EncoderSpec {
  /// Residual blocks per stage; stage s > 0 halves the resolution and doubles
  /// the width. ResNet-18 is {2,2,2,2} basic, ResNet-50 {3,4,6,3} bottleneck.
  std::vector<int64_t> blocksPerStage = {2, 2, 2, 2};
  BlockKind block = BlockKind::kBasic;
  StemKind stem = StemKind::kSmall;
  /// Channels of the stem and the first stage: 64 x widthMultiplier, rounded.
  double widthMultiplier = 1.0;
  /// Batch-norm epsilon and running-statistics momentum (PyTorch's).
  double bnEpsilon = 1e-5;
  double bnMomentum = 0.1;
};

struct HeadSpec {
  /// Hidden layer widths; {} gives a single linear layer. The default is
  /// the paper's g(h) = W2 relu(W1 h) with a 512-wide hidden layer.
  std::vector<int64_t> hiddenDims = {512};
  int64_t outputDim = 128;
  /// Batch norm after every hidden linear layer (SimCLR v2 style).
  bool batchNorm = false;
  bool bias = true;
};

struct LossSpec {
  double temperature = 0.5;
};

//===----------------------------------------------------------------------===//
// Optimizer and schedule
//===----------------------------------------------------------------------===//

enum class OptimizerKind { kSgd, kAdamW, kLars };

struct OptimizerSpec {
  OptimizerKind kind = OptimizerKind::kLars;
  /// Peak learning rate (after warm-up).
  double learningRate = 0.3;
  double weightDecay = 1e-6;
  /// SGD and LARS momentum.
  double momentum = 0.9;
  /// AdamW moments and epsilon.
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  /// LARS trust coefficient (eta in the LARS paper; 1e-3 in SimCLR's code).
  double trustCoefficient = 1e-3;
  /// Biases and batch-norm parameters get no weight decay (and, for LARS,
  /// no trust-ratio adaptation). Always true for LARS, as in SimCLR.
  bool excludeBiasAndNorm = false;
};

struct ScheduleSpec {
  int64_t epochs = 100;
  int64_t warmupEpochs = 10;
  /// Learning rate at the end of the cosine decay, as a fraction of the peak.
  double finalLearningRateFraction = 0.0;
};

/// A whole SimCLR training setup.
struct TrainingSpec {
  std::string name = "simclr";
  DataSpec data;
  std::vector<AugmentationSpec> augmentations;
  EncoderSpec encoder;
  HeadSpec head;
  LossSpec loss;
  OptimizerSpec optimizer;
  ScheduleSpec schedule;
  /// Seed for parameter initialization and augmentation randomness.
  uint64_t seed = 0;
  /// The spec file this came from ("" when built in C++).
  std::string sourceFile;
  /// Where each key was written, by dotted path: "data.batch_size",
  /// "augment[2].p", "encoder" (a table). Empty for specs built in C++.
  std::map<std::string, SourceLoc> keyLocations;

  /// The location of `keyPath`, or of its nearest enclosing table that has
  /// one, or {sourceFile, 0, 0}.
  SourceLoc locationOf(const std::string &keyPath) const;

  int64_t stepsPerEpoch() const {
    return ::simclr::stepsPerEpoch(data.trainImages, data.batchSize);
  }
  int64_t totalSteps() const {
    return stepsForEpochs(data.trainImages, data.batchSize, schedule.epochs);
  }
  int64_t warmupSteps() const {
    return stepsForEpochs(data.trainImages, data.batchSize,
                          schedule.warmupEpochs);
  }
};

/// Formats a diagnostic as one line: "FILE:LINE:COL: error: MESSAGE", or
/// "FILE: error: MESSAGE" without a line, or "spec: error: MESSAGE" without
/// a file.
std::string formatSpecError(const SourceLoc &loc, const std::string &message);

/// Named architectures: resnet10/18/34 (basic), resnet50/101/152 (bottleneck).
/// Returns false for an unknown name.
bool setEncoderArchitecture(const std::string &name, EncoderSpec &encoder);

/// The names setEncoderArchitecture accepts, for diagnostics and docs.
std::vector<std::string> encoderArchitectureNames();

} // namespace simclr::frontend

#endif // SIMCLR_FRONTEND_TRAININGSPEC_H
