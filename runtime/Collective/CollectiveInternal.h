//===- CollectiveInternal.h - Shared by the communicator engines -*- C++ -*-===//
//
// What Communicator.cpp (the factory, the single-process engine) and the
// MPI engine share; not part of the runtime's public interface.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_COLLECTIVE_COLLECTIVEINTERNAL_H
#define SIMCLR_RUNTIME_COLLECTIVE_COLLECTIVEINTERNAL_H

#include "simclr/Runtime/Communicator.h"

#include <string>

namespace simclr::runtime::collective {

/// The MPI engine (MpiCommunicator.cpp), or an unavailable error naming
/// the missing package in a runtime built without MPI.
Expected<std::unique_ptr<Communicator>>
createMpiCommunicator(const CommunicatorOptions &options);

/// Whether the environment says mpirun (Open MPI, or a PMI/PMIx launcher)
/// started this process.
bool launchedByMpirun();

/// The first line of the job-ending message: "simclr: rank R of K: MESSAGE".
std::string failureLine(int rank, int size, const std::string &message);

/// Checks one ReduceBuffer (dtype f32/f64, elements >= 0, data when
/// elements > 0) and returns its bytes.
Expected<int64_t> reduceBufferBytes(const ReduceBuffer &buffer);

/// allGather's layout: rank `rank`'s block `b` (of `blocks`, each
/// bytes / blocks) lands at output offset (b * size + rank) * blockBytes.
/// Copies `input` into its place in `output` (the one-rank part of an
/// all_gather).
void placeOwnBlocks(const void *input, void *output, int64_t bytes,
                    int64_t blocks, int rank, int size);

/// Checks allGather's arguments (bytes >= 0, blocks >= 1 dividing bytes).
Status checkGatherArguments(int64_t bytes, int64_t blocks);

/// SIMCLR_COMM_TIMEOUT when set (seconds > 0), `fallback` otherwise; a
/// malformed value is an invalid-argument error naming the variable.
Expected<double> timeoutFromEnvironment(double fallback);

} // namespace simclr::runtime::collective

#endif // SIMCLR_RUNTIME_COLLECTIVE_COLLECTIVEINTERNAL_H
