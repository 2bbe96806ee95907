//===- ParameterInit.h - Deterministic parameter initialization --*- C++ -*-===//
//
// How a parameter or running statistic starts, as the compiler records it in
// each argument's simclr.init attribute and the runtime applies it. The
// schemes are torchvision's ResNet initialization and PyTorch's nn.Linear
// default; the random numbers come from a counter-based generator keyed by
// (seed, tensor name, element index), so an initialization is the same on
// every machine, thread count and build, and independent of the order in
// which tensors are initialized.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_SUPPORT_PARAMETERINIT_H
#define SIMCLR_SUPPORT_PARAMETERINIT_H

#include "simclr/Support/Status.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace simclr {

/// One initialization scheme. The names are the simclr.init attribute values.
enum class InitKind {
  /// "kaiming_normal_fan_out": N(0, 2 / fan_out), fan_out = shape[0] *
  /// prod(shape[2:]) (torchvision's kaiming_normal_(mode="fan_out",
  /// nonlinearity="relu") for convolutions).
  kKaimingNormalFanOut,
  /// "uniform_fan_in": U(-1/sqrt(fan_in), 1/sqrt(fan_in)), nn.Linear's
  /// default for weight and bias alike (kaiming_uniform_ with a = sqrt(5)
  /// gives this bound); fan_in is the layer's input width.
  kUniformFanIn,
  /// "ones" and "zeros": batch-norm scale and running variance, shift and
  /// running mean.
  kOnes,
  kZeros,
};

/// Parses a simclr.init value; the error lists the known names.
Expected<InitKind> parseInitKind(std::string_view name);
const char *initKindName(InitKind kind);

/// Fills `values` (row-major, of `shape`) by `kind`. `fanIn` is required for
/// kUniformFanIn (a bias does not know its layer's input width from its own
/// shape). Element i of the tensor named `name` draws from stream
/// (seed, name) at counter i: changing one tensor never changes another.
Status initializeTensor(InitKind kind, const std::vector<int64_t> &shape, int64_t fanIn,
                        uint64_t seed, std::string_view name, std::vector<float> &values);

} // namespace simclr

#endif // SIMCLR_SUPPORT_PARAMETERINIT_H
