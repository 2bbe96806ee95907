//===- CpuTarget.cpp - Toolchain, cache key and layouts of the CPU target -===//
#include "simclr/Target/Cpu/CpuTarget.h"

#include "simclr/Support/CpuIsa.h"
#include "simclr/Target/Cpu/Passes.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::simclr_kernel;

namespace {

/// Runs `program` with `arguments`, its stdout and stderr in `output`;
/// returns its exit code (-1 when it could not run).
int runProgram(StringRef program, ArrayRef<std::string> arguments,
               std::string &output) {
  SmallVector<StringRef> argv{program};
  for (const std::string &argument : arguments)
    argv.push_back(argument);
  SmallString<128> log;
  llvm::sys::fs::createTemporaryFile("simclrc-host-compiler", "log", log);
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(log),
                                          StringRef(log)};
  std::string error;
  int code = llvm::sys::ExecuteAndWait(program, argv, std::nullopt, redirects,
                                       0, 0, &error);
  if (auto text = llvm::MemoryBuffer::getFile(log))
    output = (*text)->getBuffer().str();
  llvm::sys::fs::remove(log);
  if (!error.empty())
    output += error;
  return code;
}

class CpuTarget final : public Target {
public:
  CpuTarget(::simclr::CpuIsaLevel level, const TargetOptions &options)
      : level(level), options(options) {}

  ::simclr::TargetKind getKind() const override {
    return ::simclr::TargetKind::kCpu;
  }
  std::string getArchitecture() const override {
    return std::string(::simclr::cpuIsaLevelName(level));
  }
  /// oneDNN's convolutions run on channel blocks of one vector register
  /// (docs/benchmarks.md: its blocked layouts against plain NCHW).
  ::simclr::Layout getActivationLayout() const override {
    return ::simclr::cpuIsaChannelBlock(level) == 16
               ? ::simclr::Layout::kNChw16c
               : ::simclr::Layout::kNChw8c;
  }
  void addTargetPasses(OpPassManager &pm) const override {
    pm.addPass(createSimclrCpuPlanExternWorkspaces());
  }

  StringRef getSourceLanguage() const override { return "cpp"; }
  FailureOr<KernelSource> emitKernels(ModuleOp module) const override {
    return emitCpuKernels(module);
  }
  StringRef getSourceFileName() const override { return "kernels.cpp"; }
  StringRef getLibraryFileName() const override { return "kernels.so"; }

  std::string getToolchainKey() const override {
    std::string key = compilerIdentity();
    for (const std::string &flag : flags())
      key += flag + "\n";
    // The templates' text: the generated code is only half the program.
    std::vector<std::string> headers;
    std::error_code error;
    std::string kernels = options.kernelIncludeDirectory + "/simclr/Kernels";
    for (llvm::sys::fs::recursive_directory_iterator it(kernels, error), end;
         it != end && !error; it.increment(error))
      if (StringRef(it->path()).ends_with(".h"))
        headers.push_back(it->path());
    // Directory order is the file system's; the key must not be.
    std::sort(headers.begin(), headers.end());
    for (const std::string &header : headers)
      if (auto text = llvm::MemoryBuffer::getFile(header))
        key += header + "\n" + (*text)->getBuffer().str();
    return key;
  }

  LogicalResult compileLibrary(const std::string &sourcePath,
                               const std::string &libraryPath,
                               std::string &messages) const override {
    auto program = llvm::sys::findProgramByName(options.hostCompiler);
    if (!program) {
      messages = "host compiler '" + options.hostCompiler + "' not found on PATH";
      return failure();
    }
    std::vector<std::string> arguments = flags();
    arguments.push_back("-I" + options.kernelIncludeDirectory);
    arguments.push_back(sourcePath);
    arguments.push_back("-o");
    arguments.push_back(libraryPath);
    return success(runProgram(*program, arguments, messages) == 0);
  }

private:
  /// -march names the level, not the build machine (-march=native would
  /// tie the library to this CPU's extensions beyond the level).
  /// -fno-trapping-math: the kernels never read floating-point exception
  /// flags, and without it GCC keeps a branch for every select of the
  /// elementwise expressions (ReLU masks) and vectorizes none of their loops
  /// (measured: the Fashion-MNIST step's add + ReLU-mask kernel ran 5x
  /// slower, scalar).
  std::vector<std::string> flags() const {
    return {"-std=c++17",
            "-O3",
            "-march=" + getArchitecture(),
            "-fno-math-errno",
            "-fno-trapping-math",
            "-fopenmp",
            "-fPIC",
            "-shared"};
  }

  /// The compiler's path and `--version`: upgrading GCC must not reuse old
  /// objects.
  std::string compilerIdentity() const {
    auto program = llvm::sys::findProgramByName(options.hostCompiler);
    if (!program)
      return options.hostCompiler;
    std::string version;
    runProgram(*program, {"--version"}, version);
    return *program + "\n" + version;
  }

  ::simclr::CpuIsaLevel level;
  TargetOptions options;
};

} // namespace

std::unique_ptr<Target>
mlir::simclr_kernel::createCpuTarget(const TargetOptions &options,
                                     std::string &error) {
  ::simclr::CpuIsaLevel level = ::simclr::hostCpuIsaLevel();
  if (!options.architecture.empty()) {
    std::optional<::simclr::CpuIsaLevel> chosen =
        ::simclr::parseCpuIsaLevel(options.architecture);
    if (!chosen) {
      error = "unknown CPU architecture '" + options.architecture +
              "' (known: " +
              std::string(::simclr::targetArchitectureForm(
                  ::simclr::TargetKind::kCpu)) +
              ")";
      return nullptr;
    }
    level = *chosen;
  }
  return std::make_unique<CpuTarget>(level, options);
}
