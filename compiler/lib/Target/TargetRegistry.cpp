//===- TargetRegistry.cpp - The targets simclrc can compile for -----------===//
//
// The one place that lists targets: a new target adds its factory here and
// its files beside compiler/lib/Target/Cpu; nothing else branches on the
// target.
//
//===----------------------------------------------------------------------===//
#include "simclr/Target/Target.h"

#include "simclr/Target/Cpu/CpuTarget.h"
#include "simclr/Target/Cuda/CudaTarget.h"

using namespace mlir;
using namespace mlir::simclr_kernel;

Target::~Target() = default;

namespace {

using TargetFactory = std::unique_ptr<Target> (*)(const TargetOptions &,
                                                  std::string &);

struct RegisteredTarget {
  ::simclr::TargetKind kind;
  TargetFactory create;
};

constexpr RegisteredTarget kTargets[] = {
    {::simclr::TargetKind::kCpu, createCpuTarget},
    {::simclr::TargetKind::kCuda, createCudaTarget},
};

} // namespace

std::unique_ptr<Target>
mlir::simclr_kernel::createTarget(StringRef name, const TargetOptions &options,
                                  std::string &error) {
  std::optional<::simclr::TargetKind> kind =
      ::simclr::parseTargetKind(name.str());
  for (const RegisteredTarget &target : kTargets)
    if (kind && target.kind == *kind)
      return target.create(options, error);
  error = "unknown target '" + name.str() + "' (known: " +
          ::simclr::targetKindList() + ")";
  return nullptr;
}
