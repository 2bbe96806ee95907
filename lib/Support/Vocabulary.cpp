//===- Vocabulary.cpp - Names shared by the compiler and the runtime ------===//
#include "simclr/Support/Vocabulary.h"

#include "simclr/Support/CpuIsa.h"

#include <cassert>

namespace simclr {
namespace {

/// The name of `value` in a table of (value, name) pairs.
template <typename Enum, size_t N>
std::string_view nameIn(const std::pair<Enum, std::string_view> (&table)[N],
                        Enum value) {
  for (const auto &[v, name] : table)
    if (v == value)
      return name;
  assert(false && "enum value outside its name table");
  return "?";
}

template <typename Enum, size_t N>
std::optional<Enum> parseIn(const std::pair<Enum, std::string_view> (&table)[N],
                            std::string_view name) {
  for (const auto &[v, n] : table)
    if (n == name)
      return v;
  return std::nullopt;
}

constexpr std::pair<KernelKind, std::string_view> kKernelKindNames[] = {
    {KernelKind::kElementwise, "elementwise"},
    {KernelKind::kAnchored, "anchored"},
    {KernelKind::kNtXent, "nt_xent"},
    {KernelKind::kOptimizer, "optimizer"},
};

constexpr std::pair<ExternRoutine, std::string_view> kExternRoutineNames[] = {
    {ExternRoutine::kConv2d, "conv2d"},
    {ExternRoutine::kConv2dBackwardInput, "conv2d_backward_input"},
    {ExternRoutine::kConv2dBackwardFilter, "conv2d_backward_filter"},
    {ExternRoutine::kMatmul, "matmul"},
};

constexpr std::pair<CollectiveKind, std::string_view> kCollectiveKindNames[] = {
    {CollectiveKind::kAllReduceSum, "all_reduce_sum"},
    {CollectiveKind::kAllGather, "all_gather"},
    {CollectiveKind::kLocalSlice, "local_slice"},
};

constexpr std::pair<Layout, std::string_view> kLayoutNames[] = {
    {Layout::kPlain, "nchw"},
    {Layout::kNhwc, "nhwc"},
    {Layout::kNChw8c, "nChw8c"},
    {Layout::kNChw16c, "nChw16c"},
};

constexpr std::pair<TargetKind, std::string_view> kTargetKindNames[] = {
    {TargetKind::kCpu, "cpu"},
    {TargetKind::kCuda, "cuda"},
};

} // namespace

std::string_view targetKindName(TargetKind target) {
  return nameIn(kTargetKindNames, target);
}
std::optional<TargetKind> parseTargetKind(std::string_view name) {
  return parseIn(kTargetKindNames, name);
}
std::string targetKindList() {
  std::string list;
  for (const auto &[target, name] : kTargetKindNames)
    list += (list.empty() ? "" : ", ") + std::string(name);
  return list;
}
bool isTargetArchitecture(TargetKind target, std::string_view architecture) {
  switch (target) {
  case TargetKind::kCpu:
    return parseCpuIsaLevel(architecture).has_value();
  case TargetKind::kCuda:
    return parseCudaArchitecture(architecture).has_value();
  }
  return false;
}
std::string_view targetArchitectureForm(TargetKind target) {
  switch (target) {
  case TargetKind::kCpu:
    return "x86-64-v2, x86-64-v3 or x86-64-v4";
  case TargetKind::kCuda:
    return "sm_XY, a compute capability such as sm_90";
  }
  return "?";
}
std::optional<int> parseCudaArchitecture(std::string_view architecture) {
  if (architecture.size() < 5 || architecture.size() > 6 ||
      architecture.substr(0, 3) != "sm_")
    return std::nullopt;
  int value = 0;
  for (char digit : architecture.substr(3)) {
    if (digit < '0' || digit > '9')
      return std::nullopt;
    value = value * 10 + (digit - '0');
  }
  if (value < 50 || value >= 130)
    return std::nullopt;
  return value;
}
std::string launchAttributeName(int64_t launch, std::string_view field) {
  return "launch." + std::to_string(launch) + "." + std::string(field);
}

std::string_view kernelKindName(KernelKind kind) {
  return nameIn(kKernelKindNames, kind);
}
std::optional<KernelKind> parseKernelKind(std::string_view name) {
  return parseIn(kKernelKindNames, name);
}

std::string_view externRoutineName(ExternRoutine routine) {
  return nameIn(kExternRoutineNames, routine);
}
std::optional<ExternRoutine> parseExternRoutine(std::string_view name) {
  return parseIn(kExternRoutineNames, name);
}
std::string externRoutineList() {
  std::string list;
  for (const auto &[routine, name] : kExternRoutineNames)
    list += (list.empty() ? "" : ", ") + std::string(name);
  return list;
}

std::string_view collectiveKindName(CollectiveKind kind) {
  return nameIn(kCollectiveKindNames, kind);
}
std::optional<CollectiveKind> parseCollectiveKind(std::string_view name) {
  return parseIn(kCollectiveKindNames, name);
}

std::string_view layoutName(Layout layout) { return nameIn(kLayoutNames, layout); }
std::optional<Layout> parseLayout(std::string_view name) {
  return parseIn(kLayoutNames, name);
}

int64_t layoutChannelBlock(Layout layout) {
  switch (layout) {
  case Layout::kPlain:
    return 1;
  case Layout::kNhwc:
    return 0;
  case Layout::kNChw8c:
    return 8;
  case Layout::kNChw16c:
    return 16;
  }
  assert(false && "Layout value outside the enum");
  return 1;
}

int64_t layoutOffset(Layout layout, const std::array<int64_t, 4> &shape,
                     const std::array<int64_t, 4> &index) {
  const auto [nN, nC, nH, nW] = shape;
  const auto [n, c, h, w] = index;
  (void)nN;
  switch (layout) {
  case Layout::kPlain:
    return ((n * nC + c) * nH + h) * nW + w;
  case Layout::kNhwc:
    return ((n * nH + h) * nW + w) * nC + c;
  case Layout::kNChw8c:
  case Layout::kNChw16c: {
    const int64_t block = layoutChannelBlock(layout);
    return (((n * (nC / block) + c / block) * nH + h) * nW + w) * block +
           c % block;
  }
  }
  assert(false && "Layout value outside the enum");
  return 0;
}

} // namespace simclr
