//===- ArtifactPlan.cpp - plan.json: serialization, checks, hashes --------===//
//
// plan.json is
//   {"format": "simclrc-artifact", "version": 2, "identity": "<hex>",
//    "sha256": "<hex of body.dump()>", "body": {...}}
// where body.dump() is nlohmann's compact dump with keys sorted (its default
// object type is a std::map), so the checksum is reproducible from the parsed
// file: parse, dump the body, hash. readPlanFile checks, in order:
//   1. the file is valid JSON whose root is an object (else the byte offset);
//   2. "format" is kPlanFormatName and "version" is kPlanFormatVersion;
//   3. "sha256" equals the SHA-256 of the body's canonical dump;
//   4. every field of the body has its type (else the field path, e.g.
//      body.buffers[3].shape);
//   5. verifyPlan().
//
//===----------------------------------------------------------------------===//
#include "simclr/Support/ArtifactPlan.h"

#include "simclr/Support/FileIO.h"
#include "simclr/Support/ParameterInit.h"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <unordered_map>

namespace simclr::artifact {
namespace {

using Json = nlohmann::json;

constexpr const char *kRegionNames[] = {"state", "input", "arena", "gathered"};
constexpr const char *kEntryKindNames[] = {"kernel", "extern", "collective"};
/// Hex digits of a SHA-256.
constexpr size_t kSha256HexLength = 64;

const char *regionName(BufferRegion region) {
  return kRegionNames[static_cast<int>(region)];
}
const char *entryKindName(EntryKind kind) {
  return kEntryKindNames[static_cast<int>(kind)];
}

std::string quoted(const std::string &text) { return "'" + text + "'"; }

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

Json attrToJson(const AttrValue &value) {
  return std::visit([](const auto &v) { return Json(v); }, value);
}

Json bodyToJson(const Plan &plan) {
  Json buffers = Json::array();
  for (const Buffer &b : plan.buffers)
    buffers.push_back({{"id", b.id},
                       {"name", b.name},
                       {"dtype", dtypeName(b.dtype)},
                       {"shape", b.shape},
                       {"region", regionName(b.region)},
                       {"offset", b.offset},
                       {"bytes", b.bytes},
                       {"layout", layoutName(b.layout)}});
  Json state = Json::array();
  for (const StateTensor &t : plan.state)
    state.push_back({{"name", t.name},
                     {"kind", t.kind},
                     {"buffer", t.buffer},
                     {"init", {{"kind", t.init.kind}, {"fan_in", t.init.fanIn}}}});
  auto bindings = [](const std::vector<Binding> &list) {
    Json out = Json::array();
    for (const Binding &b : list)
      out.push_back({{"role", b.role}, {"buffer", b.buffer}});
    return out;
  };
  Json programs = Json::array();
  for (const Program &p : plan.programs) {
    Json schedule = Json::array();
    for (const ScheduleEntry &e : p.schedule) {
      Json attrs = Json::object();
      for (const auto &[key, value] : e.attrs)
        attrs[key] = attrToJson(value);
      schedule.push_back({{"kind", entryKindName(e.kind)},
                          {"name", e.name},
                          {"operands", e.operands},
                          {"num_inputs", e.numInputs},
                          {"num_outputs", e.numOutputs},
                          {"attrs", std::move(attrs)}});
    }
    programs.push_back({{"name", p.name},
                        {"inputs", bindings(p.inputs)},
                        {"outputs", bindings(p.outputs)},
                        {"schedule", std::move(schedule)},
                        {"arena_bytes", p.arenaBytes},
                        {"sum_of_intermediates", p.sumOfIntermediates}});
  }
  return {{"spec", {{"name", plan.specName}, {"sha256", plan.specSha256}}},
          {"training", plan.trainingJson},
          {"buffers", std::move(buffers)},
          {"state", std::move(state)},
          {"state_bytes", plan.stateBytes},
          {"input_bytes", plan.inputBytes},
          {"gathered_bytes", plan.gatheredBytes},
          {"programs", std::move(programs)},
          {"library",
           {{"file", plan.library.file},
            {"sha256", plan.library.sha256},
            {"fingerprint", plan.library.fingerprint},
            {"target", plan.library.target},
            {"architecture", plan.library.architecture}}},
          {"alignment", plan.alignment}};
}

/// Dumps `json` without throwing: invalid UTF-8 in a name becomes U+FFFD,
/// the same on writing and on re-dumping what was read, so checksums agree.
std::string dumpJson(const Json &json, int indent = -1) {
  return json.dump(indent, ' ', /*ensure_ascii=*/false,
                   Json::error_handler_t::replace);
}

/// The body's canonical text: the checksum covers exactly these bytes.
std::string canonicalBody(const Json &body) { return dumpJson(body); }

//===----------------------------------------------------------------------===//
// Reading: typed field access that names the field path on failure
//===----------------------------------------------------------------------===//

/// Thrown by the field readers below and caught in readPlanFile; never
/// leaves this file.
struct FieldError {
  std::string message;
};

[[noreturn]] void fail(const std::string &path, const std::string &what) {
  throw FieldError{path + ": " + what};
}

/// "path.key", or "key" at the root (path "").
std::string join(const std::string &path, const std::string &key) {
  return path.empty() ? key : path + "." + key;
}

const Json &field(const Json &object, const std::string &key,
                  const std::string &path) {
  if (!object.is_object())
    fail(path.empty() ? "root" : path, "expected an object");
  auto it = object.find(key);
  if (it == object.end())
    fail(join(path, key), "missing");
  return *it;
}

int64_t asInt(const Json &j, const std::string &path) {
  if (!j.is_number_integer())
    fail(path, "expected an integer");
  if (j.is_number_unsigned() &&
      j.get<uint64_t>() >
          static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    fail(path, "integer out of range");
  return j.get<int64_t>();
}

std::string asString(const Json &j, const std::string &path) {
  if (!j.is_string())
    fail(path, "expected a string");
  return j.get<std::string>();
}

std::vector<int64_t> asIntArray(const Json &j, const std::string &path) {
  if (!j.is_array())
    fail(path, "expected an array of integers");
  std::vector<int64_t> out;
  for (const Json &e : j) {
    if (!e.is_number_integer())
      fail(path, "expected an array of integers");
    out.push_back(asInt(e, path));
  }
  return out;
}

const Json &asArray(const Json &j, const std::string &path) {
  if (!j.is_array())
    fail(path, "expected an array");
  return j;
}

int64_t intField(const Json &o, const std::string &key, const std::string &path) {
  return asInt(field(o, key, path), join(path, key));
}
std::string stringField(const Json &o, const std::string &key,
                        const std::string &path) {
  return asString(field(o, key, path), join(path, key));
}

std::string elementPath(const std::string &path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

template <typename Enum, size_t N>
Enum enumField(const Json &o, const std::string &key, const std::string &path,
               const char *const (&names)[N]) {
  std::string value = stringField(o, key, path);
  for (size_t i = 0; i < N; ++i)
    if (value == names[i])
      return static_cast<Enum>(i);
  std::string known;
  for (size_t i = 0; i < N; ++i)
    known += std::string(i ? ", " : "") + names[i];
  fail(path + "." + key, "unknown value '" + value + "' (known: " + known + ")");
}

DType dtypeField(const Json &o, const std::string &path) {
  std::string value = stringField(o, "dtype", path);
  for (DType dtype : kAllDTypes)
    if (value == dtypeName(dtype))
      return dtype;
  fail(path + ".dtype", "unknown dtype '" + value + "'");
}

AttrValue attrFromJson(const Json &j, const std::string &path) {
  if (j.is_number_integer())
    return asInt(j, path);
  if (j.is_number_float())
    return j.get<double>();
  if (j.is_string())
    return j.get<std::string>();
  if (j.is_array())
    return asIntArray(j, path);
  fail(path, "expected an integer, a number, a string or an array of integers");
}

std::vector<Binding> bindingsFromJson(const Json &j, const std::string &path) {
  std::vector<Binding> out;
  for (size_t i = 0; i < asArray(j, path).size(); ++i) {
    std::string at = elementPath(path, i);
    out.push_back({stringField(j[i], "role", at), intField(j[i], "buffer", at)});
  }
  return out;
}

Plan planFromBody(const Json &body) {
  const std::string root = "body";
  Plan plan;
  const Json &spec = field(body, "spec", root);
  plan.specName = stringField(spec, "name", root + ".spec");
  plan.specSha256 = stringField(spec, "sha256", root + ".spec");
  plan.trainingJson = stringField(body, "training", root);
  plan.stateBytes = intField(body, "state_bytes", root);
  plan.inputBytes = intField(body, "input_bytes", root);
  plan.gatheredBytes = intField(body, "gathered_bytes", root);
  plan.alignment = intField(body, "alignment", root);

  const std::string buffersPath = root + ".buffers";
  const Json &buffers = asArray(field(body, "buffers", root), buffersPath);
  for (size_t i = 0; i < buffers.size(); ++i) {
    std::string at = elementPath(buffersPath, i);
    const Json &b = buffers[i];
    Buffer buffer;
    buffer.id = intField(b, "id", at);
    buffer.name = stringField(b, "name", at);
    buffer.dtype = dtypeField(b, at);
    buffer.shape = asIntArray(field(b, "shape", at), at + ".shape");
    buffer.region = enumField<BufferRegion>(b, "region", at, kRegionNames);
    buffer.offset = intField(b, "offset", at);
    buffer.bytes = intField(b, "bytes", at);
    std::string layout = stringField(b, "layout", at);
    std::optional<Layout> parsed = parseLayout(layout);
    if (!parsed)
      fail(at + ".layout", "unknown layout '" + layout + "'");
    buffer.layout = *parsed;
    plan.buffers.push_back(std::move(buffer));
  }

  const std::string statePath = root + ".state";
  const Json &state = asArray(field(body, "state", root), statePath);
  for (size_t i = 0; i < state.size(); ++i) {
    std::string at = elementPath(statePath, i);
    const Json &t = state[i];
    StateTensor tensor;
    tensor.name = stringField(t, "name", at);
    tensor.kind = stringField(t, "kind", at);
    tensor.buffer = intField(t, "buffer", at);
    const Json &init = field(t, "init", at);
    tensor.init.kind = stringField(init, "kind", at + ".init");
    tensor.init.fanIn = intField(init, "fan_in", at + ".init");
    plan.state.push_back(std::move(tensor));
  }

  const std::string programsPath = root + ".programs";
  const Json &programs = asArray(field(body, "programs", root), programsPath);
  for (size_t i = 0; i < programs.size(); ++i) {
    std::string at = elementPath(programsPath, i);
    const Json &p = programs[i];
    Program program;
    program.name = stringField(p, "name", at);
    program.inputs = bindingsFromJson(field(p, "inputs", at), at + ".inputs");
    program.outputs = bindingsFromJson(field(p, "outputs", at), at + ".outputs");
    program.arenaBytes = intField(p, "arena_bytes", at);
    program.sumOfIntermediates = intField(p, "sum_of_intermediates", at);
    const std::string schedulePath = at + ".schedule";
    const Json &schedule = asArray(field(p, "schedule", at), schedulePath);
    for (size_t k = 0; k < schedule.size(); ++k) {
      std::string entryPath = elementPath(schedulePath, k);
      const Json &e = schedule[k];
      ScheduleEntry entry;
      entry.kind = enumField<EntryKind>(e, "kind", entryPath, kEntryKindNames);
      entry.name = stringField(e, "name", entryPath);
      entry.operands =
          asIntArray(field(e, "operands", entryPath), entryPath + ".operands");
      entry.numInputs = intField(e, "num_inputs", entryPath);
      entry.numOutputs = intField(e, "num_outputs", entryPath);
      const Json &attrs = field(e, "attrs", entryPath);
      if (!attrs.is_object())
        fail(entryPath + ".attrs", "expected an object");
      for (const auto &[key, value] : attrs.items())
        entry.attrs[key] = attrFromJson(value, entryPath + ".attrs." + key);
      program.schedule.push_back(std::move(entry));
    }
    plan.programs.push_back(std::move(program));
  }

  const Json &library = field(body, "library", root);
  const std::string libraryPath = root + ".library";
  plan.library.file = stringField(library, "file", libraryPath);
  plan.library.sha256 = stringField(library, "sha256", libraryPath);
  plan.library.fingerprint = stringField(library, "fingerprint", libraryPath);
  plan.library.target = stringField(library, "target", libraryPath);
  plan.library.architecture =
      stringField(library, "architecture", libraryPath);
  return plan;
}

/// Removes nlohmann's "[json.exception.parse_error.101] " prefix.
std::string jsonReason(const char *what) {
  std::string text = what;
  size_t close = text.find("] ");
  if (text.rfind("[json.exception.", 0) == 0 && close != std::string::npos)
    text = text.substr(close + 2);
  return text;
}

//===----------------------------------------------------------------------===//
// Verification helpers
//===----------------------------------------------------------------------===//

std::string describeBuffer(const Buffer &b) {
  return "buffer " + std::to_string(b.id) + " (" + quoted(b.name) + ")";
}

/// elements * dtype size, or nullopt on a negative extent or overflow.
std::optional<int64_t> expectedBytes(const Buffer &b) {
  int64_t count = 1;
  for (int64_t extent : b.shape) {
    if (extent < 0)
      return std::nullopt;
    if (extent != 0 && count > std::numeric_limits<int64_t>::max() / extent)
      return std::nullopt;
    count *= extent;
  }
  int64_t size = static_cast<int64_t>(dtypeByteSize(b.dtype));
  if (count > std::numeric_limits<int64_t>::max() / size)
    return std::nullopt;
  return count * size;
}

bool isLowerHex(const std::string &text, size_t length) {
  return text.size() == length &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

/// Checks that no two non-empty buffers of `region` overlap.
Status checkNoOverlap(const std::vector<Buffer> &buffers, BufferRegion region) {
  std::vector<const Buffer *> sorted;
  for (const Buffer &b : buffers)
    if (b.region == region && b.bytes > 0)
      sorted.push_back(&b);
  std::sort(sorted.begin(), sorted.end(), [](const Buffer *a, const Buffer *b) {
    return a->offset < b->offset;
  });
  for (size_t i = 1; i < sorted.size(); ++i) {
    const Buffer &prev = *sorted[i - 1], &cur = *sorted[i];
    if (prev.offset + prev.bytes > cur.offset)
      return invalidArgument(
          std::string(regionName(region)) + " buffers " + std::to_string(prev.id) +
          " (" + quoted(prev.name) + ", bytes [" + std::to_string(prev.offset) +
          ", " + std::to_string(prev.offset + prev.bytes) + ")) and " +
          std::to_string(cur.id) + " (" + quoted(cur.name) + ", bytes [" +
          std::to_string(cur.offset) + ", " +
          std::to_string(cur.offset + cur.bytes) + ")) overlap");
  }
  return Status::ok();
}

} // namespace

//===----------------------------------------------------------------------===//
// Plan
//===----------------------------------------------------------------------===//

const Program *Plan::findProgram(const std::string &name) const {
  for (const Program &p : programs)
    if (p.name == name)
      return &p;
  return nullptr;
}

const Buffer *Plan::findBuffer(int64_t id) const {
  for (const Buffer &b : buffers)
    if (b.id == id)
      return &b;
  return nullptr;
}

std::string sha256Hex(const void *data, size_t size) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // EVP_Digest with SHA-256 only fails on allocation failure.
  int ok = EVP_Digest(data, size, digest, &length, EVP_sha256(), nullptr);
  assert(ok == 1 && "EVP_Digest(SHA-256) failed");
  (void)ok;
  static constexpr char kHexDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHexDigits[digest[i] >> 4];
    hex += kHexDigits[digest[i] & 0xf];
  }
  return hex;
}

Expected<std::string> sha256OfFile(const std::string &path) {
  Expected<std::vector<uint8_t>> bytes = readFile(path);
  if (!bytes)
    return bytes.takeStatus();
  return sha256Hex(bytes->data(), bytes->size());
}

std::string planIdentity(const Plan &plan) {
  // What a checkpoint holds and what it means: each state tensor's name,
  // kind, dtype, shape and memory layout, in order. Not the target, the
  // architecture, the schedule or the library: a GPU run's checkpoint
  // resumes on the CPU artifact of the same spec (issue 12).
  Json state = Json::array();
  for (const StateTensor &t : plan.state) {
    const Buffer *b = plan.findBuffer(t.buffer);
    state.push_back({{"name", t.name},
                     {"kind", t.kind},
                     {"dtype", b ? dtypeName(b->dtype) : ""},
                     {"shape", b ? b->shape : std::vector<int64_t>()},
                     {"layout", b ? layoutName(b->layout) : ""}});
  }
  std::string text = dumpJson({{"state_layout", std::move(state)}});
  return sha256Hex(text.data(), text.size());
}

std::string kernelBindingDigest(const Plan &plan) {
  std::set<std::string> bindings;
  for (const Program &program : plan.programs)
    for (const ScheduleEntry &entry : program.schedule) {
      if (entry.kind != EntryKind::kKernel)
        continue;
      std::string line = entry.name + "(" + std::to_string(entry.numInputs) + "," +
                         std::to_string(entry.numOutputs);
      for (int64_t id : entry.operands) {
        const Buffer *b = plan.findBuffer(id);
        line += ";";
        if (!b)
          continue;
        line += std::string(dtypeName(b->dtype)) + "[";
        for (size_t i = 0; i < b->shape.size(); ++i)
          line += (i ? "," : "") + std::to_string(b->shape[i]);
        line += "]" + std::string(layoutName(b->layout));
      }
      bindings.insert(line + ")");
    }
  std::string text;
  for (const std::string &line : bindings)
    text += line + "\n";
  return sha256Hex(text.data(), text.size());
}

Status verifyPlan(const Plan &plan) {
  if (plan.formatVersion != kPlanFormatVersion)
    return invalidArgument("format version " + std::to_string(plan.formatVersion) +
                           ", expected " + std::to_string(kPlanFormatVersion));
  if (plan.alignment <= 0 || (plan.alignment & (plan.alignment - 1)) != 0)
    return invalidArgument("alignment " + std::to_string(plan.alignment) +
                           " is not a positive power of two");
  if (plan.stateBytes < 0 || plan.inputBytes < 0 || plan.gatheredBytes < 0)
    return invalidArgument("negative state, input or gathered block size");
  int64_t maxArena = 0;
  std::set<std::string> programNames;
  for (const Program &p : plan.programs) {
    if (p.arenaBytes < 0)
      return invalidArgument("program " + quoted(p.name) + ": negative arena size");
    if (!programNames.insert(p.name).second)
      return invalidArgument("two programs named " + quoted(p.name));
    maxArena = std::max(maxArena, p.arenaBytes);
  }

  std::unordered_map<int64_t, const Buffer *> byId;
  for (const Buffer &b : plan.buffers) {
    if (!byId.emplace(b.id, &b).second)
      return invalidArgument("two buffers with id " + std::to_string(b.id));
    std::optional<int64_t> bytes = expectedBytes(b);
    if (!bytes)
      return invalidArgument(describeBuffer(b) + ": invalid shape");
    if (*bytes != b.bytes)
      return invalidArgument(describeBuffer(b) + ": " + std::to_string(b.bytes) +
                             " bytes, but its shape and dtype " +
                             dtypeName(b.dtype) + " need " + std::to_string(*bytes));
    int64_t regionSize = b.region == BufferRegion::kState      ? plan.stateBytes
                         : b.region == BufferRegion::kInput    ? plan.inputBytes
                         : b.region == BufferRegion::kGathered ? plan.gatheredBytes
                                                               : maxArena;
    if (b.offset < 0 || b.offset % plan.alignment != 0)
      return invalidArgument(describeBuffer(b) + ": offset " +
                             std::to_string(b.offset) + " is not a multiple of " +
                             std::to_string(plan.alignment));
    if (b.layout != Layout::kPlain) {
      int64_t block = layoutChannelBlock(b.layout);
      if (b.shape.size() != 4 || (block > 1 && b.shape[1] % block != 0))
        return invalidArgument(describeBuffer(b) + ": layout " +
                               std::string(layoutName(b.layout)) +
                               " needs a 4-D N x C x H x W buffer" +
                               (block > 1 ? " with a multiple of " +
                                                std::to_string(block) +
                                                " channels"
                                          : std::string()));
    }
    if (b.offset > regionSize || b.bytes > regionSize - b.offset)
      return invalidArgument(describeBuffer(b) + ": bytes [" +
                             std::to_string(b.offset) + ", " +
                             std::to_string(b.offset + b.bytes) + ") exceed the " +
                             regionName(b.region) + " region (" +
                             std::to_string(regionSize) + " bytes)");
  }
  SIMCLR_RETURN_IF_ERROR(checkNoOverlap(plan.buffers, BufferRegion::kState));
  SIMCLR_RETURN_IF_ERROR(checkNoOverlap(plan.buffers, BufferRegion::kInput));
  SIMCLR_RETURN_IF_ERROR(checkNoOverlap(plan.buffers, BufferRegion::kGathered));

  std::set<std::string> stateNames;
  for (const StateTensor &t : plan.state) {
    std::string prefix = "state tensor " + quoted(t.name) + ": ";
    if (!stateNames.insert(t.name).second)
      return invalidArgument("two state tensors named " + quoted(t.name));
    auto it = byId.find(t.buffer);
    if (it == byId.end())
      return invalidArgument(prefix + "unknown buffer " + std::to_string(t.buffer));
    if (it->second->region != BufferRegion::kState)
      return invalidArgument(prefix + describeBuffer(*it->second) +
                             " is not in the state region");
    Expected<InitKind> kind = parseInitKind(t.init.kind);
    if (!kind)
      return invalidArgument(prefix + kind.status().message());
  }

  for (const Program &p : plan.programs) {
    std::string prefix = "program " + quoted(p.name) + ": ";
    // Checks a buffer one of p's operands or bindings names.
    auto checkUse = [&](int64_t id, const std::string &what) -> Status {
      auto it = byId.find(id);
      if (it == byId.end())
        return invalidArgument(prefix + what + " names unknown buffer " +
                               std::to_string(id));
      const Buffer &b = *it->second;
      if (b.region == BufferRegion::kArena && b.offset + b.bytes > p.arenaBytes)
        return invalidArgument(prefix + what + ": " + describeBuffer(b) +
                               " ends at byte " + std::to_string(b.offset + b.bytes) +
                               ", past the program's arena (" +
                               std::to_string(p.arenaBytes) + " bytes)");
      return Status::ok();
    };
    for (const Binding &in : p.inputs) {
      SIMCLR_RETURN_IF_ERROR(checkUse(in.buffer, "input " + quoted(in.role)));
      if (byId.at(in.buffer)->region != BufferRegion::kInput)
        return invalidArgument(prefix + "input " + quoted(in.role) + ": " +
                               describeBuffer(*byId.at(in.buffer)) +
                               " is not in the input region");
    }
    for (const Binding &out : p.outputs)
      SIMCLR_RETURN_IF_ERROR(checkUse(out.buffer, "output " + quoted(out.role)));
    for (size_t i = 0; i < p.schedule.size(); ++i) {
      const ScheduleEntry &e = p.schedule[i];
      std::string at = "schedule[" + std::to_string(i) + "] (" +
                       entryKindName(e.kind) + " " + quoted(e.name) + ")";
      if (e.name.empty())
        return invalidArgument(prefix + at + ": empty name");
      if (e.numInputs < 0 || e.numOutputs < 0 || e.numScratch() < 0)
        return invalidArgument(prefix + at + ": num_inputs " +
                               std::to_string(e.numInputs) + " and num_outputs " +
                               std::to_string(e.numOutputs) + " with " +
                               std::to_string(e.operands.size()) + " operands");
      for (size_t k = 0; k < e.operands.size(); ++k)
        SIMCLR_RETURN_IF_ERROR(
            checkUse(e.operands[k], at + ": operand " + std::to_string(k)));
      for (const auto &[key, value] : e.attrs)
        if (const double *d = std::get_if<double>(&value); d && !std::isfinite(*d))
          return invalidArgument(prefix + at + ": attribute " + quoted(key) +
                                 " is not finite");
    }
  }

  const KernelLibrary &lib = plan.library;
  if (lib.file.empty() || lib.file.find('/') != std::string::npos)
    return invalidArgument("library file " + quoted(lib.file) +
                           " is not a plain file name");
  if (!isLowerHex(lib.sha256, kSha256HexLength))
    return invalidArgument("library sha256 " + quoted(lib.sha256) +
                           " is not 64 lower-case hex digits");
  std::optional<TargetKind> target = parseTargetKind(lib.target);
  if (!target)
    return invalidArgument("library target " + quoted(lib.target) +
                           " is not one of " + targetKindList());
  if (!isTargetArchitecture(*target, lib.architecture))
    return invalidArgument("library architecture " + quoted(lib.architecture) +
                           " is not an architecture of target " +
                           quoted(lib.target) + " (" +
                           std::string(targetArchitectureForm(*target)) + ")");
  return Status::ok();
}

Status writePlanFile(const Plan &plan, const std::string &path) {
  Status valid = verifyPlan(plan);
  if (!valid)
    return valid.withContext(path);
  Json body = bodyToJson(plan);
  std::string bodyText = canonicalBody(body);
  // Written by hand so the header fields come first (a Json object would
  // sort "body" before them); indented for people reading the artifact. The
  // checksum covers the body's canonical compact dump, not these bytes.
  constexpr int kIndent = 1;
  std::string text =
      "{\n \"format\": " + Json(kPlanFormatName).dump() +
      ",\n \"version\": " + std::to_string(plan.formatVersion) +
      ",\n \"identity\": \"" + planIdentity(plan) +
      "\",\n \"sha256\": \"" + sha256Hex(bodyText.data(), bodyText.size()) +
      "\",\n \"body\": " + dumpJson(body, kIndent) + "\n}\n";
  return writeFileAtomically(path, text.data(), text.size());
}

Expected<Plan> readPlanFile(const std::string &path) {
  Expected<std::vector<uint8_t>> bytes = readFile(path);
  if (!bytes)
    return bytes.takeStatus();
  Json file;
  try {
    file = Json::parse(bytes->begin(), bytes->end());
  } catch (const Json::parse_error &e) {
    return dataLoss(path + ": byte " + std::to_string(e.byte) +
                    ": not valid JSON (" + jsonReason(e.what()) +
                    "); the file is truncated or corrupt");
  } catch (const Json::exception &e) {
    // A number beyond double's range (out_of_range.406) has no byte offset.
    return dataLoss(path + ": not valid JSON (" + jsonReason(e.what()) +
                    "); the file is corrupt");
  }
  try {
    if (!file.is_object())
      fail("root", "expected an object");
    std::string format = stringField(file, "format", "");
    if (format != kPlanFormatName)
      return dataLoss(path + ": format '" + format + "', expected '" +
                      kPlanFormatName + "'");
    int64_t version = intField(file, "version", "");
    if (version != kPlanFormatVersion)
      return invalidArgument(
          path + ": artifact format version " + std::to_string(version) +
          ", this runtime reads version " + std::to_string(kPlanFormatVersion) +
          "; recompile the spec with this simclrc");
    std::string stored = stringField(file, "sha256", "");
    const Json &body = field(file, "body", "");
    std::string bodyText = canonicalBody(body);
    std::string actual = sha256Hex(bodyText.data(), bodyText.size());
    if (stored != actual)
      return dataLoss(path + ": body checksum " + actual +
                      " does not match the recorded " + stored +
                      "; the file is corrupt or was modified");
    Plan plan = planFromBody(body);
    Status valid = verifyPlan(plan);
    if (!valid)
      return valid.withContext(path);
    return plan;
  } catch (const FieldError &e) {
    return dataLoss(path + ": " + e.message);
  } catch (const Json::exception &e) {
    return dataLoss(path + ": " + jsonReason(e.what()));
  }
}

} // namespace simclr::artifact
