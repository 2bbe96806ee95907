//===- MemoryPlan.cpp - Static arena planning for a compiled step ---------===//
//
// planMemory(), greedy by size with in-place hints:
//   1. Validate the requests; index them by id; sum the aligned sizes
//      (rejecting int64 overflow, so no offset computed later can overflow).
//   2. Order the buffers by bytes descending, then firstUse, then id: a total
//      order on the request set, hence a plan independent of request order.
//      Large buffers go first because they are the hardest to fit into gaps.
//   3. For each buffer in that order:
//      a. If its inPlaceOf hint is legal and the donor is already placed, and
//         the donor's offset overlaps no other placed buffer whose lifetime
//         intersects this one's, take the donor's offset (in place).
//      b. Otherwise scan the placed buffers in offset order, keeping only
//         those whose lifetimes intersect this one's, and take the smallest
//         aligned gap between them that fits (best fit); if none fits, the
//         aligned end of the highest of them.
//   4. arenaBytes is the aligned maximum of offset + bytes.
// Invariant after each step 3: every two placed buffers with intersecting
// lifetimes occupy disjoint bytes, unless one is placed in place on the other.
//
//===----------------------------------------------------------------------===//
#include "simclr/Support/MemoryPlan.h"

#include <algorithm>
#include <limits>
#include <string>
#include <unordered_map>

