//===- Checkpoint.cpp - Training checkpoints in a run directory -----------===//
#include "simclr/Runtime/Checkpoint.h"
#include "simclr/Support/Safetensors.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>

#include <fcntl.h>
#include <unistd.h>

namespace simclr {

namespace fs = std::filesystem;

namespace {

constexpr const char *kCheckpointDirName = "checkpoints";
constexpr const char *kFilePrefix = "step-";
constexpr const char *kFileSuffix = ".safetensors";
/// Zero-padded width of the step in file names, so names sort like steps.
constexpr int kStepDigits = 8;
/// writeFileAtomically's temporary files: PATH + ".tmp-<pid>".
constexpr const char *kTempMarker = ".tmp-";

constexpr const char *kKeyFormat = kCheckpointFormatKey;
constexpr const char *kKeyStep = "step";
constexpr const char *kKeyEpoch = "epoch";
constexpr const char *kKeyIdentity = "artifact_identity";
constexpr const char *kKeySeed = "rng_seed";
constexpr const char *kKeyNextStep = "rng_next_step";
constexpr const char *kKeyWorldSize = "world_size";
constexpr const char *kKeyGlobalBatch = "global_batch";

/// Parses all of `text` as a decimal unsigned integer.
std::optional<uint64_t> parseUnsigned(const std::string &text) {
  uint64_t value = 0;
  const char *end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end)
    return std::nullopt;
  return value;
}

/// Makes the directory entry of `dir` durable (a new checkpoints/ directory).
void syncDirectory(const std::string &dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return;
  // Best effort: the checkpoint file itself is synced by the writer, and a
  // lost directory entry only loses checkpoints a crash would lose anyway.
  (void)::fsync(fd);
  ::close(fd);
}

Status createDirectories(const std::string &dir) {
  std::error_code ec;
  bool created = fs::create_directories(dir, ec);
  if (ec)
    return ioError(dir + ": cannot create directory: " + ec.message());
  if (created)
    syncDirectory(fs::path(dir).parent_path().string());
  return Status::ok();
}

/// The checkpoint files (by step) and stale temporary files of `dir`.
struct DirectoryListing {
  std::map<int64_t, std::string> checkpoints;
  std::vector<std::string> temporaries;
};

Expected<DirectoryListing> listCheckpoints(const std::string &dir) {
  DirectoryListing listing;
  std::error_code ec;
  if (!fs::exists(dir, ec))
    return listing;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (std::optional<int64_t> step = checkpointStepFromFileName(name))
      listing.checkpoints[*step] = it->path().string();
    else if (name.rfind(kFilePrefix, 0) == 0 &&
             name.find(std::string(kFileSuffix) + kTempMarker) != std::string::npos)
      listing.temporaries.push_back(it->path().string());
  }
  if (ec)
    return ioError(dir + ": cannot list directory: " + ec.message());
  return listing;
}

} // namespace

std::string checkpointDirectory(const std::string &runDir) {
  return (fs::path(runDir) / kCheckpointDirName).string();
}

std::string checkpointPath(const std::string &runDir, int64_t step) {
  char name[64];
  std::snprintf(name, sizeof(name), "%s%0*lld%s", kFilePrefix, kStepDigits,
                static_cast<long long>(step), kFileSuffix);
  return (fs::path(checkpointDirectory(runDir)) / name).string();
}

std::optional<int64_t> checkpointStepFromFileName(const std::string &name) {
  size_t prefix = std::strlen(kFilePrefix), suffix = std::strlen(kFileSuffix);
  if (name.size() < prefix + kStepDigits + suffix ||
      name.compare(0, prefix, kFilePrefix) != 0 ||
      name.compare(name.size() - suffix, suffix, kFileSuffix) != 0)
    return std::nullopt;
  std::optional<uint64_t> step =
      parseUnsigned(name.substr(prefix, name.size() - prefix - suffix));
  if (!step || *step > static_cast<uint64_t>(INT64_MAX))
    return std::nullopt;
  return static_cast<int64_t>(*step);
}

StateMetadata checkpointMetadata(const CheckpointInfo &info) {
  StateMetadata metadata = {
      {kKeyFormat, std::to_string(info.formatVersion)},
      {kKeyStep, std::to_string(info.step)},
      {kKeyEpoch, std::to_string(info.epoch)},
      {kKeyIdentity, info.artifactIdentity},
      {kKeySeed, std::to_string(info.seed)},
      {kKeyNextStep, std::to_string(info.step)},
  };
  if (info.globalBatch > 0) {
    metadata.emplace_back(kKeyWorldSize, std::to_string(info.worldSize));
    metadata.emplace_back(kKeyGlobalBatch, std::to_string(info.globalBatch));
  }
  return metadata;
}

