//===- CudaEmitter.cpp - Kernel descriptions printed as CUDA C++ ----------===//
//
// The CUDA kernel language (KernelPrinter.h). Every kernel NAME becomes
//   static __device__ void NAME__body(int phase, void *const *operands)
// printed by the shared printer, calling the device templates of
// lib/include/simclr/Kernels/Cuda with the phase first, and one
//   extern "C" __global__ void NAME__launch<k>(void *const *operands)
// per launch k, which runs the body's phase k. `operands` is a device
// table of the entry's operand addresses (the runtime builds it once).
// The launches (grid, block) come from the templates' rule,
// simclr::cuda::launchesOf, for the calls the printer recorded, and go to
// the plan as the entry's launch attributes (Vocabulary.h).
//
//===----------------------------------------------------------------------===//
#include "simclr/Target/Cuda/CudaTarget.h"

#include "simclr/Kernels/Cuda/Launch.h"
#include "simclr/Support/ArtifactPlan.h"
#include "simclr/Target/Artifact.h"
#include "simclr/Target/KernelPrinter.h"

#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::simclr_kernel;

namespace {

class CudaKernelLanguage final : public KernelLanguage {
public:
  StringRef name() const override { return "CUDA"; }
  StringRef templateNamespace() const override { return "simclr::cuda"; }
  StringRef phaseArgument() const override { return "phase, "; }
  StringRef constantArray() const override { return "const float"; }
  std::string elementLoop(int64_t count) const override {
    // Grid-stride: correct for any grid, so the launch rule may cap it.
    return "  for (int64_t i = simclr::cuda::globalThreadIndex(); i < " +
           std::to_string(count) +
           "; i += simclr::cuda::globalThreadCount()) {\n";
  }
  std::string copyThrough(StringRef to, StringRef from,
                          int64_t bytes) const override {
    // In the first launch: nothing in the kernel reads the copy.
    return ("if (phase == 0) simclr::cuda::copyBytes(" + to + ", " + from +
            ", " + Twine(bytes) + ");")
        .str();
  }
  std::string copyOldValue(StringRef to, StringRef from,
                           int64_t bytes) const override {
    // copyBytes is a no-op when the buffers are one (the planned case).
    return copyThrough(to, from, bytes);
  }
  /// The optimizer's copies are launch 0; its template's launches follow.
  StringRef optimizerPhaseArgument() const override { return "phase - 1, "; }
  std::string optimizerUpdate(StringRef statement) const override {
    return ("if (phase > 0) " + statement).str();
  }
  std::string once(StringRef statement) const override {
    return ("if (simclr::cuda::globalThreadIndex() == 0) { " + statement +
            " }")
        .str();
  }
};

/// The launches of one kernel from the template calls of its body.
FailureOr<std::vector<::simclr::cuda::LaunchShape>>
launchesOfKernel(KernelOp kernel, const PrintedKernel &printed) {
  std::vector<::simclr::cuda::LaunchShape> launches;
  auto unknown = [&](const TemplateCall &call) {
    std::string dims;
    for (int64_t dim : call.dims)
      dims += (dims.empty() ? "" : ", ") + std::to_string(dim);
    return kernel.emitOpError()
           << "has no CUDA launch for template '" << call.name << "' on ("
           << dims << ")";
  };
  bool optimizer =
      kernel.getKernelKind() == ::simclr::KernelKind::kOptimizer;
  if (optimizer) {
    // Launch 0 copies old values into distinct new buffers.
    TemplateCall copy{"copyBytes", {std::max<int64_t>(printed.copyBytes, 1)}};
    auto shapes = ::simclr::cuda::launchesOf(copy.name, copy.dims);
    if (!shapes)
      return unknown(copy);
    launches = *shapes;
  }
  // Several calls in one body (a concat's pieces) run in the same launches:
  // each launch takes the largest grid any of them asks for (the templates
  // loop grid-stride).
  std::vector<::simclr::cuda::LaunchShape> merged;
  for (const TemplateCall &call : printed.calls) {
    auto shapes = ::simclr::cuda::launchesOf(call.name, call.dims);
    if (!shapes || shapes->empty())
      return unknown(call);
    if (merged.empty()) {
      merged = *shapes;
      continue;
    }
    if (shapes->size() != merged.size())
      return kernel.emitOpError()
             << "calls templates with different numbers of launches";
    for (size_t k = 0; k < merged.size(); ++k) {
      if ((*shapes)[k].block != merged[k].block)
        return kernel.emitOpError()
               << "calls templates with different block shapes";
      for (int d = 0; d < 3; ++d)
        merged[k].grid[d] = std::max(merged[k].grid[d], (*shapes)[k].grid[d]);
      merged[k].sharedBytes =
          std::max(merged[k].sharedBytes, (*shapes)[k].sharedBytes);
    }
  }
  if (merged.empty())
    return kernel.emitOpError() << "calls no template the CUDA target can launch";
  launches.insert(launches.end(), merged.begin(), merged.end());
  return launches;
}

/// The plan attributes of `launches` for kernel `name`.
::simclr::artifact::AttrMap
launchAttributes(StringRef name,
                 const std::vector<::simclr::cuda::LaunchShape> &launches) {
  namespace launch = ::simclr::launch_attr;
  ::simclr::artifact::AttrMap attrs;
  attrs[launch::kLaunches] = static_cast<int64_t>(launches.size());
  for (auto [k, shape] : llvm::enumerate(launches)) {
    attrs[::simclr::launchAttributeName(k, launch::kFunction)] =
        (name + "__launch" + Twine(k)).str();
    attrs[::simclr::launchAttributeName(k, launch::kGrid)] =
        std::vector<int64_t>(shape.grid.begin(), shape.grid.end());
    attrs[::simclr::launchAttributeName(k, launch::kBlock)] =
        std::vector<int64_t>(shape.block.begin(), shape.block.end());
    attrs[::simclr::launchAttributeName(k, launch::kSharedBytes)] =
        shape.sharedBytes;
  }
  return attrs;
}

} // namespace

