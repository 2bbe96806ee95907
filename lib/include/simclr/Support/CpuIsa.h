//===- CpuIsa.h - x86-64 instruction-set levels of CPU artifacts -*- C++ -*-===//
//
// A CPU kernel library is compiled for one x86-64 micro-architecture level
// (the psABI's x86-64-v2/v3/v4, which GCC's -march accepts); plan.json
// records it as `library.architecture`, and the runtime refuses a library
// whose level this CPU lacks instead of dying with SIGILL. The level also
// fixes the activation layout (channel block 8 below AVX-512, 16 with it)
// and caps oneDNN's instruction set, so that a plan's layouts and
// workspace sizes mean the same on every machine that runs it.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_SUPPORT_CPUISA_H
#define SIMCLR_SUPPORT_CPUISA_H

#include <optional>
#include <string>
#include <string_view>

namespace simclr {

enum class CpuIsaLevel {
  /// SSE4.2, POPCNT.
  kX86_64_v2,
  /// AVX2, FMA, BMI2.
  kX86_64_v3,
  /// AVX-512 F/BW/CD/DQ/VL.
  kX86_64_v4,
};
inline constexpr CpuIsaLevel kAllCpuIsaLevels[] = {
    CpuIsaLevel::kX86_64_v2, CpuIsaLevel::kX86_64_v3, CpuIsaLevel::kX86_64_v4};

/// "x86-64-v2", "x86-64-v3", "x86-64-v4": the -march value and the plan's
/// name.
std::string_view cpuIsaLevelName(CpuIsaLevel level);
std::optional<CpuIsaLevel> parseCpuIsaLevel(std::string_view name);
/// One line of what the level requires ("AVX2 and FMA").
std::string_view cpuIsaLevelFeatures(CpuIsaLevel level);

/// The highest level this CPU supports (at least v2: x86-64 machines
/// without SSE4.2 are not supported).
CpuIsaLevel hostCpuIsaLevel();
/// Whether this CPU runs code compiled for `level`.
bool hostSupportsCpuIsaLevel(CpuIsaLevel level);
/// /proc/cpuinfo's "model name" ("AMD EPYC 9B14"), or "unknown CPU".
std::string hostCpuModel();

/// Channels per block of the blocked activation layout at `level`: the
/// floats of one vector register (oneDNN's nChw8c / nChw16c).
int cpuIsaChannelBlock(CpuIsaLevel level);

} // namespace simclr

#endif // SIMCLR_SUPPORT_CPUISA_H
