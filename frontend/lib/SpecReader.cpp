//===- SpecReader.cpp - TOML spec files to TrainingSpec -------------------===//
//
// Reading is strict: every key must be known to its table (and, for augment
// entries and the optimizer, apply to the chosen kind), every value must have
// its documented type, and every enum string must be one of the documented
// ones. Ranges are left to validateSpec, which C++-built specs share. The
// location of each key's value is recorded in TrainingSpec::keyLocations so
// that validateSpec can point at it too.
//
// Debian's toml++ is a shared library built with exceptions, so parse errors
// are caught here as toml::parse_error; none escapes this file.
//
//===----------------------------------------------------------------------===//
#include "simclr/Frontend/SpecReader.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <utility>

namespace simclr::frontend {
namespace {

using KeyList = std::vector<std::string_view>;

//===----------------------------------------------------------------------===//
// Vocabulary: keys, enum strings and per-kind defaults
//===----------------------------------------------------------------------===//

const KeyList kTopLevelKeys = {"name",      "seed",     "data",
                               "encoder",   "head",     "loss",
                               "optimizer", "schedule", "augment"};
const KeyList kDataKeys = {"dataset",    "channels",     "image_size",
                           "batch_size", "train_images", "dtype"};
const KeyList kEncoderKeys = {"arch",       "blocks",           "block",
                              "stem",       "width_multiplier", "bn_epsilon",
                              "bn_momentum"};
const KeyList kHeadKeys = {"hidden_dims", "output_dim", "batch_norm", "bias"};
const KeyList kLossKeys = {"temperature"};
const KeyList kScheduleKeys = {"epochs", "warmup_epochs", "final_lr_fraction"};

/// One allowed string of an enum-valued key.
template <typename E> struct EnumName {
  std::string_view name;
  E value;
};

const EnumName<ElementType> kElementTypes[] = {
    {"f32", ElementType::kF32},
    {"bf16", ElementType::kBF16},
    {"f16", ElementType::kF16},
};
const EnumName<BlockKind> kBlockKinds[] = {
    {"basic", BlockKind::kBasic},
    {"bottleneck", BlockKind::kBottleneck},
};
const EnumName<StemKind> kStemKinds[] = {
    {"small", StemKind::kSmall},
    {"imagenet", StemKind::kImageNet},
};

/// An optimizer kind and the keys that mean something for it.
struct OptimizerKindInfo {
  std::string_view name;
  OptimizerKind kind;
  KeyList keys;
};

const OptimizerKindInfo kOptimizerKinds[] = {
    {"sgd",
     OptimizerKind::kSgd,
     {"kind", "lr", "weight_decay", "momentum", "exclude_bias_and_norm"}},
    {"adamw",
     OptimizerKind::kAdamW,
     {"kind", "lr", "weight_decay", "betas", "epsilon",
      "exclude_bias_and_norm"}},
    {"lars",
     OptimizerKind::kLars,
     {"kind", "lr", "weight_decay", "momentum", "trust_coefficient",
      "exclude_bias_and_norm"}},
};
const KeyList kOptimizerKeys = {
    "kind",  "lr",      "weight_decay",      "momentum",
    "betas", "epsilon", "trust_coefficient", "exclude_bias_and_norm"};

// Default application probabilities of SimCLR's augmentation policy (Chen et
// al. 2020, appendix A: flip 0.5, color distortion 0.8, grayscale 0.2, blur
// 0.5).
constexpr double kDefaultFlipProbability = 0.5;
constexpr double kDefaultColorJitterProbability = 0.8;
constexpr double kDefaultGrayscaleProbability = 0.2;
constexpr double kDefaultBlurProbability = 0.5;

/// An augmentation op, the keys it takes and its default probability.
struct AugmentOpInfo {
  std::string_view name;
  AugmentationKind kind;
  KeyList keys;
  /// Empty for ops that are always applied (crop, normalize).
  std::optional<double> defaultProbability;
};

const AugmentOpInfo kAugmentOps[] = {
    {"random_resized_crop",
     AugmentationKind::kRandomResizedCrop,
     {"op", "scale", "ratio", "size"},
     std::nullopt},
    {"horizontal_flip",
     AugmentationKind::kHorizontalFlip,
     {"op", "p"},
     kDefaultFlipProbability},
    {"color_jitter",
     AugmentationKind::kColorJitter,
     {"op", "brightness", "contrast", "saturation", "hue", "p"},
     kDefaultColorJitterProbability},
    {"random_grayscale",
     AugmentationKind::kRandomGrayscale,
     {"op", "p"},
     kDefaultGrayscaleProbability},
    {"gaussian_blur",
     AugmentationKind::kGaussianBlur,
     {"op", "kernel_size", "sigma", "p"},
     kDefaultBlurProbability},
    {"normalize",
     AugmentationKind::kNormalize,
     {"op", "mean", "std"},
     std::nullopt},
};
const KeyList kAugmentKeys = {"op",  "scale",       "ratio",    "size",
                              "p",   "brightness",  "contrast", "saturation",
                              "hue", "kernel_size", "sigma",    "mean",
                              "std"};

//===----------------------------------------------------------------------===//
// Message helpers
//===----------------------------------------------------------------------===//

/// How messages name a TOML value's type.
const char *typeName(toml::node_type type) {
  switch (type) {
  case toml::node_type::none:
    return "nothing";
  case toml::node_type::table:
    return "table";
  case toml::node_type::array:
    return "array";
  case toml::node_type::string:
    return "string";
  case toml::node_type::integer:
    return "integer";
  case toml::node_type::floating_point:
    return "float";
  case toml::node_type::boolean:
    return "boolean";
  case toml::node_type::date:
    return "date";
  case toml::node_type::time:
    return "time";
  case toml::node_type::date_time:
    return "date-time";
  }
  return "unknown value";
}

std::string joinKeys(const KeyList &keys) {
  std::string joined;
  for (std::string_view key : keys) {
    if (!joined.empty())
      joined += ", ";
    joined += key;
  }
  return joined;
}

template <typename Named> std::string joinQuotedNames(const Named &names) {
  std::string joined;
  for (const auto &entry : names) {
    if (!joined.empty())
      joined += ", ";
    joined += "\"" + std::string(entry.name) + "\"";
  }
  return joined;
}

bool contains(const KeyList &keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

/// toml++ descriptions may span lines; diagnostics are one line.
std::string collapseWhitespace(std::string_view text) {
  std::string collapsed;
  bool pendingSpace = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      pendingSpace = !collapsed.empty();
      continue;
    }
    if (pendingSpace)
      collapsed += ' ';
    pendingSpace = false;
    collapsed += c;
  }
  return collapsed;
}

std::string syntaxErrorMessage(std::string_view description) {
  // toml++ says "Error while parsing array: ..."; the "error:" of the
  // diagnostic already says it is an error.
  constexpr std::string_view kParsePrefix = "Error while parsing ";
  std::string text = collapseWhitespace(description);
  if (text.rfind(kParsePrefix, 0) == 0)
    return "TOML syntax error while parsing " +
           text.substr(kParsePrefix.size());
  return "TOML syntax error: " + text;
}

//===----------------------------------------------------------------------===//
// TableReader: typed, location-recording access to one TOML table
//===----------------------------------------------------------------------===//

/// Reads the keys of one table, whose dotted path is `path` ("" for the
/// root), into a spec. Each read leaves the target untouched when the key is
/// absent, so the caller's defaults stand.
class TableReader {
public:
  TableReader(TrainingSpec &spec, const toml::table &table, std::string path)
      : spec_(spec), table_(table), path_(std::move(path)) {}

