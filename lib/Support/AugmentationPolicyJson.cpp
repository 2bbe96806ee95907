//===- AugmentationPolicyJson.cpp - An augmentation policy as JSON --------===//
#include "simclr/Support/AugmentationPolicyJson.h"

#include <nlohmann/json.hpp>

#include <set>

namespace simclr {

namespace {

using Json = nlohmann::ordered_json;

constexpr AugmentationKind kAllKinds[] = {
    AugmentationKind::kRandomResizedCrop, AugmentationKind::kHorizontalFlip,
    AugmentationKind::kColorJitter,       AugmentationKind::kRandomGrayscale,
    AugmentationKind::kGaussianBlur,      AugmentationKind::kNormalize,
};

/// The keys besides "kind" that a step of `kind` carries; "size" is optional.
std::set<std::string> keysOf(AugmentationKind kind) {
  switch (kind) {
  case AugmentationKind::kRandomResizedCrop:
    return {"scale", "ratio", "size"};
  case AugmentationKind::kHorizontalFlip:
  case AugmentationKind::kRandomGrayscale:
    return {"probability"};
  case AugmentationKind::kColorJitter:
    return {"probability", "brightness", "contrast", "saturation", "hue"};
  case AugmentationKind::kGaussianBlur:
    return {"probability", "kernel_size", "sigma"};
  case AugmentationKind::kNormalize:
    return {"mean", "std"};
  }
  return {};
}

Json pairToJson(const std::array<double, 2> &pair) {
  return Json::array({pair[0], pair[1]});
}

/// Reads the fields of one step object, reporting problems with the step's
/// "augmentation[i] (kind)" prefix.
class StepReader {
public:
  StepReader(const Json &object, std::string prefix)
      : object(object), prefix(std::move(prefix)) {}

  Status error(const std::string &problem) const {
    return invalidArgument(prefix + ": " + problem);
  }

  Status number(const char *key, double &out) const {
    const Json *value = find(key);
    if (!value)
      return missing(key);
    if (!value->is_number())
      return wrongType(key, *value, "a number");
    out = value->get<double>();
    return Status::ok();
  }

  Status integer(const char *key, int64_t &out) const {
    const Json *value = find(key);
    if (!value)
      return missing(key);
    if (!value->is_number_integer())
      return wrongType(key, *value, "an integer");
    out = value->get<int64_t>();
    return Status::ok();
  }

  Status numbers(const char *key, std::vector<double> &out) const {
    const Json *value = find(key);
    if (!value)
      return missing(key);
    if (!value->is_array())
      return wrongType(key, *value, "an array of numbers");
    out.clear();
    for (const Json &element : *value) {
      if (!element.is_number())
        return wrongType(key, element, "an array of numbers");
      out.push_back(element.get<double>());
    }
    return Status::ok();
  }

  Status pair(const char *key, std::array<double, 2> &out) const {
    std::vector<double> values;
    SIMCLR_RETURN_IF_ERROR(numbers(key, values));
    if (values.size() != 2)
      return error("'" + std::string(key) + "' has " +
                   std::to_string(values.size()) + " numbers, expected 2");
    out = {values[0], values[1]};
    return Status::ok();
  }

  bool has(const char *key) const { return find(key) != nullptr; }

  Status integerPair(const char *key, std::array<int64_t, 2> &out) const {
    const Json *value = find(key);
    if (!value)
      return missing(key);
    if (!value->is_array() || value->size() != 2 ||
        !(*value)[0].is_number_integer() || !(*value)[1].is_number_integer())
      return error("'" + std::string(key) + "' must be an array of 2 integers");
    out = {(*value)[0].get<int64_t>(), (*value)[1].get<int64_t>()};
    return Status::ok();
  }

private:
  const Json *find(const char *key) const {
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
  }
  Status missing(const char *key) const {
    return error("missing key '" + std::string(key) + "'");
  }
  Status wrongType(const char *key, const Json &value, const char *expected) const {
    return error("'" + std::string(key) + "' is a JSON " +
                 std::string(value.type_name()) + ", expected " + expected);
  }

