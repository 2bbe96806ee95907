//===- Artifact.cpp - Load and check an artifact directory ----------------===//
//
// Artifact::load, in order; the first failure is reported:
//   1. DIR/plan.json reads and verifies (readPlanFile);
//   2. the SHA-256 of DIR/<library.file> equals the plan's;
//   3. dlopen(RTLD_NOW | RTLD_LOCAL) succeeds;
//   4. the library's ABI version equals kPlanFormatVersion and its
//      fingerprint equals the plan's;
//   5. every kernel entry's symbol resolves.
//
//===----------------------------------------------------------------------===//
#include "simclr/Runtime/Executor.h"

#include <dlfcn.h>

#include <unordered_map>

namespace simclr::runtime {

using artifact::EntryKind;
using artifact::KernelFunction;
using artifact::Plan;

struct Artifact::Impl {
  Plan plan;
  std::string directory;
  std::string identity;
  /// The dlopen handle; closed last, after nothing can call a kernel.
  void *library = nullptr;
  std::unordered_map<std::string, KernelFunction> kernels;

  ~Impl() {
    if (library)
      dlclose(library);
  }
};

namespace {

/// dlerror()'s message, or a fallback when it has none.
std::string lastDlError() {
  const char *error = dlerror();
  return error ? error : "unknown dlopen error";
}

} // namespace

Artifact::Artifact(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Artifact::~Artifact() = default;

Expected<std::shared_ptr<const Artifact>>
Artifact::load(const std::string &dir) {
  auto impl = std::make_unique<Impl>();
  impl->directory = dir;
  Expected<Plan> plan = artifact::readPlanFile(dir + "/plan.json");
  if (!plan)
    return plan.takeStatus();
  impl->plan = std::move(*plan);
  const Plan &p = impl->plan;

  std::string libraryPath = dir + "/" + p.library.file;
  Expected<std::string> checksum = artifact::sha256OfFile(libraryPath);
  if (!checksum)
    return checksum.takeStatus();
  if (*checksum != p.library.sha256)
    return dataLoss(libraryPath + ": checksum " + *checksum +
                    " does not match plan.json (" + p.library.sha256 +
                    "); the artifact is corrupt or was modified");

  dlerror();
  impl->library = dlopen(libraryPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!impl->library)
    return unavailable(libraryPath + ": cannot load the kernel library: " +
                       lastDlError());

  auto abiVersion = reinterpret_cast<int64_t (*)()>(
      dlsym(impl->library, artifact::kAbiVersionSymbol));
  auto fingerprint = reinterpret_cast<const char *(*)()>(
      dlsym(impl->library, artifact::kFingerprintSymbol));
  if (!abiVersion || !fingerprint)
    return dataLoss(libraryPath + ": not a simclrc kernel library (no " +
                    (abiVersion ? artifact::kFingerprintSymbol
                                : artifact::kAbiVersionSymbol) +
                    " symbol)");
  int64_t version = abiVersion();
  if (version != artifact::kPlanFormatVersion)
    return invalidArgument(libraryPath + ": kernel ABI version " +
                           std::to_string(version) +
                           ", this runtime reads version " +
                           std::to_string(artifact::kPlanFormatVersion) +
                           "; recompile the spec with this simclrc");
  const char *libraryFingerprint = fingerprint();
  std::string found = libraryFingerprint ? libraryFingerprint : "";
  if (found != p.library.fingerprint)
    return dataLoss(libraryPath + ": fingerprint " + found +
                    " does not match plan.json (" + p.library.fingerprint +
                    "); the library was built from other generated code");

  for (const artifact::Program &program : p.programs)
    for (const artifact::ScheduleEntry &entry : program.schedule) {
      if (entry.kind != EntryKind::kKernel || impl->kernels.count(entry.name))
        continue;
      auto fn = reinterpret_cast<KernelFunction>(
          dlsym(impl->library, entry.name.c_str()));
      if (!fn)
        return dataLoss(libraryPath + ": missing kernel symbol '" + entry.name +
                        "' (program '" + program.name + "')");
      impl->kernels.emplace(entry.name, fn);
    }

  impl->identity = artifact::planIdentity(p);
  return std::shared_ptr<const Artifact>(new Artifact(std::move(impl)));
}

const Plan &Artifact::plan() const { return impl_->plan; }
const std::string &Artifact::directory() const { return impl_->directory; }
const std::string &Artifact::identity() const { return impl_->identity; }

KernelFunction Artifact::kernel(const std::string &name) const {
  auto it = impl_->kernels.find(name);
  return it == impl_->kernels.end() ? nullptr : it->second;
}

} // namespace simclr::runtime