namespace simclr {
namespace {

constexpr int64_t kMaxBytes = std::numeric_limits<int64_t>::max();

/// The requests, checked and indexed.
struct IndexedRequests {
  std::unordered_map<int64_t, size_t> indexOfId;
  /// Sum of bytes each rounded up to the alignment; <= kMaxBytes.
  int64_t alignedSum = 0;
};

std::string bufferName(const BufferRequest &buffer) {
  return "buffer " + std::to_string(buffer.id);
}

/// Rounds `value` up to a multiple of the power of two `alignment`. Callers
/// guarantee the result does not exceed kMaxBytes.
int64_t alignUp(int64_t value, int64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

bool lifetimesIntersect(const BufferRequest &a, const BufferRequest &b) {
  return a.firstUse <= b.lastUse && b.firstUse <= a.lastUse;
}

bool bytesIntersect(int64_t offsetA, int64_t bytesA, int64_t offsetB,
                    int64_t bytesB) {
  return offsetA < offsetB + bytesB && offsetB < offsetA + bytesA;
}

/// Whether `recipient` may be placed over `donor`: the kernel that writes
/// the recipient is the donor's last reader, and the recipient fits.
bool isLegalInPlace(const BufferRequest &recipient,
                    const BufferRequest &donor) {
  return recipient.inPlaceOf && *recipient.inPlaceOf == donor.id &&
         donor.lastUse == recipient.firstUse && recipient.bytes <= donor.bytes;
}

Status validateAlignment(int64_t alignment) {
  if (alignment <= 0 || (alignment & (alignment - 1)) != 0)
    return invalidArgument("memory plan: alignment " +
                           std::to_string(alignment) +
                           " is not a positive power of two");
  return Status::ok();
}

/// Step 1: the errors planMemory() documents.
Expected<IndexedRequests>
indexRequests(const std::vector<BufferRequest> &buffers, int64_t alignment) {
  SIMCLR_RETURN_IF_ERROR(validateAlignment(alignment));
  IndexedRequests indexed;
  indexed.indexOfId.reserve(buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i) {
    const BufferRequest &buffer = buffers[i];
    if (buffer.bytes <= 0)
      return invalidArgument(bufferName(buffer) +
                             ": bytes = " + std::to_string(buffer.bytes) +
                             " must be positive");
    if (buffer.lastUse < buffer.firstUse)
      return invalidArgument(
          bufferName(buffer) + ": lastUse = " + std::to_string(buffer.lastUse) +
          " is before firstUse = " + std::to_string(buffer.firstUse));
    if (!indexed.indexOfId.emplace(buffer.id, i).second)
      return invalidArgument(bufferName(buffer) + ": duplicate id (requests " +
                             std::to_string(indexed.indexOfId[buffer.id]) +
                             " and " + std::to_string(i) + ")");
    if (buffer.bytes > kMaxBytes - (alignment - 1) ||
        alignUp(buffer.bytes, alignment) > kMaxBytes - indexed.alignedSum)
      return invalidArgument(bufferName(buffer) + ": the total of " +
                             "aligned buffer sizes overflows int64");
    indexed.alignedSum += alignUp(buffer.bytes, alignment);
  }
  for (const BufferRequest &buffer : buffers) {
    if (!buffer.inPlaceOf)
      continue;
    if (*buffer.inPlaceOf == buffer.id)
      return invalidArgument(bufferName(buffer) +
                             ": inPlaceOf names the buffer itself");
    if (!indexed.indexOfId.count(*buffer.inPlaceOf))
      return invalidArgument(bufferName(buffer) + ": inPlaceOf names " +
                             "unknown buffer " +
                             std::to_string(*buffer.inPlaceOf));
  }
  return indexed;
}

/// The lower bound of MemoryPlan::lowerBound, by a sweep over kernel
/// indices: O(n log n). At kernel t all buffers with firstUse <= t <= lastUse
/// are live; a donor whose lastUse is t can share its bytes with at most one
/// recipient (two recipients at its offset would overlap each other), so the
/// largest legal recipient's bytes are subtracted at t.
int64_t computeLowerBound(const std::vector<BufferRequest> &buffers,
                          const IndexedRequests &indexed) {
  // Largest legal recipient per donor index.
  std::vector<int64_t> sharable(buffers.size(), 0);
  for (const BufferRequest &buffer : buffers) {
    if (!buffer.inPlaceOf)
      continue;
    size_t donor = indexed.indexOfId.at(*buffer.inPlaceOf);
    if (isLegalInPlace(buffer, buffers[donor]))
      sharable[donor] = std::max(sharable[donor], buffer.bytes);
  }
  struct Event {
    int64_t time;
    /// 0: applied before the maximum at `time` is taken; 1: after.
    int phase;
    int64_t delta;
  };
  std::vector<Event> events;
  events.reserve(4 * buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i) {
    events.push_back({buffers[i].firstUse, 0, buffers[i].bytes});
    events.push_back({buffers[i].lastUse, 1, -buffers[i].bytes});
    if (sharable[i] > 0) {
      // Shared only at the donor's last kernel; the donor's end event
      // removes all of its bytes.
      events.push_back({buffers[i].lastUse, 0, -sharable[i]});
      events.push_back({buffers[i].lastUse, 1, sharable[i]});
    }
  }
  std::sort(events.begin(), events.end(), [](const Event &a, const Event &b) {
    return a.time != b.time ? a.time < b.time : a.phase < b.phase;
  });
  int64_t live = 0;
  int64_t maxLive = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    live += events[i].delta;
    bool lastBeforeMax = i + 1 == events.size() ||
                         events[i + 1].time != events[i].time ||
                         events[i + 1].phase != events[i].phase;
    if (events[i].phase == 0 && lastBeforeMax)
      maxLive = std::max(maxLive, live);
  }
  return maxLive;
}

/// A placed buffer, kept in a vector sorted by offset.
struct Placed {
  int64_t offset;
  size_t index;
};

/// Step 3a: whether `buffer` fits at `offset` without overlapping any placed
/// buffer live at the same time, other than the donor `except`.
bool fitsAt(const std::vector<BufferRequest> &buffers,
            const std::vector<Placed> &placed, size_t index, int64_t offset,
            size_t except) {
  const BufferRequest &buffer = buffers[index];
  for (const Placed &other : placed) {
    const BufferRequest &request = buffers[other.index];
    if (other.index != except && lifetimesIntersect(buffer, request) &&
        bytesIntersect(offset, buffer.bytes, other.offset, request.bytes))
      return false;
  }
  return true;
}

/// Step 3b: the best-fit offset among the gaps left by placed buffers whose
/// lifetimes intersect `buffer`'s. Those buffers may overlap each other
/// (their own lifetimes need not intersect), so a gap starts at the maximum
/// end seen so far in offset order, not at the previous buffer's end.
int64_t bestFitOffset(const std::vector<BufferRequest> &buffers,
                      const std::vector<Placed> &placed, size_t index,
                      int64_t alignment) {
  const BufferRequest &buffer = buffers[index];
  int64_t maxEnd = 0;
  std::optional<int64_t> best;
  int64_t bestGap = kMaxBytes;
  for (const Placed &other : placed) {
    const BufferRequest &request = buffers[other.index];
    if (!lifetimesIntersect(buffer, request))
      continue;
    int64_t gapStart = alignUp(maxEnd, alignment);
    if (other.offset >= gapStart) {
      int64_t gap = other.offset - gapStart;
      if (gap >= buffer.bytes && gap < bestGap) {
        best = gapStart;
        bestGap = gap;
      }
    }
    maxEnd = std::max(maxEnd, other.offset + request.bytes);
  }
  return best ? *best : alignUp(maxEnd, alignment);
}

} // namespace

Expected<MemoryPlan> planMemory(const std::vector<BufferRequest> &buffers,
                                int64_t alignment) {
  Expected<IndexedRequests> indexed = indexRequests(buffers, alignment);
  if (!indexed)
    return indexed.takeStatus();

  // Step 2.
  std::vector<size_t> order(buffers.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const BufferRequest &x = buffers[a];
    const BufferRequest &y = buffers[b];
    if (x.bytes != y.bytes)
      return x.bytes > y.bytes;
    if (x.firstUse != y.firstUse)
      return x.firstUse < y.firstUse;
    return x.id < y.id;
  });

