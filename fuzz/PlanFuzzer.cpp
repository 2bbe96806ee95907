//===- PlanFuzzer.cpp - Fuzzes plan.json: readPlanFile and verifyPlan ----===//
//
// Input: a plan.json. Its body checksum would stop nearly every mutation at
// the checksum test, so when the input parses as a JSON object with a
// "body", the fuzzer stores the body's correct "sha256" first (as
// writePlanFile computes it) and the mutations reach planFromBody and
// verifyPlan. Raw bytes that do not parse go to the reader unchanged, for the
// JSON error paths. A plan that reads must survive writePlanFile and read
// back.
//
//===----------------------------------------------------------------------===//
#include "FuzzInput.h"
#include "ReaderChecks.h"

#include "simclr/Support/ArtifactPlan.h"

#include <nlohmann/json.hpp>

using namespace simclr;
using Json = nlohmann::json;

namespace {

/// The input with its body checksum made right, or the input unchanged.
std::string withBodyChecksum(std::string_view input) {
  Json file = Json::parse(input.begin(), input.end(), nullptr,
                          /*allow_exceptions=*/false);
  if (!file.is_object() || !file.contains("body"))
    return std::string(input);
  // As ArtifactPlan.cpp's canonicalBody: compact, invalid UTF-8 replaced.
  std::string body = file["body"].dump(-1, ' ', false,
                                       Json::error_handler_t::replace);
  file["sha256"] = artifact::sha256Hex(body.data(), body.size());
  return file.dump(-1, ' ', false, Json::error_handler_t::replace);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string dir = fuzz::freshDirectory("artifact");
  std::string path = dir + "/plan.json";
  fuzz::writeBytes(path, withBodyChecksum(std::string_view(
                             reinterpret_cast<const char *>(data), size)));
  Expected<artifact::Plan> plan = artifact::readPlanFile(path);
  if (!plan) {
    fuzz::checkMessage(plan.status());
    return 0;
  }
  std::string rewritten = dir + "/rewritten.json";
  Status written = artifact::writePlanFile(*plan, rewritten);
  if (!written) {
    std::fprintf(stderr, "plan: a plan that read cannot be written: %s\n",
                 written.message().c_str());
    std::abort();
  }
  Expected<artifact::Plan> again = artifact::readPlanFile(rewritten);
  if (!again || artifact::planIdentity(*again) != artifact::planIdentity(*plan)) {
    std::fprintf(stderr, "plan: a written plan reads back %s\n",
                 again ? "different" : again.status().message().c_str());
    std::abort();
  }
  return 0;
}
