//===- EvalReport.cpp - Evaluate features, print a table, write JSON ------===//
#include "simclr/Eval/EvalReport.h"

#include "simclr/Eval/Knn.h"
#include "simclr/Support/FileIO.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace simclr::eval {
namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
      .count();
}

std::string percentCell(double fraction) {
  if (std::isnan(fraction))
    return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f%%", 100 * fraction);
  return buffer;
}

std::string generalCell(double value, const char *format) {
  if (std::isnan(value))
    return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

nlohmann::ordered_json numberOrNull(double value) {
  return std::isnan(value) ? nlohmann::ordered_json(nullptr)
                           : nlohmann::ordered_json(value);
}

} // namespace

Expected<EncoderEval> evaluateFeatures(const std::string &name,
                                       const FeatureMatrix &train,
                                       const FeatureMatrix &test,
                                       bool withLinear,
                                       const LinearProbeOptions &linear) {
  EncoderEval row;
  row.name = name;
  auto start = std::chrono::steady_clock::now();
  auto knn = knnClassifyMany(train, test,
                             {KnnOptions::weighted(), KnnOptions::majority()});
  if (!knn)
    return knn.status().withContext(name);
  row.knnSeconds = secondsSince(start);
  row.knnWeightedTop1 = (*knn)[0].top1();
  row.knnMajorityTop1 = (*knn)[1].top1();
  if (withLinear) {
    start = std::chrono::steady_clock::now();
    auto probe = runLinearProbe(train, test, linear);
    if (!probe)
      return probe.status().withContext(name);
    row.linearSeconds = secondsSince(start);
    row.linearTop1 = probe->test.top1();
    row.linearWeightDecay = probe->selection.chosen;
  }
  return row;
}

std::string formatEvalTable(const std::vector<EncoderEval> &rows) {
  const std::vector<std::string> headers = {
      "encoder", "kNN-200 weighted", "kNN-20 majority", "linear",
      "weight decay"};
  std::vector<std::vector<std::string>> cells;
  for (const EncoderEval &row : rows)
    cells.push_back({row.name, percentCell(row.knnWeightedTop1),
                     percentCell(row.knnMajorityTop1),
                     percentCell(row.linearTop1),
                     generalCell(row.linearWeightDecay, "%g")});
  std::vector<size_t> widths;
  for (const std::string &header : headers)
    widths.push_back(header.size());
  for (const auto &line : cells)
    for (size_t i = 0; i < line.size(); ++i)
      widths[i] = std::max(widths[i], line[i].size());
  // Names left-aligned, numbers right-aligned, two spaces between columns.
  auto formatLine = [&](const std::vector<std::string> &line) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      std::string padding(widths[i] - line[i].size(), ' ');
      if (i > 0)
        out += "  ";
      out += i == 0 ? line[i] + padding : padding + line[i];
    }
    while (!out.empty() && out.back() == ' ')
      out.pop_back();
    return out + "\n";
  };
  std::string table = formatLine(headers);
  for (const auto &line : cells)
    table += formatLine(line);
  return table;
}

std::string evalReportJson(const std::vector<EncoderEval> &rows) {
  nlohmann::ordered_json encoders = nlohmann::ordered_json::array();
  for (const EncoderEval &row : rows) {
    nlohmann::ordered_json entry;
    entry["name"] = row.name;
    entry["knn_weighted_top1"] = numberOrNull(row.knnWeightedTop1);
    entry["knn_majority_top1"] = numberOrNull(row.knnMajorityTop1);
    entry["linear_top1"] = numberOrNull(row.linearTop1);
    entry["linear_weight_decay"] = numberOrNull(row.linearWeightDecay);
    entry["knn_seconds"] = numberOrNull(row.knnSeconds);
    entry["linear_seconds"] = numberOrNull(row.linearSeconds);
    encoders.push_back(std::move(entry));
  }
  nlohmann::ordered_json document;
  document["encoders"] = std::move(encoders);
  return document.dump(2);
}

Status writeEvalReportJson(const std::string &path,
                           const std::vector<EncoderEval> &rows) {
  std::string text = evalReportJson(rows) + "\n";
  return writeFileAtomically(path, text.data(), text.size());
}

} // namespace simclr::eval
