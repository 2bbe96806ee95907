//===- RunRecord.cpp - Which artifact trained a run directory -------------===//
#include "simclr/Runtime/RunRecord.h"
#include "simclr/Support/FileIO.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace simclr {

namespace {
using Json = nlohmann::ordered_json;
} // namespace

std::string runRecordPath(const std::string &runDir) {
  return (std::filesystem::path(runDir) / "run.json").string();
}

std::string runDirOfCheckpoint(const std::string &checkpointPath) {
  return std::filesystem::path(checkpointPath).parent_path().parent_path().string();
}

Status writeRunRecord(const std::string &runDir, const RunRecord &record) {
  Json object = Json::object();
  object["artifact"] = record.artifactDir;
  object["artifact_identity"] = record.artifactIdentity;
  object["data"] = record.dataPath;
  object["seed"] = record.seed;
  object["total_steps"] = record.totalSteps;
  object["batch_size"] = record.batchSize;
  object["augmenter"] = record.augmenter;
  if (record.worldSize > 1) {
    object["world_size"] = record.worldSize;
    object["global_batch"] = record.worldSize * record.batchSize;
  }
  if (record.communication) {
    const CommunicationShare &share = *record.communication;
    Json comm = Json::object();
    comm["ranks"] = share.ranks;
    comm["steps"] = share.steps;
    comm["step_seconds"] = share.stepSeconds;
    comm["wait_seconds"] = share.waitSeconds;
    comm["comm_seconds"] = share.commSeconds;
    comm["all_reduce_bytes_per_step"] = share.allReduceBytesPerStep;
    comm["all_gather_bytes_per_step"] = share.allGatherBytesPerStep;
    object["communication"] = comm;
  }
  std::string text = object.dump(2) + "\n";
  return writeFileAtomically(runRecordPath(runDir), text.data(), text.size());
}

Expected<RunRecord> readRunRecord(const std::string &runDir) {
  std::string path = runRecordPath(runDir);
  Expected<std::vector<uint8_t>> bytes = readFile(path);
  if (!bytes)
    return bytes.takeStatus();
  Json object;
  try {
    object = Json::parse(bytes->begin(), bytes->end());
  } catch (const Json::parse_error &e) {
    return dataLoss(path + ": not valid JSON (near byte " + std::to_string(e.byte) + ")");
  } catch (const Json::exception &) {
    // nlohmann throws out_of_range for a number beyond double's range.
    return dataLoss(path + ": not valid JSON (a number out of range)");
  }
  if (!object.is_object())
    return dataLoss(path + ": expected a JSON object");
  RunRecord record;
  auto string = [&](const char *key, std::string &out) -> Status {
    auto it = object.find(key);
    if (it == object.end() || !it->is_string())
      return dataLoss(path + ": '" + std::string(key) + "' is missing or not a string");
    out = it->get<std::string>();
    return Status::ok();
  };
  auto integer = [&](const char *key, auto &out) -> Status {
    auto it = object.find(key);
    if (it == object.end() || !it->is_number_integer())
      return dataLoss(path + ": '" + std::string(key) + "' is missing or not an integer");
    out = it->get<std::decay_t<decltype(out)>>();
    return Status::ok();
  };
  SIMCLR_RETURN_IF_ERROR(string("artifact", record.artifactDir));
  SIMCLR_RETURN_IF_ERROR(string("artifact_identity", record.artifactIdentity));
  SIMCLR_RETURN_IF_ERROR(string("data", record.dataPath));
  SIMCLR_RETURN_IF_ERROR(integer("seed", record.seed));
  SIMCLR_RETURN_IF_ERROR(integer("total_steps", record.totalSteps));
  SIMCLR_RETURN_IF_ERROR(integer("batch_size", record.batchSize));
  SIMCLR_RETURN_IF_ERROR(string("augmenter", record.augmenter));
  if (object.contains("world_size"))
    SIMCLR_RETURN_IF_ERROR(integer("world_size", record.worldSize));
  return record;
}

} // namespace simclr