  TrainingSpec &spec() { return spec_; }
  const toml::table &node() const { return table_; }
  const std::string &tablePath() const { return path_; }

  /// The dotted path of `key` in this table.
  std::string keyPath(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  Status errorAt(const toml::node &node, const std::string &message) const {
    const toml::source_position &begin = node.source().begin;
    return invalidArgument(formatSpecError(
        SourceLoc{spec_.sourceFile, begin.line, begin.column}, message));
  }

  void record(const std::string &keyPath, const toml::node &node) {
    const toml::source_position &begin = node.source().begin;
    spec_.keyLocations[keyPath] =
        SourceLoc{spec_.sourceFile, begin.line, begin.column};
  }

  /// Rejects keys outside `allowed`, reporting the first one in the file.
  /// `owner` names who allows them ("[data]", "sgd"); keys in `known` but
  /// not in `allowed` exist elsewhere and "do not apply" rather than being
  /// unknown.
  Status checkKeys(const KeyList &allowed, const std::string &owner,
                   const KeyList &known = {}) const {
    const toml::node *first = nullptr;
    std::string firstKey;
    for (auto &&[key, value] : table_) {
      if (contains(allowed, key.str()))
        continue;
      const toml::source_position &begin = value.source().begin;
      if (first && std::make_pair(first->source().begin.line,
                                  first->source().begin.column) <=
                       std::make_pair(begin.line, begin.column))
        continue;
      first = &value;
      firstKey = std::string(key.str());
    }
    if (!first)
      return Status::ok();
    if (contains(known, firstKey))
      return errorAt(*first, keyPath(firstKey) + " does not apply to " + owner +
                                 "; " + owner + " allows " + joinKeys(allowed));
    return errorAt(*first, "unknown key " + keyPath(firstKey) + "; " + owner +
                               " allows " + joinKeys(allowed));
  }

  /// The value of `key`, recorded under its path; null when absent.
  const toml::node *find(std::string_view key) {
    const toml::node *value = table_.get(key);
    if (value)
      record(keyPath(key), *value);
    return value;
  }

  Status read(std::string_view key, std::string &out) {
    const toml::node *value = find(key);
    if (!value)
      return Status::ok();
    if (const auto *text = value->as_string()) {
      out = text->get();
      return Status::ok();
    }
    return errorAt(*value, keyPath(key) + " must be a string, got " +
                               typeName(value->type()));
  }

  Status read(std::string_view key, bool &out) {
    const toml::node *value = find(key);
    if (!value)
      return Status::ok();
    if (const auto *flag = value->as_boolean()) {
      out = flag->get();
      return Status::ok();
    }
    return errorAt(*value, keyPath(key) + " must be a boolean, got " +
                               typeName(value->type()));
  }

  Status read(std::string_view key, int64_t &out) {
    const toml::node *value = find(key);
    return value ? convert(*value, keyPath(key), out) : Status::ok();
  }

  Status read(std::string_view key, double &out) {
    const toml::node *value = find(key);
    return value ? convert(*value, keyPath(key), out) : Status::ok();
  }

  template <typename T> Status read(std::string_view key, std::vector<T> &out) {
    const toml::node *value = find(key);
    return value ? convertList(*value, keyPath(key), out) : Status::ok();
  }

  /// Reads a two-element array; `shape` names the elements ("[lo, hi]").
  template <typename T>
  Status readPair(std::string_view key, std::array<T, 2> &out,
                  std::string_view shape) {
    const toml::node *value = find(key);
    if (!value)
      return Status::ok();
    std::vector<T> elements;
    SIMCLR_RETURN_IF_ERROR(convertList(*value, keyPath(key), elements));
    if (elements.size() != out.size())
      return errorAt(*value, keyPath(key) + " must have 2 elements " +
                                 std::string(shape) + ", got " +
                                 std::to_string(elements.size()));
    std::copy(elements.begin(), elements.end(), out.begin());
    return Status::ok();
  }

  template <typename E, size_t N>
  Status readEnum(std::string_view key, const EnumName<E> (&names)[N], E &out) {
    std::string text;
    SIMCLR_RETURN_IF_ERROR(read(key, text));
    if (!table_.contains(key))
      return Status::ok();
    for (const EnumName<E> &entry : names) {
      if (entry.name == text) {
        out = entry.value;
        return Status::ok();
      }
    }
    return errorAt(*table_.get(key), "unknown " + keyPath(key) + " \"" + text +
                                         "\"; expected one of " +
                                         joinQuotedNames(names));
  }

  /// Finds the sub-table `key`, recording it; null (and OK) when absent.
  Status readTable(std::string_view key, const toml::table *&out) {
    out = nullptr;
    const toml::node *value = find(key);
    if (!value)
      return Status::ok();
    out = value->as_table();
    if (!out)
      return errorAt(*value, keyPath(key) + " must be a table, got " +
                                 typeName(value->type()));
    return Status::ok();
  }

private:
  Status convert(const toml::node &node, const std::string &what,
                 int64_t &out) const {
    if (const auto *integer = node.as_integer()) {
      out = integer->get();
      return Status::ok();
    }
    return errorAt(node,
                   what + " must be an integer, got " + typeName(node.type()));
  }

  /// Floats take integers too ("lr = 1"); inf and nan are never meaningful
  /// in a spec.
  Status convert(const toml::node &node, const std::string &what,
                 double &out) const {
    if (const auto *integer = node.as_integer()) {
      out = static_cast<double>(integer->get());
      return Status::ok();
    }
    if (const auto *real = node.as_floating_point()) {
      if (!std::isfinite(real->get()))
        return errorAt(node, what + " must be a finite number");
      out = real->get();
      return Status::ok();
    }
    return errorAt(node,
                   what + " must be a number, got " + typeName(node.type()));
  }

  template <typename T>
  Status convertList(const toml::node &node, const std::string &what,
                     std::vector<T> &out) {
    const toml::array *array = node.as_array();
    if (!array)
      return errorAt(node,
                     what + " must be an array, got " + typeName(node.type()));
    out.clear();
    for (size_t i = 0; i < array->size(); ++i) {
      std::string elementPath = what + "[" + std::to_string(i) + "]";
      record(elementPath, (*array)[i]);
      T element{};
      SIMCLR_RETURN_IF_ERROR(convert((*array)[i], elementPath, element));
      out.push_back(element);
    }
    return Status::ok();
  }

  TrainingSpec &spec_;
  const toml::table &table_;
  std::string path_;
};

//===----------------------------------------------------------------------===//
// Sections
//===----------------------------------------------------------------------===//

Status readData(TableReader &reader, DataSpec &data) {
  SIMCLR_RETURN_IF_ERROR(reader.checkKeys(kDataKeys, "[data]"));
  SIMCLR_RETURN_IF_ERROR(reader.read("dataset", data.dataset));
  SIMCLR_RETURN_IF_ERROR(reader.read("channels", data.channels));
  std::array<int64_t, 2> imageSize = {data.height, data.width};
  SIMCLR_RETURN_IF_ERROR(
      reader.readPair("image_size", imageSize, "[height, width]"));
  data.height = imageSize[0];
  data.width = imageSize[1];
  SIMCLR_RETURN_IF_ERROR(reader.read("batch_size", data.batchSize));
  SIMCLR_RETURN_IF_ERROR(reader.read("train_images", data.trainImages));
  return reader.readEnum("dtype", kElementTypes, data.elementType);
}

Status readEncoder(TableReader &reader, EncoderSpec &encoder) {
  SIMCLR_RETURN_IF_ERROR(reader.checkKeys(kEncoderKeys, "[encoder]"));
  // `arch` sets blocks and block first so that explicit keys override it.
  std::string arch;
  SIMCLR_RETURN_IF_ERROR(reader.read("arch", arch));
  if (const toml::node *archNode = reader.node().get("arch")) {
    if (!setEncoderArchitecture(arch, encoder)) {
      std::string names;
      for (const std::string &name : encoderArchitectureNames())
        names += (names.empty() ? "\"" : ", \"") + name + "\"";
      return reader.errorAt(*archNode, "unknown encoder.arch \"" + arch +
                                           "\"; expected one of " + names);
    }
  }
  SIMCLR_RETURN_IF_ERROR(reader.read("blocks", encoder.blocksPerStage));
  SIMCLR_RETURN_IF_ERROR(reader.readEnum("block", kBlockKinds, encoder.block));
  SIMCLR_RETURN_IF_ERROR(reader.readEnum("stem", kStemKinds, encoder.stem));
  SIMCLR_RETURN_IF_ERROR(
      reader.read("width_multiplier", encoder.widthMultiplier));
  SIMCLR_RETURN_IF_ERROR(reader.read("bn_epsilon", encoder.bnEpsilon));
  return reader.read("bn_momentum", encoder.bnMomentum);
}

Status readHead(TableReader &reader, HeadSpec &head) {
  SIMCLR_RETURN_IF_ERROR(reader.checkKeys(kHeadKeys, "[head]"));
  SIMCLR_RETURN_IF_ERROR(reader.read("hidden_dims", head.hiddenDims));
  SIMCLR_RETURN_IF_ERROR(reader.read("output_dim", head.outputDim));
  SIMCLR_RETURN_IF_ERROR(reader.read("batch_norm", head.batchNorm));
  return reader.read("bias", head.bias);
}

Status readLoss(TableReader &reader, LossSpec &loss) {
  SIMCLR_RETURN_IF_ERROR(reader.checkKeys(kLossKeys, "[loss]"));
  return reader.read("temperature", loss.temperature);
}

Status readOptimizer(TableReader &reader, OptimizerSpec &optimizer) {
  SIMCLR_RETURN_IF_ERROR(reader.checkKeys(kOptimizerKeys, "[optimizer]"));
  EnumName<OptimizerKind> kindNames[std::size(kOptimizerKinds)];
  for (size_t i = 0; i < std::size(kOptimizerKinds); ++i)
    kindNames[i] = {kOptimizerKinds[i].name, kOptimizerKinds[i].kind};
  SIMCLR_RETURN_IF_ERROR(reader.readEnum("kind", kindNames, optimizer.kind));
  const OptimizerKindInfo *info = nullptr;
  for (const OptimizerKindInfo &candidate : kOptimizerKinds)
    if (candidate.kind == optimizer.kind)
      info = &candidate;
  assert(info && "every OptimizerKind has an entry in kOptimizerKinds");
  SIMCLR_RETURN_IF_ERROR(
      reader.checkKeys(info->keys, std::string(info->name), kOptimizerKeys));

  SIMCLR_RETURN_IF_ERROR(reader.read("lr", optimizer.learningRate));
  SIMCLR_RETURN_IF_ERROR(reader.read("weight_decay", optimizer.weightDecay));
  SIMCLR_RETURN_IF_ERROR(reader.read("momentum", optimizer.momentum));
  std::array<double, 2> betas = {optimizer.beta1, optimizer.beta2};
  SIMCLR_RETURN_IF_ERROR(reader.readPair("betas", betas, "[beta1, beta2]"));
  optimizer.beta1 = betas[0];
  optimizer.beta2 = betas[1];
  SIMCLR_RETURN_IF_ERROR(reader.read("epsilon", optimizer.epsilon));
  SIMCLR_RETURN_IF_ERROR(
      reader.read("trust_coefficient", optimizer.trustCoefficient));
  SIMCLR_RETURN_IF_ERROR(
      reader.read("exclude_bias_and_norm", optimizer.excludeBiasAndNorm));
  // SimCLR's LARS exempts biases and batch-norm parameters from weight decay
  // and trust-ratio adaptation; a spec may not ask otherwise (readRoot sets
  // the flag for LARS).
  const toml::node *exclude = reader.node().get("exclude_bias_and_norm");
  if (optimizer.kind == OptimizerKind::kLars && exclude &&
      !optimizer.excludeBiasAndNorm)
    return reader.errorAt(*exclude,
                          "optimizer.exclude_bias_and_norm cannot be false "
                          "for lars: LARS always excludes biases and "
                          "batch-norm parameters, as in SimCLR");
  return Status::ok();
}

Status readSchedule(TableReader &reader, ScheduleSpec &schedule) {
  SIMCLR_RETURN_IF_ERROR(reader.checkKeys(kScheduleKeys, "[schedule]"));
  SIMCLR_RETURN_IF_ERROR(reader.read("epochs", schedule.epochs));
  SIMCLR_RETURN_IF_ERROR(reader.read("warmup_epochs", schedule.warmupEpochs));
  return reader.read("final_lr_fraction", schedule.finalLearningRateFraction);
}

Status readAugmentation(TableReader &reader, AugmentationSpec &augment) {
  const toml::node *opNode = reader.node().get("op");
  if (!opNode)
    return reader.errorAt(reader.node(),
                          reader.tablePath() +
                              " is missing the required key op; expected "
                              "one of " +
                              joinQuotedNames(kAugmentOps));
  std::string op;
  SIMCLR_RETURN_IF_ERROR(reader.read("op", op));
  const AugmentOpInfo *info = nullptr;
  for (const AugmentOpInfo &candidate : kAugmentOps)
    if (candidate.name == op)
      info = &candidate;
  if (!info)
    return reader.errorAt(*opNode, "unknown " + reader.keyPath("op") + " \"" +
                                       op + "\"; expected one of " +
                                       joinQuotedNames(kAugmentOps));
  SIMCLR_RETURN_IF_ERROR(
      reader.checkKeys(info->keys, std::string(info->name), kAugmentKeys));

  augment.kind = info->kind;
  if (info->defaultProbability)
    augment.probability = *info->defaultProbability;
  SIMCLR_RETURN_IF_ERROR(reader.read("p", augment.probability));
  SIMCLR_RETURN_IF_ERROR(reader.readPair("scale", augment.scale, "[lo, hi]"));
  SIMCLR_RETURN_IF_ERROR(reader.readPair("ratio", augment.ratio, "[lo, hi]"));
  if (reader.node().contains("size")) {
    std::array<int64_t, 2> size = {};
    SIMCLR_RETURN_IF_ERROR(reader.readPair("size", size, "[height, width]"));
    augment.size = size;
  }
  SIMCLR_RETURN_IF_ERROR(reader.read("brightness", augment.brightness));
  SIMCLR_RETURN_IF_ERROR(reader.read("contrast", augment.contrast));
  SIMCLR_RETURN_IF_ERROR(reader.read("saturation", augment.saturation));
  SIMCLR_RETURN_IF_ERROR(reader.read("hue", augment.hue));
  SIMCLR_RETURN_IF_ERROR(reader.read("kernel_size", augment.kernelSize));
  SIMCLR_RETURN_IF_ERROR(reader.readPair("sigma", augment.sigma, "[lo, hi]"));
  if (augment.kind == AugmentationKind::kNormalize) {
    // Per-channel statistics have no sensible default.
    for (std::string_view key : {"mean", "std"})
      if (!reader.node().contains(key))
        return reader.errorAt(reader.node(),
                              reader.tablePath() +
                                  " (normalize) is missing the required key " +
                                  std::string(key));
  }
  SIMCLR_RETURN_IF_ERROR(reader.read("mean", augment.mean));
  return reader.read("std", augment.std);
}

Status readAugmentations(TableReader &root,
                         std::vector<AugmentationSpec> &augmentations) {
  const toml::node *list = root.find("augment");
  if (!list)
    return Status::ok();
  const toml::array *array = list->as_array();
  if (!array)
    return root.errorAt(*list, "augment must be an array of tables "
                               "([[augment]]), got " +
                                   std::string(typeName(list->type())));
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node &entry = (*array)[i];
    std::string path = "augment[" + std::to_string(i) + "]";
    root.record(path, entry);
    const toml::table *table = entry.as_table();
    if (!table)
      return root.errorAt(entry, path + " must be a table, got " +
                                     typeName(entry.type()));
    TableReader reader(root.spec(), *table, path);
    AugmentationSpec augment;
    SIMCLR_RETURN_IF_ERROR(readAugmentation(reader, augment));
    augmentations.push_back(std::move(augment));
  }
  return Status::ok();
}

/// Reads the section `key` of the root with `readBody`, if present.
template <typename Section>
Status readSection(TableReader &root, std::string_view key, Section &section,
                   Status (*readBody)(TableReader &, Section &)) {
  const toml::table *table = nullptr;
  SIMCLR_RETURN_IF_ERROR(root.readTable(key, table));
  if (!table)
    return Status::ok();
  TableReader reader(root.spec(), *table, std::string(key));
  return readBody(reader, section);
}

Status readRoot(TableReader &root, TrainingSpec &spec) {
  SIMCLR_RETURN_IF_ERROR(root.checkKeys(kTopLevelKeys, "the top level"));
  SIMCLR_RETURN_IF_ERROR(root.read("name", spec.name));
  int64_t seed = static_cast<int64_t>(spec.seed);
  SIMCLR_RETURN_IF_ERROR(root.read("seed", seed));
  if (seed < 0)
    return root.errorAt(*root.node().get("seed"),
                        "seed must be >= 0, got " + std::to_string(seed));
  spec.seed = static_cast<uint64_t>(seed);
  SIMCLR_RETURN_IF_ERROR(readSection(root, "data", spec.data, readData));
  SIMCLR_RETURN_IF_ERROR(
      readSection(root, "encoder", spec.encoder, readEncoder));
  SIMCLR_RETURN_IF_ERROR(readSection(root, "head", spec.head, readHead));
  SIMCLR_RETURN_IF_ERROR(readSection(root, "loss", spec.loss, readLoss));
  SIMCLR_RETURN_IF_ERROR(
      readSection(root, "optimizer", spec.optimizer, readOptimizer));
  // Also when [optimizer] is omitted: LARS is the default kind.
  if (spec.optimizer.kind == OptimizerKind::kLars)
    spec.optimizer.excludeBiasAndNorm = true;
  SIMCLR_RETURN_IF_ERROR(
      readSection(root, "schedule", spec.schedule, readSchedule));
  return readAugmentations(root, spec.augmentations);
}

} // namespace

