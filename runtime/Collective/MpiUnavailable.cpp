//===- MpiUnavailable.cpp - The MPI engine of a runtime built without MPI -===//
#include "CollectiveInternal.h"

namespace simclr::runtime {

bool mpiAvailable() { return false; }

namespace collective {

Expected<std::unique_ptr<Communicator>>
createMpiCommunicator(const CommunicatorOptions &) {
  return unavailable("this runtime was built without MPI; install Open MPI "
                     "(Debian: openmpi-bin libopenmpi-dev, scripts/setup.sh) "
                     "and rebuild to run data-parallel jobs");
}

} // namespace collective
} // namespace simclr::runtime