namespace {

/// The CheckpointInfo in `metadata`, the header of the file at `path`.
Expected<CheckpointInfo>
checkpointInfoFromMetadata(const std::string &path,
                           const std::map<std::string, std::string> &metadata) {
  auto get = [&](const char *key) -> Expected<std::string> {
    auto it = metadata.find(key);
    if (it == metadata.end())
      return dataLoss(path + ": not a checkpoint: its metadata has no '" +
                      std::string(key) + "'");
    return it->second;
  };
  auto getNumber = [&](const char *key) -> Expected<uint64_t> {
    Expected<std::string> text = get(key);
    if (!text)
      return text.takeStatus();
    std::optional<uint64_t> value = parseUnsigned(*text);
    if (!value)
      return dataLoss(path + ": metadata '" + std::string(key) + "' is '" +
                      *text + "', expected a non-negative integer");
    return *value;
  };

  CheckpointInfo info;
  info.path = path;
  Expected<uint64_t> format = getNumber(kKeyFormat);
  if (!format)
    return format.takeStatus();
  if (*format != static_cast<uint64_t>(kCheckpointFormatVersion))
    return invalidArgument(path + ": checkpoint format " + std::to_string(*format) +
                           ", this simclr-train reads format " +
                           std::to_string(kCheckpointFormatVersion));
  info.formatVersion = static_cast<int64_t>(*format);
  Expected<uint64_t> step = getNumber(kKeyStep);
  Expected<uint64_t> epoch = step ? getNumber(kKeyEpoch) : step;
  Expected<uint64_t> seed = epoch ? getNumber(kKeySeed) : epoch;
  Expected<uint64_t> nextStep = seed ? getNumber(kKeyNextStep) : seed;
  if (!nextStep)
    return nextStep.takeStatus();
  if (*step > static_cast<uint64_t>(INT64_MAX) || *epoch > *step)
    return dataLoss(path + ": metadata step " + std::to_string(*step) +
                    " and epoch " + std::to_string(*epoch) + " are inconsistent");
  if (*nextStep != *step)
    return dataLoss(path + ": metadata rng_next_step " + std::to_string(*nextStep) +
                    " differs from step " + std::to_string(*step));
  info.step = static_cast<int64_t>(*step);
  info.epoch = static_cast<int64_t>(*epoch);
  info.seed = *seed;
  Expected<std::string> identity = get(kKeyIdentity);
  if (!identity)
    return identity.takeStatus();
  info.artifactIdentity = *identity;
  // Optional (Checkpoint.h): written since data parallelism, both or none.
  if (metadata.count(kKeyGlobalBatch) || metadata.count(kKeyWorldSize)) {
    Expected<uint64_t> worldSize = getNumber(kKeyWorldSize);
    Expected<uint64_t> globalBatch = worldSize ? getNumber(kKeyGlobalBatch) : worldSize;
    if (!globalBatch)
      return globalBatch.takeStatus();
    if (*worldSize < 1 || *globalBatch < *worldSize ||
        *globalBatch > static_cast<uint64_t>(INT64_MAX) || *globalBatch % *worldSize != 0)
      return dataLoss(path + ": metadata global_batch " + std::to_string(*globalBatch) +
                      " is not a positive multiple of world_size " +
                      std::to_string(*worldSize));
    info.worldSize = static_cast<int64_t>(*worldSize);
    info.globalBatch = static_cast<int64_t>(*globalBatch);
  }
  return info;
}

} // namespace

Expected<CheckpointInfo> readCheckpointInfo(const std::string &path) {
  Expected<SafetensorsReader> reader = SafetensorsReader::open(path);
  if (!reader)
    return reader.takeStatus();
  Expected<CheckpointInfo> info = checkpointInfoFromMetadata(path, reader->metadata());
  if (!info)
    return info;
  SIMCLR_RETURN_IF_ERROR(reader->verifyChecksums(/*required=*/true));
  return info;
}