FailureOr<KernelSource> mlir::simclr_kernel::emitCudaKernels(ModuleOp module) {
  CudaKernelLanguage language;
  KernelSource source;
  std::string kernels;
  llvm::raw_string_ostream os(kernels);
  for (KernelOp kernel : module.getOps<KernelOp>()) {
    FailureOr<PrintedKernel> printed = printKernelBody(kernel, language);
    if (failed(printed))
      return failure();
    FailureOr<std::vector<::simclr::cuda::LaunchShape>> launches =
        launchesOfKernel(kernel, *printed);
    if (failed(launches))
      return failure();
    StringRef name = kernel.getSymName();
    os << "static __device__ __forceinline__ void " << name
       << "__body(int phase, void *const *operands) {\n"
       << printed->body << "}\n";
    for (size_t k = 0; k < launches->size(); ++k)
      os << "extern \"C\" __global__ void " << name << "__launch" << k
         << "(void *const *operands) { " << name << "__body(" << k
         << ", operands); }\n";
    os << "\n";
    source.entryAttributes[name.str()] = launchAttributes(name, *launches);
    ++source.kernelCount;
  }
  std::string prelude =
      "// Generated by simclrc: one device function per "
      "simclr_kernel.kernel,\n"
      "// one __global__ function per launch. ABI: "
      "lib/include/simclr/Support/ArtifactPlan.h\n"
      "// and the launch attributes of plan.json. Do not edit.\n"
      "#include \"simclr/Kernels/Cuda/CudaKernels.cuh\"\n\n";
  // As on the CPU: the plan's kernel bindings are baked in and covered by
  // the fingerprint, so a plan whose kernels were swapped does not load.
  std::string bindings;
  if (auto digest = module->getAttrOfType<StringAttr>(kBindingDigestAttrName))
    bindings = digest.getValue().str();
  std::string fingerprint = llvm::toHex(
      llvm::SHA256::hash(
          llvm::arrayRefFromStringRef(prelude + kernels + bindings)),
      /*LowerCase=*/true);
  source.fingerprint = fingerprint;
  // Module globals the runtime reads with cuModuleGetGlobal.
  source.text = prelude + kernels + "extern \"C\" __device__ const char " +
                ::simclr::artifact::kFingerprintSymbol + "[] = \"" +
                fingerprint + "\";\nextern \"C\" __device__ const char " +
                ::simclr::artifact::kBindingsSymbol + "[] = \"" + bindings +
                "\";\nextern \"C\" __device__ const long long " +
                ::simclr::artifact::kAbiVersionSymbol + " = " +
                std::to_string(::simclr::artifact::kPlanFormatVersion) +
                ";\n";
  return source;
}
