//===- CudaTarget.cpp - NVRTC, cache key and layouts of the CUDA target ---===//
//
// The library is compiled in process by NVRTC (found at configure time;
// SIMCLR_HAVE_NVRTC), which needs no GPU: simclrc on a build machine makes
// the cubin a GPU machine runs. Without NVRTC the target still prints its
// source (--emit=cuda) and refuses to compile, saying why.
//
//===----------------------------------------------------------------------===//
#include "simclr/Target/Cuda/CudaTarget.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>

#ifdef SIMCLR_HAVE_NVRTC
#include <nvrtc.h>
#endif

using namespace mlir;
using namespace mlir::simclr_kernel;

namespace {

class CudaTarget final : public Target {
public:
  CudaTarget(std::string architecture, const TargetOptions &options)
      : architecture(std::move(architecture)), options(options) {}

  ::simclr::TargetKind getKind() const override {
    return ::simclr::TargetKind::kCuda;
  }
  std::string getArchitecture() const override { return architecture; }
  /// cuDNN's convolution engines are fastest on channels-last tensors, and
  /// per-channel reductions read them coalesced.
  ::simclr::Layout getActivationLayout() const override {
    return ::simclr::Layout::kNhwc;
  }
  /// cuDNN and cuBLASLt workspaces depend on the engine the heuristics
  /// pick on the GPU itself: the runtime sizes them (one workspace, the
  /// largest need), so no compile-time pass plans them.
  void addTargetPasses(OpPassManager &) const override {}

  StringRef getSourceLanguage() const override { return "cuda"; }
  FailureOr<KernelSource> emitKernels(ModuleOp module) const override {
    return emitCudaKernels(module);
  }
  StringRef getSourceFileName() const override { return "kernels.cu"; }
  StringRef getLibraryFileName() const override { return "kernels.cubin"; }

  std::string getToolchainKey() const override {
    std::string key = "nvrtc " + nvrtcVersionText() + "\n";
    for (const std::string &option : compileOptions())
      key += option + "\n";
    // The device templates and the headers they include.
    std::vector<std::string> headers;
    std::error_code error;
    std::string kernels = options.kernelIncludeDirectory + "/simclr/Kernels";
    for (llvm::sys::fs::recursive_directory_iterator it(kernels, error), end;
         it != end && !error; it.increment(error)) {
      StringRef path(it->path());
      if (path.contains("/Cuda/") || path.ends_with("Scratch.h"))
        headers.push_back(it->path());
    }
    std::sort(headers.begin(), headers.end());
    for (const std::string &header : headers)
      if (auto text = llvm::MemoryBuffer::getFile(header))
        key += header + "\n" + (*text)->getBuffer().str();
    return key;
  }

  LogicalResult compileLibrary(const std::string &sourcePath,
                               const std::string &libraryPath,
                               std::string &messages) const override;

private:
  std::vector<std::string> compileOptions() const {
    return {"--gpu-architecture=" + architecture, "-std=c++17",
            "-I" + options.kernelIncludeDirectory};
  }
  static std::string nvrtcVersionText() {
#ifdef SIMCLR_HAVE_NVRTC
    int major = 0, minor = 0;
    if (nvrtcVersion(&major, &minor) == NVRTC_SUCCESS)
      return std::to_string(major) + "." + std::to_string(minor);
#endif
    return "none";
  }

  std::string architecture;
  TargetOptions options;
};

LogicalResult CudaTarget::compileLibrary(const std::string &sourcePath,
                                         const std::string &libraryPath,
                                         std::string &messages) const {
#ifndef SIMCLR_HAVE_NVRTC
  (void)sourcePath;
  (void)libraryPath;
  messages = "this simclrc was built without NVRTC (the CUDA toolkit was not "
             "found at configure time); --emit=cuda still prints the source";
  return failure();
#else
  auto source = llvm::MemoryBuffer::getFile(sourcePath);
  if (!source) {
    messages = sourcePath + ": " + source.getError().message();
    return failure();
  }
  std::string text = (*source)->getBuffer().str();
  nvrtcProgram program = nullptr;
  nvrtcResult result = nvrtcCreateProgram(&program, text.c_str(),
                                          sourcePath.c_str(), 0, nullptr,
                                          nullptr);
  if (result != NVRTC_SUCCESS) {
    messages = std::string("nvrtcCreateProgram: ") + nvrtcGetErrorString(result);
    return failure();
  }
  std::vector<std::string> optionText = compileOptions();
  std::vector<const char *> optionPointers;
  for (const std::string &option : optionText)
    optionPointers.push_back(option.c_str());
  result = nvrtcCompileProgram(program, static_cast<int>(optionPointers.size()),
                               optionPointers.data());
  size_t logSize = 0;
  if (nvrtcGetProgramLogSize(program, &logSize) == NVRTC_SUCCESS &&
      logSize > 1) {
    std::string log(logSize, '\0');
    nvrtcGetProgramLog(program, log.data());
    messages = log.c_str();
  }
  std::string cubin;
  if (result == NVRTC_SUCCESS) {
    size_t cubinSize = 0;
    result = nvrtcGetCUBINSize(program, &cubinSize);
    if (result == NVRTC_SUCCESS) {
      cubin.resize(cubinSize);
      result = nvrtcGetCUBIN(program, cubin.data());
    }
  }
  if (result != NVRTC_SUCCESS)
    messages += std::string("NVRTC: ") + nvrtcGetErrorString(result);
  nvrtcDestroyProgram(&program);
  if (result != NVRTC_SUCCESS)
    return failure();
  std::error_code error;
  llvm::raw_fd_ostream out(libraryPath, error);
  if (error) {
    messages = libraryPath + ": " + error.message();
    return failure();
  }
  out << cubin;
  out.close();
  if (out.has_error()) {
    messages = libraryPath + ": " + out.error().message();
    return failure();
  }
  return success();
#endif
}

} // namespace

std::unique_ptr<Target>
mlir::simclr_kernel::createCudaTarget(const TargetOptions &options,
                                      std::string &error) {
  std::string architecture = options.architecture.empty()
                                 ? ::simclr::kDefaultCudaArchitecture
                                 : options.architecture;
  if (!::simclr::parseCudaArchitecture(architecture)) {
    error = "unknown CUDA architecture '" + architecture + "' (known: " +
            std::string(::simclr::targetArchitectureForm(
                ::simclr::TargetKind::kCuda)) +
            ")";
    return nullptr;
  }
  return std::make_unique<CudaTarget>(std::move(architecture), options);
}