Expected<TrainingSpec> parseSpec(std::string_view text,
                                 const std::string &fileName) {
  TrainingSpec spec;
  spec.sourceFile = fileName;
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(fileName));
  } catch (const toml::parse_error &error) {
    const toml::source_position &begin = error.source().begin;
    return invalidArgument(
        formatSpecError(SourceLoc{fileName, begin.line, begin.column},
                        syntaxErrorMessage(error.description())));
  }
  TableReader reader(spec, root, "");
  SIMCLR_RETURN_IF_ERROR(readRoot(reader, spec));
  SIMCLR_RETURN_IF_ERROR(validateSpec(spec));
  return spec;
}

Expected<TrainingSpec> readSpecFile(const std::string &path) {
  auto fail = [&](const char *what) {
    std::string message = std::string(what) + ": " + std::strerror(errno);
    Status status(errno == ENOENT ? StatusCode::kNotFound
                                  : StatusCode::kIoError,
                  formatSpecError(SourceLoc{path, 0, 0}, message));
    return status;
  };
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    return fail("cannot open spec file");
  std::string text;
  constexpr size_t kChunkBytes = 1 << 16;
  std::array<char, kChunkBytes> chunk;
  size_t count = 0;
  while ((count = std::fread(chunk.data(), 1, chunk.size(), file)) > 0)
    text.append(chunk.data(), count);
  bool readFailed = std::ferror(file);
  // Reading a directory fails with EISDIR; capture errno before fclose.
  Status readStatus = readFailed ? fail("cannot read spec file") : Status();
  std::fclose(file);
  if (!readStatus.isOk())
    return readStatus;
  return parseSpec(text, path);
}

} // namespace simclr::frontend