Expected<std::optional<CheckpointInfo>>
readCheckpointInfoIfPresent(const std::string &path) {
  Expected<SafetensorsReader> reader = SafetensorsReader::open(path);
  if (!reader)
    return reader.takeStatus();
  if (!reader->metadata().count(kKeyFormat))
    return std::optional<CheckpointInfo>();
  Expected<CheckpointInfo> info = checkpointInfoFromMetadata(path, reader->metadata());
  if (!info)
    return info.takeStatus();
  SIMCLR_RETURN_IF_ERROR(reader->verifyChecksums(/*required=*/true));
  return std::optional<CheckpointInfo>(std::move(*info));
}

Expected<CheckpointInfo> writeCheckpoint(const std::string &runDir,
                                         const StepModel &model,
                                         CheckpointInfo info) {
  std::string dir = checkpointDirectory(runDir);
  SIMCLR_RETURN_IF_ERROR(createDirectories(dir));
  info.path = checkpointPath(runDir, info.step);
  SIMCLR_RETURN_IF_ERROR(model.saveState(info.path, checkpointMetadata(info)));

  // The new checkpoint is durable now; only then may older ones go.
  Expected<DirectoryListing> listing = listCheckpoints(dir);
  if (!listing)
    return listing.takeStatus();
  int kept = 0;
  for (auto it = listing->checkpoints.rbegin(); it != listing->checkpoints.rend();
       ++it) {
    if (it->first > info.step)
      continue;
    if (kept++ < kKeptCheckpoints)
      continue;
    std::error_code ec;
    fs::remove(it->second, ec);
    if (ec)
      return ioError(it->second + ": cannot delete old checkpoint: " + ec.message());
  }
  // Left by a writer killed mid-write; nothing else writes here meanwhile.
  for (const std::string &temporary : listing->temporaries) {
    std::error_code ec;
    fs::remove(temporary, ec);
  }
  return info;
}

Expected<CheckpointScan> findLatestCheckpoint(const std::string &runDir) {
  Expected<DirectoryListing> listing = listCheckpoints(checkpointDirectory(runDir));
  if (!listing)
    return listing.takeStatus();
  CheckpointScan scan;
  for (auto it = listing->checkpoints.rbegin(); it != listing->checkpoints.rend();
       ++it) {
    Expected<CheckpointInfo> info = readCheckpointInfo(it->second);
    if (info && info->step != it->first)
      info = dataLoss(it->second + ": metadata says step " +
                      std::to_string(info->step) + ", the file name step " +
                      std::to_string(it->first));
    if (info) {
      scan.latest = std::move(*info);
      break;
    }
    scan.unreadable.push_back(it->second);
    scan.warnings.push_back("warning: skipping unreadable checkpoint: " +
                            info.status().message());
  }
  return scan;
}

Status checkCheckpointIdentity(const CheckpointInfo &info,
                               const std::string &identity) {
  if (info.artifactIdentity == identity)
    return Status::ok();
  return invalidArgument(info.path + ": written for network " +
                         info.artifactIdentity + ", this artifact's network is " +
                         identity +
                         "; resume in a new run directory or pass the matching "
                         "artifact");
}

Status checkCheckpointGlobalBatch(const CheckpointInfo &info, int64_t worldSize,
                                  int64_t perRankBatch) {
  int64_t globalBatch = worldSize * perRankBatch;
  if (info.globalBatch == 0 || info.globalBatch == globalBatch)
    return Status::ok();
  auto split = [](int64_t ranks, int64_t batch) {
    return std::to_string(ranks) + (ranks == 1 ? " rank" : " ranks") + " x " +
           std::to_string(batch);
  };
  return invalidArgument(
      info.path + ": written with a global batch of " + std::to_string(info.globalBatch) +
      " (" + split(info.worldSize, info.globalBatch / info.worldSize) +
      "), this run's is " + std::to_string(globalBatch) + " (" +
      split(worldSize, perRankBatch) + "); resume with ranks x per-rank batch = " +
      std::to_string(info.globalBatch) + " (mpirun -np K with an artifact compiled for " +
      std::to_string(info.globalBatch) + " / K), or start a new run directory");
}

Status loadCheckpoint(StepModel &model, const CheckpointInfo &info) {
  Status sameNetwork = checkCheckpointIdentity(info, model.identity());
  if (!sameNetwork) {
    // Name what differs where the tensors show it (a width, a tensor more).
    Status tensors = model.checkStateFile(info.path);
    if (!tensors)
      return invalidArgument(tensors.message() +
                             "; the checkpoint is of another network: resume in a "
                             "new run directory or pass the matching artifact");
    return sameNetwork;
  }
  return model.loadState(info.path);
}

} // namespace simclr
