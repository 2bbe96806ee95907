//===- CliValidators.h - Command-line checks the runtime tools share -*- C++ -*-===//
//
// CLI11 validators for simclr-train and simclr-eval (CLI11's PositiveNumber
// says "not in range 0 to 1.79e308"; these say what is wrong in words), and
// the parse both run.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_CLIVALIDATORS_H
#define SIMCLR_RUNTIME_CLIVALIDATORS_H

#include "simclr/Runtime/Device.h"
#include "simclr/Runtime/ToolDiagnostics.h"
#include "simclr/Support/CommonFlags.h"

#include <CLI/CLI.hpp>

#include <cmath>
#include <exception>
#include <optional>
#include <string>

namespace simclr::runtime {

inline const CLI::Validator kAtLeastOne(
    [](std::string &text) -> std::string {
      try {
        size_t used = 0;
        long long value = std::stoll(text, &used);
        if (used == text.size() && value >= 1)
          return "";
      } catch (const std::exception &) {
      }
      return "must be an integer of at least 1, got '" + text + "'";
    },
    "INT>=1");
inline const CLI::Validator kPositiveReal(
    [](std::string &text) -> std::string {
      try {
        size_t used = 0;
        double value = std::stod(text, &used);
        if (used == text.size() && value > 0 && std::isfinite(value))
          return "";
      } catch (const std::exception &) {
      }
      return "must be a number greater than 0, got '" + text + "'";
    },
    "REAL>0");

/// Adds --device (CommonFlags.h): "cpu", "cuda" or "cuda:N", parsed by
/// parseDeviceSpec into `device`; a bad value is a usage error naming it.
inline CLI::Option *addDeviceOption(CLI::App &app,
                                    std::optional<DeviceSpec> &device) {
  return app.add_option_function<std::string>(
      std::string("--") + flags::kDevice.name,
      [&device](const std::string &text) {
        Expected<DeviceSpec> spec = parseDeviceSpec(text);
        if (!spec)
          throw CLI::ValidationError(std::string("--") + flags::kDevice.name,
                                     spec.status().message());
        device = *spec;
      },
      std::string(flags::kDevice.help) +
          " (default: the device the artifact was compiled for)");
}

/// Parses the command line into `app`'s options. Returns the exit code when
/// the tool is done already: help printed (0), or a bad argument reported
/// as `tool`'s usage error (kExitUsage); nothing when it should go on.
inline std::optional<int> parseCommandLine(CLI::App &app, int argc, char **argv,
                                           const ToolDiagnostics &tool) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp &e) {
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    return tool.usageError(e.what());
  }
  return std::nullopt;
}

} // namespace simclr::runtime

#endif // SIMCLR_RUNTIME_CLIVALIDATORS_H
