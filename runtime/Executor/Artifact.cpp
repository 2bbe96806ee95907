//===- Artifact.cpp - Load and check an artifact directory ----------------===//
//
// Artifact::load, in order; the first failure is reported:
//   1. DIR/plan.json reads and verifies (readPlanFile);
//   2. this runtime has the plan's target, and this machine runs the
//      library's architecture (RuntimeTarget::checkArchitecture);
//   3. the SHA-256 of DIR/<library.file> equals the plan's;
//   4. the target loads the library and checks it against the plan (ABI
//      version, fingerprint, every kernel).
//
//===----------------------------------------------------------------------===//
#include "simclr/Runtime/Executor.h"

#include "simclr/Runtime/Backend.h"

namespace simclr::runtime {

using artifact::Plan;

struct Artifact::Impl {
  Plan plan;
  std::string directory;
  std::string identity;
  const RuntimeTarget *target = nullptr;
  std::unique_ptr<KernelLibrary> library;
};

Artifact::Artifact(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Artifact::~Artifact() = default;

Expected<std::shared_ptr<const Artifact>>
Artifact::load(const std::string &dir) {
  auto impl = std::make_unique<Impl>();
  impl->directory = dir;
  std::string planPath = dir + "/plan.json";
  Expected<Plan> plan = artifact::readPlanFile(planPath);
  if (!plan)
    return plan.takeStatus();
  impl->plan = std::move(*plan);
  const Plan &p = impl->plan;

  // verifyPlan guarantees a known target name.
  impl->target = findRuntimeTarget(*parseTargetKind(p.library.target));
  if (!impl->target)
    return unavailable(planPath + ": the artifact is compiled for target '" +
                       p.library.target +
                       "', which this runtime was built without");
  SIMCLR_RETURN_IF_ERROR(impl->target->checkArchitecture(planPath, p));

  std::string libraryPath = dir + "/" + p.library.file;
  Expected<std::string> checksum = artifact::sha256OfFile(libraryPath);
  if (!checksum)
    return checksum.takeStatus();
  if (*checksum != p.library.sha256)
    return dataLoss(libraryPath + ": checksum " + *checksum +
                    " does not match plan.json (" + p.library.sha256 +
                    "); the artifact is corrupt or was modified");

  Expected<std::unique_ptr<KernelLibrary>> library =
      impl->target->loadLibrary(libraryPath, p);
  if (!library)
    return library.takeStatus();
  impl->library = std::move(*library);
  impl->identity = artifact::planIdentity(p);
  return std::shared_ptr<const Artifact>(new Artifact(std::move(impl)));
}

const Plan &Artifact::plan() const { return impl_->plan; }
const std::string &Artifact::directory() const { return impl_->directory; }
const std::string &Artifact::identity() const { return impl_->identity; }
const RuntimeTarget &Artifact::target() const { return *impl_->target; }
const KernelLibrary &Artifact::library() const { return *impl_->library; }

} // namespace simclr::runtime
