//===- CpuIsa.cpp - x86-64 instruction-set levels -------------------------===//
#include "simclr/Support/CpuIsa.h"

#include <fstream>

namespace simclr {

std::string_view cpuIsaLevelName(CpuIsaLevel level) {
  switch (level) {
  case CpuIsaLevel::kX86_64_v2:
    return "x86-64-v2";
  case CpuIsaLevel::kX86_64_v3:
    return "x86-64-v3";
  case CpuIsaLevel::kX86_64_v4:
    return "x86-64-v4";
  }
  return "?";
}

std::optional<CpuIsaLevel> parseCpuIsaLevel(std::string_view name) {
  for (CpuIsaLevel level : kAllCpuIsaLevels)
    if (cpuIsaLevelName(level) == name)
      return level;
  return std::nullopt;
}

std::string_view cpuIsaLevelFeatures(CpuIsaLevel level) {
  switch (level) {
  case CpuIsaLevel::kX86_64_v2:
    return "SSE4.2 and POPCNT";
  case CpuIsaLevel::kX86_64_v3:
    return "AVX2, FMA and BMI2";
  case CpuIsaLevel::kX86_64_v4:
    return "AVX-512 (F, BW, CD, DQ, VL)";
  }
  return "?";
}

bool hostSupportsCpuIsaLevel(CpuIsaLevel level) {
  __builtin_cpu_init();
#if defined(__clang__) && __clang_major__ < 15
  // clang 14 (the fuzz build, fuzz/) knows no level names: check the
  // features cpuIsaLevelFeatures() names.
  switch (level) {
  case CpuIsaLevel::kX86_64_v2:
    return __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("popcnt");
  case CpuIsaLevel::kX86_64_v3:
    return hostSupportsCpuIsaLevel(CpuIsaLevel::kX86_64_v2) &&
           __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("bmi2");
  case CpuIsaLevel::kX86_64_v4:
    return hostSupportsCpuIsaLevel(CpuIsaLevel::kX86_64_v3) &&
           __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512cd") &&
           __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
  }
#else
  switch (level) {
  case CpuIsaLevel::kX86_64_v2:
    return __builtin_cpu_supports("x86-64-v2");
  case CpuIsaLevel::kX86_64_v3:
    return __builtin_cpu_supports("x86-64-v3");
  case CpuIsaLevel::kX86_64_v4:
    return __builtin_cpu_supports("x86-64-v4");
  }
#endif
  return false;
}

CpuIsaLevel hostCpuIsaLevel() {
  for (CpuIsaLevel level :
       {CpuIsaLevel::kX86_64_v4, CpuIsaLevel::kX86_64_v3})
    if (hostSupportsCpuIsaLevel(level))
      return level;
  return CpuIsaLevel::kX86_64_v2;
}

std::string hostCpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size())
        return line.substr(colon + 2);
    }
  return "unknown CPU";
}

int cpuIsaChannelBlock(CpuIsaLevel level) {
  return level == CpuIsaLevel::kX86_64_v4 ? 16 : 8;
}

} // namespace simclr
