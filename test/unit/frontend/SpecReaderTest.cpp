//===- SpecReaderTest.cpp - Tests for spec reading and validation ---------===//
#include "simclr/Frontend/SpecReader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace simclr::frontend {
namespace {

const std::string kExamplesDir = std::string(SIMCLR_SOURCE_DIR) + "/examples/";
const std::string kFakeFile = "test.toml";

/// Parses `text` and returns its error message, or "" when it is accepted.
std::string parseError(const std::string &text) {
  Expected<TrainingSpec> spec = parseSpec(text, kFakeFile);
  if (spec)
    return "";
  EXPECT_EQ(spec.status().message().find('\n'), std::string::npos)
      << "multi-line message: " << spec.status().message();
  return spec.status().message();
}

TrainingSpec parseOk(const std::string &text) {
  Expected<TrainingSpec> spec = parseSpec(text, kFakeFile);
  EXPECT_TRUE(spec.hasValue()) << spec.status().message();
  return spec ? *spec : TrainingSpec();
}

TrainingSpec readExample(const std::string &name) {
  Expected<TrainingSpec> spec = readSpecFile(kExamplesDir + name);
  EXPECT_TRUE(spec.hasValue()) << spec.status().message();
  return spec ? *spec : TrainingSpec();
}

//===----------------------------------------------------------------------===//
// Examples
//===----------------------------------------------------------------------===//

TEST(SpecReaderExamples, FashionMnist) {
  TrainingSpec spec = readExample("fashion-mnist.toml");
  EXPECT_EQ(spec.name, "fashion-mnist");
  EXPECT_EQ(spec.seed, 0u);
  EXPECT_EQ(spec.sourceFile, kExamplesDir + "fashion-mnist.toml");
  EXPECT_EQ(spec.data.dataset, "fashion-mnist");
  EXPECT_EQ(spec.data.channels, 1);
  EXPECT_EQ(spec.data.height, 28);
  EXPECT_EQ(spec.data.width, 28);
  EXPECT_EQ(spec.data.batchSize, 256);
  EXPECT_EQ(spec.data.trainImages, 60000);
  EXPECT_EQ(spec.data.elementType, ElementType::kF32);

  EXPECT_EQ(spec.encoder.blocksPerStage, (std::vector<int64_t>{1, 1, 1}));
  EXPECT_EQ(spec.encoder.block, BlockKind::kBasic);
  EXPECT_EQ(spec.encoder.stem, StemKind::kSmall);
  EXPECT_DOUBLE_EQ(spec.encoder.widthMultiplier, 0.25);
  EXPECT_EQ(spec.head.hiddenDims, (std::vector<int64_t>{128}));
  EXPECT_EQ(spec.head.outputDim, 64);
  EXPECT_FALSE(spec.head.batchNorm);
  EXPECT_DOUBLE_EQ(spec.loss.temperature, 0.5);

  EXPECT_EQ(spec.optimizer.kind, OptimizerKind::kAdamW);
  EXPECT_DOUBLE_EQ(spec.optimizer.learningRate, 1e-3);
  EXPECT_DOUBLE_EQ(spec.optimizer.weightDecay, 1e-4);
  EXPECT_EQ(spec.schedule.epochs, 8);
  EXPECT_EQ(spec.schedule.warmupEpochs, 1);
  EXPECT_EQ(spec.stepsPerEpoch(), 234);

  ASSERT_EQ(spec.augmentations.size(), 4u);
  const AugmentationSpec &crop = spec.augmentations[0];
  EXPECT_EQ(crop.kind, AugmentationKind::kRandomResizedCrop);
  EXPECT_DOUBLE_EQ(crop.scale[0], 0.2);
  EXPECT_DOUBLE_EQ(crop.scale[1], 1.0);
  EXPECT_FALSE(crop.size.has_value());
  EXPECT_EQ(spec.augmentations[1].kind, AugmentationKind::kHorizontalFlip);
  EXPECT_DOUBLE_EQ(spec.augmentations[1].probability, 0.5);
  const AugmentationSpec &jitter = spec.augmentations[2];
  EXPECT_EQ(jitter.kind, AugmentationKind::kColorJitter);
  EXPECT_DOUBLE_EQ(jitter.brightness, 0.4);
  EXPECT_DOUBLE_EQ(jitter.contrast, 0.4);
  EXPECT_DOUBLE_EQ(jitter.saturation, 0.0);
  EXPECT_DOUBLE_EQ(jitter.hue, 0.0);
  EXPECT_DOUBLE_EQ(jitter.probability, 0.8);
  const AugmentationSpec &normalize = spec.augmentations[3];
  EXPECT_EQ(normalize.kind, AugmentationKind::kNormalize);
  EXPECT_EQ(normalize.mean, (std::vector<double>{0.2860}));
  EXPECT_EQ(normalize.std, (std::vector<double>{0.3530}));
  EXPECT_EQ(encoderInputSize(spec), std::make_pair(int64_t{28}, int64_t{28}));
}

TEST(SpecReaderExamples, Cifar10SimclrPaper) {
  TrainingSpec spec = readExample("cifar10-simclr-paper.toml");
  EXPECT_EQ(spec.data.dataset, "cifar10");
  EXPECT_EQ(spec.data.channels, 3);
  EXPECT_EQ(spec.data.height, 32);
  EXPECT_EQ(spec.data.width, 32);
  EXPECT_EQ(spec.data.batchSize, 512);
  EXPECT_EQ(spec.data.trainImages, 50000);

  EXPECT_EQ(spec.encoder.blocksPerStage, (std::vector<int64_t>{2, 2, 2, 2}));
  EXPECT_EQ(spec.encoder.block, BlockKind::kBasic);
  EXPECT_EQ(spec.encoder.stem, StemKind::kSmall);
  EXPECT_EQ(spec.head.hiddenDims, (std::vector<int64_t>{512}));
  EXPECT_EQ(spec.head.outputDim, 128);
  EXPECT_FALSE(spec.head.batchNorm);
  EXPECT_DOUBLE_EQ(spec.loss.temperature, 0.5);

  EXPECT_EQ(spec.optimizer.kind, OptimizerKind::kLars);
  EXPECT_DOUBLE_EQ(spec.optimizer.learningRate, 1.0);
  EXPECT_DOUBLE_EQ(spec.optimizer.weightDecay, 1e-6);
  EXPECT_DOUBLE_EQ(spec.optimizer.momentum, 0.9);
  EXPECT_DOUBLE_EQ(spec.optimizer.trustCoefficient, 1e-3);
  EXPECT_TRUE(spec.optimizer.excludeBiasAndNorm);
  EXPECT_EQ(spec.schedule.epochs, 500);
  EXPECT_EQ(spec.schedule.warmupEpochs, 10);
  EXPECT_DOUBLE_EQ(spec.schedule.finalLearningRateFraction, 0.0);
  EXPECT_EQ(spec.warmupSteps(), 97 * 10);

  ASSERT_EQ(spec.augmentations.size(), 5u);
  const AugmentationSpec &crop = spec.augmentations[0];
  EXPECT_EQ(crop.kind, AugmentationKind::kRandomResizedCrop);
  EXPECT_DOUBLE_EQ(crop.scale[0], 0.08);
  ASSERT_TRUE(crop.size.has_value());
  EXPECT_EQ(*crop.size, (std::array<int64_t, 2>{32, 32}));
  EXPECT_EQ(spec.augmentations[1].kind, AugmentationKind::kHorizontalFlip);
  const AugmentationSpec &jitter = spec.augmentations[2];
  EXPECT_EQ(jitter.kind, AugmentationKind::kColorJitter);
  EXPECT_DOUBLE_EQ(jitter.brightness, 0.4);
  EXPECT_DOUBLE_EQ(jitter.contrast, 0.4);
  EXPECT_DOUBLE_EQ(jitter.saturation, 0.4);
  EXPECT_DOUBLE_EQ(jitter.hue, 0.1);
  EXPECT_DOUBLE_EQ(jitter.probability, 0.8);
  EXPECT_EQ(spec.augmentations[3].kind, AugmentationKind::kRandomGrayscale);
  EXPECT_DOUBLE_EQ(spec.augmentations[3].probability, 0.2);
  const AugmentationSpec &normalize = spec.augmentations[4];
  EXPECT_EQ(normalize.kind, AugmentationKind::kNormalize);
  EXPECT_EQ(normalize.mean, (std::vector<double>{0.4914, 0.4822, 0.4465}));
  EXPECT_EQ(normalize.std, (std::vector<double>{0.2470, 0.2435, 0.2616}));
}

TEST(SpecReaderExamples, Stl10Lightning) {
  TrainingSpec spec = readExample("stl10-lightning.toml");
  EXPECT_EQ(spec.data.dataset, "stl10");
  EXPECT_EQ(spec.data.channels, 3);
  EXPECT_EQ(spec.data.height, 96);
  EXPECT_EQ(spec.data.batchSize, 256);
  EXPECT_EQ(spec.data.trainImages, 100000);
  EXPECT_EQ(spec.encoder.blocksPerStage, (std::vector<int64_t>{2, 2, 2, 2}));
  EXPECT_EQ(spec.encoder.stem, StemKind::kImageNet);
  EXPECT_EQ(spec.head.hiddenDims, (std::vector<int64_t>{512}));
  EXPECT_EQ(spec.head.outputDim, 128);
  EXPECT_DOUBLE_EQ(spec.loss.temperature, 0.07);

  EXPECT_EQ(spec.optimizer.kind, OptimizerKind::kAdamW);
  EXPECT_DOUBLE_EQ(spec.optimizer.learningRate, 5e-4);
  EXPECT_DOUBLE_EQ(spec.optimizer.weightDecay, 1e-4);
  EXPECT_DOUBLE_EQ(spec.optimizer.beta1, 0.9);
  EXPECT_DOUBLE_EQ(spec.optimizer.beta2, 0.999);
  EXPECT_FALSE(spec.optimizer.excludeBiasAndNorm);
  EXPECT_EQ(spec.schedule.epochs, 500);
  EXPECT_EQ(spec.schedule.warmupEpochs, 0);
  EXPECT_DOUBLE_EQ(spec.schedule.finalLearningRateFraction, 0.02);

  ASSERT_EQ(spec.augmentations.size(), 6u);
  EXPECT_EQ(spec.augmentations[0].kind, AugmentationKind::kHorizontalFlip);
  EXPECT_EQ(spec.augmentations[1].kind, AugmentationKind::kRandomResizedCrop);
  EXPECT_EQ(*spec.augmentations[1].size, (std::array<int64_t, 2>{96, 96}));
  const AugmentationSpec &jitter = spec.augmentations[2];
  EXPECT_DOUBLE_EQ(jitter.brightness, 0.5);
  EXPECT_DOUBLE_EQ(jitter.saturation, 0.5);
  EXPECT_DOUBLE_EQ(jitter.hue, 0.1);
  EXPECT_DOUBLE_EQ(jitter.probability, 0.8);
  EXPECT_DOUBLE_EQ(spec.augmentations[3].probability, 0.2);
  const AugmentationSpec &blur = spec.augmentations[4];
  EXPECT_EQ(blur.kind, AugmentationKind::kGaussianBlur);
  EXPECT_EQ(blur.kernelSize, 9);
  EXPECT_DOUBLE_EQ(blur.sigma[0], 0.1);
  EXPECT_DOUBLE_EQ(blur.sigma[1], 2.0);
  EXPECT_DOUBLE_EQ(blur.probability, 1.0);
  EXPECT_EQ(spec.augmentations[5].mean, (std::vector<double>{0.5, 0.5, 0.5}));
  EXPECT_EQ(spec.augmentations[5].std, (std::vector<double>{0.5, 0.5, 0.5}));
}

//===----------------------------------------------------------------------===//
// Defaults and locations
//===----------------------------------------------------------------------===//

TEST(SpecReaderDefaults, EmptyFileGivesStructDefaults) {
  TrainingSpec spec = parseOk("");
  TrainingSpec defaults;
  EXPECT_EQ(spec.name, defaults.name);
  EXPECT_EQ(spec.data.batchSize, defaults.data.batchSize);
  EXPECT_EQ(spec.encoder.blocksPerStage, defaults.encoder.blocksPerStage);
  EXPECT_EQ(spec.optimizer.kind, OptimizerKind::kLars);
  // The reader forces LARS's exclusion even when the key is omitted.
  EXPECT_TRUE(spec.optimizer.excludeBiasAndNorm);
  EXPECT_TRUE(spec.augmentations.empty());
  EXPECT_TRUE(spec.keyLocations.empty());
}

TEST(SpecReaderDefaults, PerKindProbabilitiesAndAugmentDefaults) {
  TrainingSpec spec = parseOk("[data]\nchannels = 3\n"
                              "[[augment]]\nop = \"random_resized_crop\"\n"
                              "[[augment]]\nop = \"horizontal_flip\"\n"
                              "[[augment]]\nop = \"color_jitter\"\n"
                              "[[augment]]\nop = \"random_grayscale\"\n"
                              "[[augment]]\nop = \"gaussian_blur\"\n");
  ASSERT_EQ(spec.augmentations.size(), 5u);
  const AugmentationSpec &crop = spec.augmentations[0];
  EXPECT_DOUBLE_EQ(crop.scale[0], 0.08);
  EXPECT_DOUBLE_EQ(crop.ratio[0], 3.0 / 4.0);
  EXPECT_DOUBLE_EQ(crop.ratio[1], 4.0 / 3.0);
  EXPECT_FALSE(crop.size.has_value());
  EXPECT_DOUBLE_EQ(spec.augmentations[1].probability, 0.5);
  EXPECT_DOUBLE_EQ(spec.augmentations[2].probability, 0.8);
  EXPECT_DOUBLE_EQ(spec.augmentations[3].probability, 0.2);
  EXPECT_DOUBLE_EQ(spec.augmentations[4].probability, 0.5);
  EXPECT_EQ(spec.augmentations[4].kernelSize, 3);
}

TEST(SpecReaderDefaults, ArchSetsBlocksAndExplicitKeysOverride) {
  TrainingSpec spec = parseOk("[encoder]\narch = \"resnet50\"\n");
  EXPECT_EQ(spec.encoder.blocksPerStage, (std::vector<int64_t>{3, 4, 6, 3}));
  EXPECT_EQ(spec.encoder.block, BlockKind::kBottleneck);
  spec = parseOk("[encoder]\narch = \"resnet50\"\nblocks = [1, 1]\n"
                 "block = \"basic\"\n");
  EXPECT_EQ(spec.encoder.blocksPerStage, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(spec.encoder.block, BlockKind::kBasic);
}

TEST(SpecReaderDefaults, FloatsAcceptIntegers) {
  TrainingSpec spec = parseOk("[optimizer]\nlr = 1\n[loss]\ntemperature = 2\n");
  EXPECT_DOUBLE_EQ(spec.optimizer.learningRate, 1.0);
  EXPECT_DOUBLE_EQ(spec.loss.temperature, 2.0);
}

TEST(SpecReaderLocations, RecordsKeysTablesAndEntries) {
  TrainingSpec spec = parseOk("name = \"x\"\n"
                              "[data]\n"
                              "batch_size = 64\n"
                              "[[augment]]\n"
                              "op = \"horizontal_flip\"\n"
                              "[[augment]]\n"
                              "op = \"normalize\"\n"
                              "mean = [0.5]\n"
                              "  std = [0.25]\n");
  auto expectAt = [&](const std::string &key, uint32_t line, uint32_t column) {
    SourceLoc loc = spec.locationOf(key);
    EXPECT_EQ(loc.file, kFakeFile) << key;
    EXPECT_EQ(loc.line, line) << key;
    EXPECT_EQ(loc.column, column) << key;
  };
  EXPECT_EQ(spec.keyLocations.count("name"), 1u);
  expectAt("name", 1, 8);
  expectAt("data", 2, 1);
  expectAt("data.batch_size", 3, 14);
  expectAt("augment[0]", 4, 1);
  expectAt("augment[0].op", 5, 6);
  expectAt("augment[1]", 6, 1);
  expectAt("augment[1].mean", 8, 8);
  expectAt("augment[1].mean[0]", 8, 9);
  expectAt("augment[1].std", 9, 9);
  // Omitted keys fall back to their table, then to the file.
  EXPECT_EQ(spec.keyLocations.count("augment[0].p"), 0u);
  expectAt("augment[0].p", 4, 1);
  expectAt("data.channels", 2, 1);
  expectAt("loss.temperature", 0, 0);
}

//===----------------------------------------------------------------------===//
// Errors: one line, FILE:LINE:COL at the offending value
//===----------------------------------------------------------------------===//

TEST(SpecReaderErrors, MissingFile) {
  const std::string path = kExamplesDir + "no-such-spec.toml";
  Expected<TrainingSpec> spec = readSpecFile(path);
  ASSERT_FALSE(spec.hasValue());
  EXPECT_EQ(spec.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(spec.status().message(),
            path + ": error: cannot open spec file: No such file or directory");
}

TEST(SpecReaderErrors, UnreadableFile) {
  Expected<TrainingSpec> spec = readSpecFile(kExamplesDir);
  ASSERT_FALSE(spec.hasValue());
  EXPECT_EQ(spec.status().code(), StatusCode::kIoError);
  EXPECT_EQ(spec.status().message(),
            kExamplesDir + ": error: cannot read spec file: Is a directory");
}

TEST(SpecReaderErrors, TomlSyntax) {
  EXPECT_EQ(parseError("[data]\nbatch_size = [1,\n"),
            "test.toml:2:18: error: TOML syntax error while parsing array: "
            "encountered end-of-file");
  EXPECT_EQ(parseError("seed = 1\nseed = 2\n"),
            "test.toml:2:8: error: TOML syntax error while parsing key-value "
            "pair: cannot redefine existing integer 'seed'");
}

TEST(SpecReaderErrors, UnknownKey) {
  EXPECT_EQ(parseError("[data]\nbatch_size = 8\nbatchsize = 8\n"),
            "test.toml:3:13: error: unknown key data.batchsize; [data] "
            "allows dataset, channels, image_size, batch_size, "
            "train_images, dtype");
  EXPECT_EQ(parseError("nmae = \"x\"\n"),
            "test.toml:1:8: error: unknown key nmae; the top level allows "
            "name, seed, data, encoder, head, loss, optimizer, schedule, "
            "augment");
  // Nested tables are unknown keys too.
  EXPECT_EQ(parseError("[head.extra]\nx = 1\n"),
            "test.toml:1:1: error: unknown key head.extra; [head] allows "
            "hidden_dims, output_dim, batch_norm, bias");
  EXPECT_EQ(parseError("[[augment]]\nop = \"horizontal_flip\"\nscale = [0.5, "
                       "1.0]\n"),
            "test.toml:3:9: error: augment[0].scale does not apply to "
            "horizontal_flip; horizontal_flip allows op, p");
  EXPECT_EQ(parseError("[optimizer]\nkind = \"sgd\"\nbetas = [0.9, 0.99]\n"),
            "test.toml:3:9: error: optimizer.betas does not apply to sgd; sgd "
            "allows kind, lr, weight_decay, momentum, exclude_bias_and_norm");
}

TEST(SpecReaderErrors, WrongType) {
  EXPECT_EQ(parseError("[data]\nbatch_size = \"64\"\n"),
            "test.toml:2:14: error: data.batch_size must be an integer, got "
            "string");
  EXPECT_EQ(parseError("[data]\nbatch_size = 64.0\n"),
            "test.toml:2:14: error: data.batch_size must be an integer, got "
            "float");
  EXPECT_EQ(parseError("[optimizer]\nlr = true\n"),
            "test.toml:2:6: error: optimizer.lr must be a number, got boolean");
  EXPECT_EQ(parseError("[data]\nimage_size = [28, \"28\"]\n"),
            "test.toml:2:19: error: data.image_size[1] must be an integer, "
            "got string");
  EXPECT_EQ(parseError("[data]\nimage_size = [28, 28, 28]\n"),
            "test.toml:2:14: error: data.image_size must have 2 elements "
            "[height, width], got 3");
  EXPECT_EQ(parseError("data = 3\n"),
            "test.toml:1:8: error: data must be a table, got integer");
  EXPECT_EQ(parseError("[augment]\nop = \"horizontal_flip\"\n"),
            "test.toml:1:1: error: augment must be an array of tables "
            "([[augment]]), got table");
  EXPECT_EQ(parseError("[optimizer]\nlr = inf\n"),
            "test.toml:2:6: error: optimizer.lr must be a finite number");
}

TEST(SpecReaderErrors, UnknownEnum) {
  EXPECT_EQ(parseError("[data]\ndtype = \"f64\"\n"),
            "test.toml:2:9: error: unknown data.dtype \"f64\"; expected one of "
            "\"f32\", \"bf16\", \"f16\"");
  EXPECT_EQ(parseError("[encoder]\narch = \"resnet20\"\n"),
            "test.toml:2:8: error: unknown encoder.arch \"resnet20\"; expected "
            "one of \"resnet10\", \"resnet18\", \"resnet34\", \"resnet50\", "
            "\"resnet101\", \"resnet152\"");
  EXPECT_EQ(parseError("[optimizer]\nkind = \"adam\"\n"),
            "test.toml:2:8: error: unknown optimizer.kind \"adam\"; expected "
            "one of \"sgd\", \"adamw\", \"lars\"");
  EXPECT_EQ(parseError("[[augment]]\nop = \"flip\"\n"),
            "test.toml:2:6: error: unknown augment[0].op \"flip\"; expected "
            "one of \"random_resized_crop\", \"horizontal_flip\", "
            "\"color_jitter\", \"random_grayscale\", \"gaussian_blur\", "
            "\"normalize\"");
}

TEST(SpecReaderErrors, MissingRequiredKey) {
  EXPECT_EQ(parseError("[[augment]]\np = 0.5\n"),
            "test.toml:1:1: error: augment[0] is missing the required key op; "
            "expected one of \"random_resized_crop\", \"horizontal_flip\", "
            "\"color_jitter\", \"random_grayscale\", \"gaussian_blur\", "
            "\"normalize\"");
  EXPECT_EQ(parseError("[[augment]]\nop = \"normalize\"\nmean = [0.5]\n"),
            "test.toml:1:1: error: augment[0] (normalize) is missing the "
            "required key std");
}

TEST(SpecReaderErrors, OutOfRange) {
  EXPECT_EQ(parseError("seed = -1\n"),
            "test.toml:1:8: error: seed must be >= 0, got -1");
  EXPECT_EQ(parseError("[optimizer]\nlr = 0\n"),
            "test.toml:2:6: error: optimizer.lr must be > 0, got 0");
  EXPECT_EQ(parseError("[optimizer]\nmomentum = 1.0\n"),
            "test.toml:2:12: error: optimizer.momentum must be in [0, 1), got "
            "1");
  EXPECT_EQ(parseError("[optimizer]\nkind = \"adamw\"\nbetas = [0.9, 1.5]\n"),
            "test.toml:3:15: error: optimizer.betas[1] must be in [0, 1), got "
            "1.5");
  EXPECT_EQ(parseError("[schedule]\nepochs = 5\nwarmup_epochs = 6\n"),
            "test.toml:3:17: error: schedule.warmup_epochs must be in [0, "
            "schedule.epochs = 5], got 6");
  EXPECT_EQ(parseError("[encoder]\nblocks = [2, 0, 2]\n"),
            "test.toml:2:14: error: encoder.blocks[1] must be at least 1, got "
            "0");
  EXPECT_EQ(parseError("[encoder]\nwidth_multiplier = 0.005\n"),
            "test.toml:2:20: error: encoder.width_multiplier 0.005 leaves the "
            "stem no channels: round(64 * width_multiplier) must be at least "
            "1");
  EXPECT_EQ(parseError("[data]\nchannels = 3\n[[augment]]\nop = "
                       "\"random_resized_crop\"\nscale = [0.5, 0.2]\n"),
            "test.toml:5:9: error: augment[0].scale must satisfy 0 < lo <= hi "
            "<= 1, got [0.5, 0.2]");
  EXPECT_EQ(parseError("[data]\nchannels = 3\n[[augment]]\nop = "
                       "\"color_jitter\"\nhue = 0.6\n"),
            "test.toml:5:7: error: augment[0].hue must be in [0, 0.5], got "
            "0.6");
  EXPECT_EQ(parseError("[[augment]]\nop = \"horizontal_flip\"\np = 1.5\n"),
            "test.toml:3:5: error: augment[0].p must be in [0, 1], got 1.5");
  EXPECT_EQ(parseError("[data]\nchannels = 3\n[[augment]]\nop = "
                       "\"gaussian_blur\"\nkernel_size = 4\n"),
            "test.toml:5:15: error: augment[0].kernel_size must be odd and at "
            "least 1, got 4");
  EXPECT_EQ(parseError("[data]\nbatch_size = 512\ntrain_images = 100\n"),
            "test.toml:3:16: error: data.train_images must be at least "
            "data.batch_size (512), got 100: incomplete batches are dropped, "
            "so an epoch would have no steps");
}

TEST(SpecReaderErrors, BatchOfOne) {
  EXPECT_EQ(parseError("[data]\nbatch_size = 1\n"),
            "test.toml:2:14: error: data.batch_size must be at least 2, got 1: "
            "NT-Xent contrasts each view with the other views of the batch, "
            "so a batch of 1 leaves it no negatives");
}

TEST(SpecReaderErrors, ImageTooSmallForSmallStem) {
  // ResNet-18, small stem: stages 1..3 downsample 4 -> 2 -> 1, so stage 3
  // meets a 1x1 map; 5 -> 3 -> 2 -> 1 is the smallest that fits.
  EXPECT_EQ(parseError("[data]\nchannels = 3\nimage_size = [4, 4]\n"),
            "test.toml:3:14: error: data.image_size [4, 4] is too small for "
            "the encoder: stage 3 would downsample a 1x1 feature map; this "
            "encoder needs at least 5x5");
  EXPECT_EQ(parseError("[data]\nimage_size = [5, 5]\n"), "");
  // Only one dimension too small is enough to fail.
  EXPECT_EQ(parseError("[data]\nimage_size = [4, 100]\n"),
            "test.toml:2:14: error: data.image_size [4, 100] is too small for "
            "the encoder: stage 3 would downsample a 1x25 feature map; this "
            "encoder needs at least 5x5");
}

TEST(SpecReaderErrors, ImageTooSmallForImageNetStem) {
  // 16 -> 8 (conv) -> 4 (pool) -> 2 (stage 1) -> 1 (stage 2); stage 3 fails.
  // Five downsamplings need 2^4 + 1 = 17.
  EXPECT_EQ(parseError("[data]\nimage_size = [16, 16]\n[encoder]\nstem = "
                       "\"imagenet\"\n"),
            "test.toml:2:14: error: data.image_size [16, 16] is too small for "
            "the encoder: stage 3 would downsample a 1x1 feature map; this "
            "encoder needs at least 17x17");
  EXPECT_EQ(parseError("[data]\nimage_size = [17, 17]\n[encoder]\nstem = "
                       "\"imagenet\"\n"),
            "");
  EXPECT_EQ(parseError("[data]\nimage_size = [1, 1]\n[encoder]\nstem = "
                       "\"imagenet\"\nblocks = [1]\n"),
            "test.toml:2:14: error: data.image_size [1, 1] is too small for "
            "the encoder: the stem's 7x7 convolution would downsample a 1x1 "
            "feature map; this encoder needs at least 3x3");
}

TEST(SpecReaderErrors, ImageTooSmallViaCropSize) {
  EXPECT_EQ(parseError("[data]\nimage_size = [96, 96]\n"
                       "[[augment]]\nop = \"random_resized_crop\"\n"
                       "size = [8, 8]\n"
                       "[encoder]\nstem = \"imagenet\"\n"),
            "test.toml:5:8: error: augment[0].size [8, 8] is too small for the "
            "encoder: stage 2 would downsample a 1x1 feature map; this "
            "encoder needs at least 17x17");
}

TEST(SpecReaderErrors, NormalizeLengthMismatch) {
  EXPECT_EQ(parseError("[data]\nchannels = 3\n[[augment]]\nop = "
                       "\"normalize\"\nmean = [0.5]\nstd = [0.5, 0.5, 0.5]\n"),
            "test.toml:5:8: error: augment[0].mean has 1 values but "
            "data.channels is 3; give one per channel");
  EXPECT_EQ(parseError("[[augment]]\nop = \"normalize\"\nmean = [0.5]\n"
                       "std = [0.0]\n"),
            "test.toml:4:8: error: augment[0].std[0] must be > 0, got 0");
}

TEST(SpecReaderErrors, NormalizeMustBeLast) {
  EXPECT_EQ(parseError("[[augment]]\nop = \"normalize\"\nmean = [0.5]\n"
                       "std = [0.5]\n[[augment]]\nop = \"horizontal_flip\"\n"),
            "test.toml:2:6: error: augment[0] (normalize) must be the last "
            "augmentation step, and there may be only one");
}

TEST(SpecReaderErrors, ColorOnGrayscale) {
  EXPECT_EQ(parseError("[[augment]]\nop = \"color_jitter\"\nbrightness = 0.4\n"
                       "saturation = 0.4\n"),
            "test.toml:4:14: error: augment[0].saturation 0.4 would do "
            "nothing: data.channels is 1 and torchvision leaves the "
            "saturation of 1-channel images unchanged");
  EXPECT_EQ(parseError("[[augment]]\nop = \"random_grayscale\"\n"),
            "test.toml:2:6: error: augment[0] (random_grayscale) would do "
            "nothing: data.channels is 1, so images are already grayscale");
}

TEST(SpecReaderErrors, LarsKeepsExclusion) {
  EXPECT_EQ(parseError("[optimizer]\nexclude_bias_and_norm = false\n"),
            "test.toml:2:25: error: optimizer.exclude_bias_and_norm cannot be "
            "false for lars: LARS always excludes biases and batch-norm "
            "parameters, as in SimCLR");
}

//===----------------------------------------------------------------------===//
// validateSpec on specs built in C++
//===----------------------------------------------------------------------===//

TEST(SpecValidation, DefaultSpecIsValid) {
  TrainingSpec spec;
  EXPECT_TRUE(validateSpec(spec).isOk()) << validateSpec(spec).message();
}

TEST(SpecValidation, ErrorsWithoutFileSaySpec) {
  TrainingSpec spec;
  spec.loss.temperature = 0;
  Status status = validateSpec(spec);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "spec: error: loss.temperature must be > 0, got 0");
}

TEST(SpecValidation, RejectsNaN) {
  TrainingSpec spec;
  spec.optimizer.learningRate = std::nan("");
  EXPECT_EQ(validateSpec(spec).message(),
            "spec: error: optimizer.lr must be > 0, got nan");
}

TEST(SpecValidation, EncoderInputSizeFollowsLastCrop) {
  TrainingSpec spec;
  AugmentationSpec crop;
  crop.kind = AugmentationKind::kRandomResizedCrop;
  crop.size = std::array<int64_t, 2>{24, 20};
  spec.augmentations.push_back(crop);
  EXPECT_EQ(encoderInputSize(spec), std::make_pair(int64_t{24}, int64_t{20}));
  crop.size.reset();
  spec.augmentations.push_back(crop);
  EXPECT_EQ(encoderInputSize(spec), std::make_pair(int64_t{28}, int64_t{28}));
}

TEST(SpecFormatting, FormatSpecError) {
  EXPECT_EQ(formatSpecError({"a.toml", 3, 14}, "bad"),
            "a.toml:3:14: error: bad");
  EXPECT_EQ(formatSpecError({"a.toml", 0, 0}, "bad"), "a.toml: error: bad");
  EXPECT_EQ(formatSpecError({"", 0, 0}, "bad"), "spec: error: bad");
  EXPECT_EQ(formatSpecError({"a.toml", 1, 1}, "two\nlines"),
            "a.toml:1:1: error: two lines");
}

TEST(SpecFormatting, NamedArchitectures) {
  EncoderSpec encoder;
  EXPECT_TRUE(setEncoderArchitecture("resnet152", encoder));
  EXPECT_EQ(encoder.blocksPerStage, (std::vector<int64_t>{3, 8, 36, 3}));
  EXPECT_EQ(encoder.block, BlockKind::kBottleneck);
  EXPECT_TRUE(setEncoderArchitecture("resnet10", encoder));
  EXPECT_EQ(encoder.blocksPerStage, (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(encoder.block, BlockKind::kBasic);
  EXPECT_FALSE(setEncoderArchitecture("resnet20", encoder));
  EXPECT_EQ(encoderArchitectureNames().size(), 6u);
}

} // namespace
} // namespace simclr::frontend