  // Step 3.
  MemoryPlan plan;
  plan.placements.resize(buffers.size());
  std::vector<bool> isPlaced(buffers.size(), false);
  std::vector<Placed> placed;
  placed.reserve(buffers.size());
  for (size_t index : order) {
    const BufferRequest &buffer = buffers[index];
    BufferPlacement &placement = plan.placements[index];
    placement.id = buffer.id;
    std::optional<int64_t> offset;
    if (buffer.inPlaceOf) {
      size_t donor = indexed->indexOfId.at(*buffer.inPlaceOf);
      if (isPlaced[donor] && isLegalInPlace(buffer, buffers[donor]) &&
          fitsAt(buffers, placed, index, plan.placements[donor].offset,
                 donor)) {
        offset = plan.placements[donor].offset;
        placement.inPlace = true;
      }
    }
    if (!offset)
      offset = bestFitOffset(buffers, placed, index, alignment);
    placement.offset = *offset;
    isPlaced[index] = true;
    auto position = std::upper_bound(placed.begin(), placed.end(), *offset,
                                     [](int64_t value, const Placed &other) {
                                       return value < other.offset;
                                     });
    placed.insert(position, Placed{*offset, index});
    plan.arenaBytes = std::max(plan.arenaBytes, *offset + buffer.bytes);
  }

  // Step 4.
  plan.arenaBytes = alignUp(plan.arenaBytes, alignment);
  plan.sumOfBuffers = indexed->alignedSum;
  plan.lowerBound = computeLowerBound(buffers, *indexed);
  return plan;
}

