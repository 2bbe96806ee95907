//===- PolicyJsonTest.cpp - Augmentation policy and training config JSON --===//
#include "simclr/Support/AugmentationPolicyJson.h"
#include "simclr/Support/TrainingConfig.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace simclr {
namespace {

/// One step of every kind, with values that need all 17 digits of a double.
AugmentationPolicy everyKind() {
  AugmentationPolicy policy(6);
  policy[0].kind = AugmentationKind::kRandomResizedCrop;
  policy[0].scale = {0.08, 1.0};
  policy[0].ratio = {3.0 / 4.0, 4.0 / 3.0};
  policy[0].size = std::array<int64_t, 2>{24, 32};
  policy[1].kind = AugmentationKind::kHorizontalFlip;
  policy[1].probability = 0.5;
  policy[2].kind = AugmentationKind::kColorJitter;
  policy[2].probability = 0.8;
  policy[2].brightness = 0.4;
  policy[2].contrast = 0.1 + 0.2;
  policy[2].saturation = 1.0 / 3.0;
  policy[2].hue = 0.1;
  policy[3].kind = AugmentationKind::kRandomGrayscale;
  policy[3].probability = 0.2;
  policy[4].kind = AugmentationKind::kGaussianBlur;
  policy[4].probability = 0.5;
  policy[4].kernelSize = 23;
  policy[4].sigma = {0.1, 2.0};
  policy[5].kind = AugmentationKind::kNormalize;
  policy[5].mean = {0.4914, 0.4822, 0.4465};
  policy[5].std = {0.247, 0.243, 0.261};
  return policy;
}

void expectSamePolicy(const AugmentationPolicy &a, const AugmentationPolicy &b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i));
    EXPECT_EQ(a[i].kind, b[i].kind);
    // Exact: the JSON must carry every bit.
    EXPECT_EQ(a[i].probability, b[i].probability);
    EXPECT_EQ(a[i].scale, b[i].scale);
    EXPECT_EQ(a[i].ratio, b[i].ratio);
    EXPECT_EQ(a[i].size, b[i].size);
    EXPECT_EQ(a[i].brightness, b[i].brightness);
    EXPECT_EQ(a[i].contrast, b[i].contrast);
    EXPECT_EQ(a[i].saturation, b[i].saturation);
    EXPECT_EQ(a[i].hue, b[i].hue);
    EXPECT_EQ(a[i].kernelSize, b[i].kernelSize);
    EXPECT_EQ(a[i].sigma, b[i].sigma);
    EXPECT_EQ(a[i].mean, b[i].mean);
    EXPECT_EQ(a[i].std, b[i].std);
  }
}

TEST(TrainPolicyJson, RoundTripsEveryKindExactly) {
  AugmentationPolicy policy = everyKind();
  std::string json = policyToJson(policy);
  Expected<AugmentationPolicy> back = policyFromJson(json);
  ASSERT_TRUE(back) << back.status().toString();
  expectSamePolicy(policy, *back);
  // Only the fields of each kind are written.
  nlohmann::json parsed = nlohmann::json::parse(json);
  EXPECT_EQ(parsed[1].size(), 2u) << parsed[1].dump();
  EXPECT_FALSE(parsed[1].contains("scale"));
  EXPECT_EQ(parsed[0]["size"], nlohmann::json::array({24, 32}));
}

TEST(TrainPolicyJson, CropWithoutSizeKeepsNoSize) {
  AugmentationPolicy policy(1);
  policy[0].kind = AugmentationKind::kRandomResizedCrop;
  Expected<AugmentationPolicy> back = policyFromJson(policyToJson(policy));
  ASSERT_TRUE(back) << back.status().toString();
  EXPECT_FALSE((*back)[0].size.has_value());
}