  const Json &object;
  std::string prefix;
};

Status readStep(size_t index, const Json &object, AugmentationStep &step) {
  std::string where = "augmentation[" + std::to_string(index) + "]";
  if (!object.is_object())
    return invalidArgument(where + " is a JSON " +
                           std::string(object.type_name()) + ", expected an object");
  auto kindIt = object.find("kind");
  if (kindIt == object.end() || !kindIt->is_string())
    return invalidArgument(where + ": missing string key 'kind'");
  std::string kindName = kindIt->get<std::string>();
  bool known = false;
  for (AugmentationKind kind : kAllKinds)
    if (kindName == augmentationKindName(kind)) {
      step.kind = kind;
      known = true;
    }
  if (!known)
    return invalidArgument(where + ": unknown kind '" + kindName + "'");

  StepReader reader(object, where + " (" + kindName + ")");
  std::set<std::string> allowed = keysOf(step.kind);
  for (auto it = object.begin(); it != object.end(); ++it)
    if (it.key() != "kind" && !allowed.count(it.key()))
      return reader.error("unknown key '" + it.key() + "'");

  switch (step.kind) {
  case AugmentationKind::kRandomResizedCrop:
    SIMCLR_RETURN_IF_ERROR(reader.pair("scale", step.scale));
    SIMCLR_RETURN_IF_ERROR(reader.pair("ratio", step.ratio));
    if (reader.has("size")) {
      std::array<int64_t, 2> size;
      SIMCLR_RETURN_IF_ERROR(reader.integerPair("size", size));
      step.size = size;
    }
    break;
  case AugmentationKind::kHorizontalFlip:
  case AugmentationKind::kRandomGrayscale:
    SIMCLR_RETURN_IF_ERROR(reader.number("probability", step.probability));
    break;
  case AugmentationKind::kColorJitter:
    SIMCLR_RETURN_IF_ERROR(reader.number("probability", step.probability));
    SIMCLR_RETURN_IF_ERROR(reader.number("brightness", step.brightness));
    SIMCLR_RETURN_IF_ERROR(reader.number("contrast", step.contrast));
    SIMCLR_RETURN_IF_ERROR(reader.number("saturation", step.saturation));
    SIMCLR_RETURN_IF_ERROR(reader.number("hue", step.hue));
    break;
  case AugmentationKind::kGaussianBlur:
    SIMCLR_RETURN_IF_ERROR(reader.number("probability", step.probability));
    SIMCLR_RETURN_IF_ERROR(reader.integer("kernel_size", step.kernelSize));
    SIMCLR_RETURN_IF_ERROR(reader.pair("sigma", step.sigma));
    break;
  case AugmentationKind::kNormalize:
    SIMCLR_RETURN_IF_ERROR(reader.numbers("mean", step.mean));
    SIMCLR_RETURN_IF_ERROR(reader.numbers("std", step.std));
    break;
  }
  // validateAugmentationStep says "augment[i] (kind): ..." already.
  return validateAugmentationStep(index, step);
}

} // namespace

std::string policyToJson(const AugmentationPolicy &policy) {
  Json steps = Json::array();
  for (const AugmentationStep &step : policy) {
    Json object = Json::object();
    object["kind"] = augmentationKindName(step.kind);
    switch (step.kind) {
    case AugmentationKind::kRandomResizedCrop:
      object["scale"] = pairToJson(step.scale);
      object["ratio"] = pairToJson(step.ratio);
      if (step.size)
        object["size"] = Json::array({(*step.size)[0], (*step.size)[1]});
      break;
    case AugmentationKind::kHorizontalFlip:
    case AugmentationKind::kRandomGrayscale:
      object["probability"] = step.probability;
      break;
    case AugmentationKind::kColorJitter:
      object["probability"] = step.probability;
      object["brightness"] = step.brightness;
      object["contrast"] = step.contrast;
      object["saturation"] = step.saturation;
      object["hue"] = step.hue;
      break;
    case AugmentationKind::kGaussianBlur:
      object["probability"] = step.probability;
      object["kernel_size"] = step.kernelSize;
      object["sigma"] = pairToJson(step.sigma);
      break;
    case AugmentationKind::kNormalize:
      object["mean"] = step.mean;
      object["std"] = step.std;
      break;
    }
    steps.push_back(std::move(object));
  }
  return steps.dump();
}

Expected<AugmentationPolicy> policyFromJson(const std::string &text) {
  Json steps;
  try {
    steps = Json::parse(text);
  } catch (const Json::parse_error &e) {
    return invalidArgument("augmentation: not valid JSON (near byte " +
                           std::to_string(e.byte) + ")");
  } catch (const Json::exception &) {
    // nlohmann throws out_of_range for a number beyond double's range.
    return invalidArgument("augmentation: not valid JSON (a number out of range)");
  }
  if (!steps.is_array())
    return invalidArgument("augmentation is a JSON " +
                           std::string(steps.type_name()) + ", expected an array of steps");
  AugmentationPolicy policy(steps.size());
  for (size_t i = 0; i < steps.size(); ++i)
    SIMCLR_RETURN_IF_ERROR(readStep(i, steps[i], policy[i]));
  return policy;
}

} // namespace simclr
