//===- CliValidators.h - Command-line checks the runtime tools share -*- C++ -*-===//
//
// CLI11 validators for simclr-train and simclr-eval. CLI11's PositiveNumber
// says "not in range 0 to 1.79e308"; these say what is wrong in words.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_CLIVALIDATORS_H
#define SIMCLR_RUNTIME_CLIVALIDATORS_H

#include <CLI/CLI.hpp>

#include <cmath>
#include <exception>
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

} // namespace simclr::runtime

#endif // SIMCLR_RUNTIME_CLIVALIDATORS_H