TEST(TrainPolicyJson, ErrorsNameStepAndKey) {
  struct Case {
    const char *json;
    const char *message;
  } cases[] = {
      {R"([{"kind":"horizontal_flip"}])",
       "augmentation[0] (horizontal_flip): missing key 'probability'"},
      {R"([{"kind":"horizontal_flip","probability":0.5,"scale":[0.1,1]}])",
       "augmentation[0] (horizontal_flip): unknown key 'scale'"},
      {R"([{"kind":"horizontal_flip","probability":0.5},{"kind":"rotate"}])",
       "augmentation[1]: unknown kind 'rotate'"},
      {R"([{"kind":"random_grayscale","probability":"high"}])",
       "augmentation[0] (random_grayscale): 'probability' is a JSON string, "
       "expected a number"},
      {R"([{"kind":"random_resized_crop","scale":[0.1],"ratio":[0.75,1.33]}])",
       "augmentation[0] (random_resized_crop): 'scale' has 1 numbers, expected 2"},
      {R"({"kind":"normalize"})", "augmentation is a JSON object, expected an array"},
      {R"([{"probability":0.5}])", "augmentation[0]: missing string key 'kind'"},
      {"[{", "augmentation: not valid JSON"},
  };
  for (const Case &c : cases) {
    Expected<AugmentationPolicy> policy = policyFromJson(c.json);
    ASSERT_FALSE(policy) << c.json;
    EXPECT_EQ(policy.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(policy.status().message().find(c.message), std::string::npos)
        << policy.status().message();
  }
}

TEST(TrainPolicyJson, ValidatesStepRanges) {
  Expected<AugmentationPolicy> policy =
      policyFromJson(R"([{"kind":"horizontal_flip","probability":1.5}])");
  ASSERT_FALSE(policy);
  // validateAugmentationStep's wording.
  EXPECT_NE(policy.status().message().find("augment[0] (horizontal_flip)"),
            std::string::npos)
      << policy.status().message();
}

TrainingConfig exampleConfig() {
  TrainingConfig config;
  config.batchSize = 256;
  config.imageShape = {1, 28, 28};
  config.stepsPerEpoch = 234;
  config.totalSteps = 4680;
  config.seed = 18446744073709551615ull;
  config.dataset = "fashion-mnist";
  config.datasetSize = 60000;
  config.augmentation = everyKind();
  return config;
}

TEST(TrainConfig, RoundTrips) {
  TrainingConfig config = exampleConfig();
  std::string json = trainingConfigToJson(config);
  Expected<TrainingConfig> back = trainingConfigFromJson(json);
  ASSERT_TRUE(back) << back.status().toString();
  EXPECT_EQ(back->batchSize, 256);
  EXPECT_EQ(back->imageShape, (std::array<int64_t, 3>{1, 28, 28}));
  EXPECT_EQ(back->stepsPerEpoch, 234);
  EXPECT_EQ(back->totalSteps, 4680);
  EXPECT_EQ(back->seed, config.seed);
  EXPECT_EQ(back->dataset, "fashion-mnist");
  EXPECT_EQ(back->datasetSize, 60000);
  expectSamePolicy(config.augmentation, back->augmentation);

  artifact::Plan plan;
  plan.specName = "fashion-mnist.toml";
  plan.trainingJson = json;
  Expected<TrainingConfig> fromPlan = trainingConfigFromPlan(plan);
  ASSERT_TRUE(fromPlan) << fromPlan.status().toString();
  EXPECT_EQ(fromPlan->batchSize, 256);
}

TEST(TrainConfig, ErrorsNameTheKey) {
  nlohmann::json good = nlohmann::json::parse(trainingConfigToJson(exampleConfig()));
  struct Case {
    const char *key;
    nlohmann::json value; // null: remove the key
    const char *message;
  } cases[] = {
      {"batch_size", 1, "'batch_size' is 1, expected at least 2"},
      {"batch_size", nullptr, "'batch_size' is missing"},
      {"image_shape", nlohmann::json::array({28, 28}), "'image_shape' must be an array [C, H, W]"},
      {"seed", -1, "'seed' must be a non-negative integer"},
      {"dataset", 3, "'dataset' is a JSON number, expected a string"},
      {"total_steps", "many", "'total_steps' is a JSON string, expected an integer"},
      {"augmentation", nlohmann::json::array({{{"kind", "nope"}}}),
       "augmentation[0]: unknown kind 'nope'"},
  };
  for (const Case &c : cases) {
    nlohmann::json broken = good;
    if (c.value.is_null())
      broken.erase(c.key);
    else
      broken[c.key] = c.value;
    artifact::Plan plan;
    plan.specName = "run.toml";
    plan.trainingJson = broken.dump();
    Expected<TrainingConfig> config = trainingConfigFromPlan(plan);
    ASSERT_FALSE(config) << c.key;
    EXPECT_NE(config.status().message().find(c.message), std::string::npos)
        << config.status().message();
    EXPECT_EQ(config.status().message().rfind("run.toml: training config", 0), 0u)
        << config.status().message();
  }
}

} // namespace
} // namespace simclr
