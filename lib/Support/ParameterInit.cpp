//===- ParameterInit.cpp - Deterministic parameter initialization ---------===//
//
// Random numbers: SplitMix64 (Steele et al., OOPSLA 2014) of
// (stream + counter), where stream hashes the seed and the tensor name with
// FNV-1a. Normals come from Box-Muller on two such uniforms, so no
// std::normal_distribution (whose algorithm differs between standard
// libraries) is involved.
//
//===----------------------------------------------------------------------===//
#include "simclr/Support/ParameterInit.h"

#include <cmath>

namespace simclr {

namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
constexpr uint64_t kSplitMixIncrement = 0x9e3779b97f4a7c15ULL;
/// 2^-53: maps the top 53 bits of a word to [0, 1) exactly.
constexpr double kTwoToMinus53 = 1.0 / 9007199254740992.0;
constexpr double kPi = 3.14159265358979323846;

uint64_t splitMix64(uint64_t x) {
  x += kSplitMixIncrement;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t streamOf(uint64_t seed, std::string_view name) {
  uint64_t hash = kFnvOffset;
  for (unsigned char c : name)
    hash = (hash ^ c) * kFnvPrime;
  return splitMix64(seed ^ hash);
}

/// Uniform in (0, 1]: never 0, so log() in Box-Muller stays finite.
double uniformOpen(uint64_t stream, uint64_t counter) {
  return (static_cast<double>(splitMix64(stream + 2 * counter) >> 11) + 1.0) * kTwoToMinus53;
}

/// A standard normal for element `index` (Box-Muller, one of the pair).
double standardNormal(uint64_t stream, uint64_t index) {
  double u1 = uniformOpen(stream, 2 * index);
  double u2 = uniformOpen(stream, 2 * index + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
}

int64_t numElements(const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  return count;
}

} // namespace

Expected<InitKind> parseInitKind(std::string_view name) {
  for (InitKind kind : {InitKind::kKaimingNormalFanOut, InitKind::kUniformFanIn,
                        InitKind::kOnes, InitKind::kZeros})
    if (name == initKindName(kind))
      return kind;
  return invalidArgument("unknown initialization '" + std::string(name) +
                         "': expected kaiming_normal_fan_out, uniform_fan_in, ones or zeros");
}

const char *initKindName(InitKind kind) {
  switch (kind) {
  case InitKind::kKaimingNormalFanOut:
    return "kaiming_normal_fan_out";
  case InitKind::kUniformFanIn:
    return "uniform_fan_in";
  case InitKind::kOnes:
    return "ones";
  case InitKind::kZeros:
    return "zeros";
  }
  return "unknown";
}

Status initializeTensor(InitKind kind, const std::vector<int64_t> &shape, int64_t fanIn,
                        uint64_t seed, std::string_view name, std::vector<float> &values) {
  for (int64_t d : shape)
    if (d < 0)
      return invalidArgument("tensor '" + std::string(name) + "' has a negative dimension");
  int64_t count = numElements(shape);
  values.assign(static_cast<size_t>(count), 0.0f);
  uint64_t stream = streamOf(seed, name);
  switch (kind) {
  case InitKind::kZeros:
    return Status::ok();
  case InitKind::kOnes:
    values.assign(values.size(), 1.0f);
    return Status::ok();
  case InitKind::kKaimingNormalFanOut: {
    if (shape.size() < 2)
      return invalidArgument("kaiming_normal_fan_out needs a weight of rank >= 2, but '" +
                             std::string(name) + "' has rank " + std::to_string(shape.size()));
    int64_t receptive = count / (shape[0] * shape[1]);
    double fanOut = static_cast<double>(shape[0] * receptive);
    // gain sqrt(2) for ReLU, std = gain / sqrt(fan_out).
    double stddev = std::sqrt(2.0 / fanOut);
    for (int64_t i = 0; i < count; ++i)
      values[i] = static_cast<float>(stddev * standardNormal(stream, i));
    return Status::ok();
  }
  case InitKind::kUniformFanIn: {
    if (fanIn <= 0)
      return invalidArgument("uniform_fan_in needs a positive fan_in for '" +
                             std::string(name) + "'");
    double bound = 1.0 / std::sqrt(static_cast<double>(fanIn));
    for (int64_t i = 0; i < count; ++i) {
      double u = uniformOpen(stream, i) - kTwoToMinus53; // [0, 1)
      values[i] = static_cast<float>(-bound + 2.0 * bound * u);
    }
    return Status::ok();
  }
  }
  return internalError("unhandled initialization kind");
}

} // namespace simclr
