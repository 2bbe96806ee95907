//===- SpecReader.h - Reading and validating spec files ----------*- C++ -*-===//
//
// A spec file is TOML (docs/spec-format.md). Every failure comes back as a
// Status whose message is exactly one line, "FILE:LINE:COL: error: ...",
// naming the key at fault; the tools print it and exit 1.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_FRONTEND_SPECREADER_H
#define SIMCLR_FRONTEND_SPECREADER_H

#include "simclr/Frontend/TrainingSpec.h"
#include "simclr/Support/Status.h"

#include <string>
#include <string_view>

namespace simclr::frontend {

/// Reads, parses and validates the spec file at `path`.
Expected<TrainingSpec> readSpecFile(const std::string &path);

/// Parses and validates spec text; `fileName` is used in diagnostics only.
Expected<TrainingSpec> parseSpec(std::string_view text,
                                 const std::string &fileName);

/// Checks the semantic constraints of a spec, whether read from a file or
/// built in C++: ranges of every number, lengths of per-channel lists, a
/// batch of at least 2 (NT-Xent needs negatives) and an input large enough
/// for every downsampling layer of the encoder. Errors name the key and use
/// `spec.locationOf(key)`.
Status validateSpec(const TrainingSpec &spec);

/// Spatial size (height, width) of the encoder's input: the last
/// random_resized_crop's output size, else the data's image size.
std::pair<int64_t, int64_t> encoderInputSize(const TrainingSpec &spec);

} // namespace simclr::frontend

#endif // SIMCLR_FRONTEND_SPECREADER_H