Status verifyMemoryPlan(const std::vector<BufferRequest> &buffers,
                        const MemoryPlan &plan, int64_t alignment) {
  Expected<IndexedRequests> indexed = indexRequests(buffers, alignment);
  if (!indexed)
    return indexed.takeStatus();
  const std::string prefix = "memory plan: ";
  if (plan.arenaBytes < 0 || plan.arenaBytes % alignment != 0)
    return internalError(prefix +
                         "arenaBytes = " + std::to_string(plan.arenaBytes) +
                         " is not a non-negative multiple of alignment " +
                         std::to_string(alignment));
  if (plan.sumOfBuffers != indexed->alignedSum)
    return internalError(prefix +
                         "sumOfBuffers = " + std::to_string(plan.sumOfBuffers) +
                         ", expected " + std::to_string(indexed->alignedSum));
  if (plan.placements.size() != buffers.size())
    return internalError(prefix + std::to_string(plan.placements.size()) +
                         " placements for " + std::to_string(buffers.size()) +
                         " buffers");

  // One placement per request, matched by id (any order).
  std::vector<const BufferPlacement *> placementOf(buffers.size(), nullptr);
  for (const BufferPlacement &placement : plan.placements) {
    auto found = indexed->indexOfId.find(placement.id);
    if (found == indexed->indexOfId.end())
      return internalError(prefix + "placement of unknown buffer " +
                           std::to_string(placement.id));
    if (placementOf[found->second])
      return internalError(prefix + "buffer " + std::to_string(placement.id) +
                           " is placed twice");
    placementOf[found->second] = &placement;
  }

  for (size_t i = 0; i < buffers.size(); ++i) {
    const BufferRequest &buffer = buffers[i];
    const BufferPlacement &placement = *placementOf[i];
    std::string name = prefix + bufferName(buffer) + " at offset " +
                       std::to_string(placement.offset);
    if (placement.offset < 0 || placement.offset % alignment != 0)
      return internalError(name + " is not a non-negative multiple of " +
                           "alignment " + std::to_string(alignment));
    if (placement.offset > plan.arenaBytes - buffer.bytes)
      return internalError(
          name + " with " + std::to_string(buffer.bytes) +
          " bytes ends past arenaBytes = " + std::to_string(plan.arenaBytes));
    if (!placement.inPlace)
      continue;
    if (!buffer.inPlaceOf)
      return internalError(name + " is marked in place but has no inPlaceOf");
    size_t donor = indexed->indexOfId.at(*buffer.inPlaceOf);
    if (!isLegalInPlace(buffer, buffers[donor]))
      return internalError(name + " is marked in place of buffer " +
                           std::to_string(buffers[donor].id) +
                           ", which is not a legal donor");
    if (placementOf[donor]->offset != placement.offset)
      return internalError(name + " is marked in place of buffer " +
                           std::to_string(buffers[donor].id) + " at offset " +
                           std::to_string(placementOf[donor]->offset));
  }

  // Every pair, brute force: the planner's gap bookkeeping is not trusted.
  auto exempt = [&](size_t recipient, size_t donor) {
    return placementOf[recipient]->inPlace &&
           *buffers[recipient].inPlaceOf == buffers[donor].id;
  };
  for (size_t i = 0; i < buffers.size(); ++i) {
    for (size_t j = i + 1; j < buffers.size(); ++j) {
      const BufferRequest &a = buffers[i];
      const BufferRequest &b = buffers[j];
      int64_t offsetA = placementOf[i]->offset;
      int64_t offsetB = placementOf[j]->offset;
      if (!lifetimesIntersect(a, b) ||
          !bytesIntersect(offsetA, a.bytes, offsetB, b.bytes) || exempt(i, j) ||
          exempt(j, i))
        continue;
      return internalError(prefix + "buffers " + std::to_string(a.id) +
                           " and " + std::to_string(b.id) +
                           " are both live at kernel " +
                           std::to_string(std::max(a.firstUse, b.firstUse)) +
                           " and overlap: bytes [" + std::to_string(offsetA) +
                           ", " + std::to_string(offsetA + a.bytes) +
                           ") and [" + std::to_string(offsetB) + ", " +
                           std::to_string(offsetB + b.bytes) + ")");
    }
  }

  // The lower bound, recomputed by brute force at every firstUse (the live
  // bytes only grow there), must match and must not exceed the arena.
  std::vector<int64_t> sharable(buffers.size(), 0);
  for (size_t donor = 0; donor < buffers.size(); ++donor)
    for (const BufferRequest &recipient : buffers)
      if (isLegalInPlace(recipient, buffers[donor]))
        sharable[donor] = std::max(sharable[donor], recipient.bytes);
  int64_t lowerBound = 0;
  for (const BufferRequest &at : buffers) {
    int64_t t = at.firstUse;
    int64_t live = 0;
    for (size_t i = 0; i < buffers.size(); ++i) {
      if (buffers[i].firstUse > t || buffers[i].lastUse < t)
        continue;
      live += buffers[i].bytes;
      if (buffers[i].lastUse == t)
        live -= sharable[i];
    }
    lowerBound = std::max(lowerBound, live);
  }
  if (plan.lowerBound != lowerBound)
    return internalError(prefix +
                         "lowerBound = " + std::to_string(plan.lowerBound) +
                         ", expected " + std::to_string(lowerBound));
  if (plan.arenaBytes < lowerBound)
    return internalError(
        prefix + "arenaBytes = " + std::to_string(plan.arenaBytes) +
        " is below the lower bound " + std::to_string(lowerBound));
  return Status::ok();
}

} // namespace simclr
