//===- TrainingConfig.cpp - The training facts of an artifact -------------===//
#include "simclr/Support/TrainingConfig.h"
#include "simclr/Support/AugmentationPolicyJson.h"

#include <nlohmann/json.hpp>

namespace simclr {

namespace {

using Json = nlohmann::ordered_json;

Status keyError(const std::string &key, const std::string &problem) {
  return invalidArgument("training config: '" + key + "' " + problem);
}

const Json *findKey(const Json &object, const char *key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

/// Reads integer `key` into `out`, requiring out >= minimum.
Status readInteger(const Json &object, const char *key, int64_t minimum,
                   int64_t &out) {
  const Json *value = findKey(object, key);
  if (!value)
    return keyError(key, "is missing");
  if (!value->is_number_integer())
    return keyError(key, "is a JSON " + std::string(value->type_name()) +
                             ", expected an integer");
  if (value->is_number_unsigned() &&
      value->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    return keyError(key, "is out of range");
  out = value->get<int64_t>();
  if (out < minimum)
    return keyError(key, "is " + std::to_string(out) + ", expected at least " +
                             std::to_string(minimum));
  return Status::ok();
}

} // namespace

std::string trainingConfigToJson(const TrainingConfig &config) {
  Json object = Json::object();
  object["batch_size"] = config.batchSize;
  object["image_shape"] = config.imageShape;
  object["steps_per_epoch"] = config.stepsPerEpoch;
  object["total_steps"] = config.totalSteps;
  object["seed"] = config.seed;
  object["dataset"] = config.dataset;
  object["dataset_size"] = config.datasetSize;
  object["augmentation"] = Json::parse(policyToJson(config.augmentation));
  return object.dump();
}

Expected<TrainingConfig> trainingConfigFromJson(const std::string &json) {
  Json object;
  try {
    object = Json::parse(json);
  } catch (const Json::parse_error &e) {
    return invalidArgument("training config: not valid JSON (near byte " +
                           std::to_string(e.byte) + ")");
  } catch (const Json::exception &) {
    // nlohmann throws out_of_range for a number beyond double's range.
    return invalidArgument("training config: not valid JSON (a number out of range)");
  }
  if (!object.is_object())
    return invalidArgument("training config is a JSON " +
                           std::string(object.type_name()) + ", expected an object");
  TrainingConfig config;
  // NT-Xent needs another image in the batch for negatives.
  constexpr int64_t kMinBatch = 2;
  SIMCLR_RETURN_IF_ERROR(readInteger(object, "batch_size", kMinBatch, config.batchSize));
  SIMCLR_RETURN_IF_ERROR(readInteger(object, "steps_per_epoch", 1, config.stepsPerEpoch));
  SIMCLR_RETURN_IF_ERROR(readInteger(object, "total_steps", 1, config.totalSteps));
  SIMCLR_RETURN_IF_ERROR(readInteger(object, "dataset_size", 1, config.datasetSize));

  const Json *shape = findKey(object, "image_shape");
  if (!shape)
    return keyError("image_shape", "is missing");
  if (!shape->is_array() || shape->size() != config.imageShape.size())
    return keyError("image_shape", "must be an array [C, H, W]");
  for (size_t i = 0; i < config.imageShape.size(); ++i) {
    const Json &dim = (*shape)[i];
    if (!dim.is_number_integer() || dim.get<int64_t>() < 1)
      return keyError("image_shape", "must hold 3 positive integers [C, H, W]");
    config.imageShape[i] = dim.get<int64_t>();
  }

  const Json *seed = findKey(object, "seed");
  if (!seed)
    return keyError("seed", "is missing");
  if (!seed->is_number_unsigned() &&
      !(seed->is_number_integer() && seed->get<int64_t>() >= 0))
    return keyError("seed", "must be a non-negative integer");
  config.seed = seed->get<uint64_t>();

  const Json *dataset = findKey(object, "dataset");
  if (!dataset)
    return keyError("dataset", "is missing");
  if (!dataset->is_string())
    return keyError("dataset", "is a JSON " + std::string(dataset->type_name()) +
                                   ", expected a string");
  config.dataset = dataset->get<std::string>();

  const Json *augmentation = findKey(object, "augmentation");
  if (!augmentation)
    return keyError("augmentation", "is missing");
  Expected<AugmentationPolicy> policy = policyFromJson(augmentation->dump());
  if (!policy)
    return policy.takeStatus().withContext("training config");
  config.augmentation = std::move(*policy);
  return config;
}

Expected<TrainingConfig> trainingConfigFromPlan(const artifact::Plan &plan) {
  Expected<TrainingConfig> config = trainingConfigFromJson(plan.trainingJson);
  if (!config)
    return config.takeStatus().withContext(plan.specName.empty()
                                               ? std::string("artifact plan")
                                               : plan.specName);
  return config;
}

} // namespace simclr
