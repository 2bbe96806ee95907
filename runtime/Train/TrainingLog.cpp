//===- TrainingLog.cpp - Metrics CSV and loss plot of a run ---------------===//
#include "simclr/Runtime/TrainingLog.h"
#include "simclr/Support/FileIO.h"

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace simclr {

namespace {

constexpr size_t kMetricsColumns = 8;
/// Files written before the knn_top1 column have one column fewer.
constexpr size_t kMetricsColumnsWithoutKnn = 7;
constexpr const char *kMetricsHeaderWithoutKnn =
    "step,epoch,loss,lr,images_per_s,data_wait_ms,step_ms";

/// Parses one CSV data line; nothing if it is malformed.
std::optional<MetricsRow> parseRow(const std::string &line) {
  std::vector<std::string> fields;
  std::stringstream stream(line);
  for (std::string field; std::getline(stream, field, ',');)
    fields.push_back(field);
  // getline yields no field after a trailing comma: an empty last column.
  if (!line.empty() && line.back() == ',')
    fields.emplace_back();
  if (fields.size() != kMetricsColumns && fields.size() != kMetricsColumnsWithoutKnn)
    return std::nullopt;
  auto integer = [](const std::string &text, int64_t &out) {
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
  };
  auto real = [](const std::string &text, double &out) {
    char *end = nullptr;
    out = std::strtod(text.c_str(), &end);
    return !text.empty() && end == text.c_str() + text.size();
  };
  MetricsRow row;
  if (!integer(fields[0], row.step) || !integer(fields[1], row.epoch) ||
      !real(fields[2], row.loss) || !real(fields[3], row.lr) ||
      !real(fields[4], row.imagesPerSecond) || !real(fields[5], row.dataWaitMillis) ||
      !real(fields[6], row.stepMillis))
    return std::nullopt;
  if (fields.size() == kMetricsColumns && !fields[7].empty() &&
      !real(fields[7], row.knnTop1))
    return std::nullopt;
  return row;
}

//===----------------------------------------------------------------------===//
// The plot
//===----------------------------------------------------------------------===//

constexpr double kPlotWidth = 800, kPlotHeight = 450;
constexpr double kMarginLeft = 80, kMarginRight = 20, kMarginTop = 36,
                 kMarginBottom = 50;
/// Points per line beyond which the plot samples every k-th step: more than
/// the plot's pixel width, so nothing visible is lost.
constexpr size_t kMaxPlotPoints = 2000;
/// Ticks per axis aimed for.
constexpr int kTargetTicks = 6;
/// Share of the loss range added above and below the data.
constexpr double kYPadding = 0.05;

/// A "nice" tick spacing near range / kTargetTicks: 1, 2 or 5 times a power
/// of ten.
double tickSpacing(double range) {
  double raw = range / kTargetTicks;
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double fraction = raw / magnitude;
  double nice = fraction < 1.5 ? 1 : fraction < 3.5 ? 2 : fraction < 7.5 ? 5 : 10;
  return nice * magnitude;
}

std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f", value);
  return buffer;
}

std::string label(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", value);
  return buffer;
}

} // namespace

std::string metricsPath(const std::string &runDir) {
  return (std::filesystem::path(runDir) / "metrics.csv").string();
}

std::string lossPlotPath(const std::string &runDir) {
  return (std::filesystem::path(runDir) / "loss.svg").string();
}

std::string formatMetricsRow(const MetricsRow &row) {
  char buffer[256];
  // %.9g: 9 significant digits identify a float exactly.
  std::snprintf(buffer, sizeof(buffer), "%lld,%lld,%.9g,%.9g,%.1f,%.3f,%.3f",
                static_cast<long long>(row.step), static_cast<long long>(row.epoch),
                row.loss, row.lr, row.imagesPerSecond, row.dataWaitMillis,
                row.stepMillis);
  std::string line = buffer;
  line += ',';
  if (!std::isnan(row.knnTop1)) {
    std::snprintf(buffer, sizeof(buffer), "%.4f", row.knnTop1);
    line += buffer;
  }
  return line;
}

Expected<std::vector<MetricsRow>> truncateMetrics(const std::string &path,
                                                  int64_t firstStep) {
  std::vector<MetricsRow> kept;
  std::string text = std::string(kMetricsHeader) + "\n";
  if (firstStep > 0) {
    Expected<std::vector<uint8_t>> bytes = readFile(path);
    if (!bytes && bytes.status().code() != StatusCode::kNotFound)
      return bytes.takeStatus();
    std::vector<std::string> lines;
    if (bytes) {
      std::string content(bytes->begin(), bytes->end());
      std::stringstream stream(content);
      for (std::string line; std::getline(stream, line);)
        lines.push_back(line);
      // Without a final newline the last line was being written at a crash.
      if (!content.empty() && content.back() != '\n')
        lines.pop_back();
    }
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i == 0 && (lines[i] == kMetricsHeader || lines[i] == kMetricsHeaderWithoutKnn))
        continue;
      std::optional<MetricsRow> row = parseRow(lines[i]);
      if (!row)
        return dataLoss(path + ": line " + std::to_string(i + 1) +
                        " is not a metrics row (" + kMetricsHeader + ")");
      if (row->step >= firstStep)
        continue;
      kept.push_back(*row);
      text += formatMetricsRow(*row) + "\n";
    }
  }
  SIMCLR_RETURN_IF_ERROR(writeFileAtomically(path, text.data(), text.size()));
  return kept;
}

Expected<MetricsWriter> MetricsWriter::openForAppend(const std::string &path) {
  std::FILE *file = std::fopen(path.c_str(), "a");
  if (!file)
    return ioError(path + ": cannot open for appending: " + std::strerror(errno));
  return MetricsWriter(path, file);
}

Status MetricsWriter::append(const MetricsRow &row) {
  std::string line = formatMetricsRow(row) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file.get()) != line.size() ||
      std::fflush(file.get()) != 0)
    return ioError(path + ": cannot append a row: " + std::strerror(errno));
  return Status::ok();
}

std::string renderLossSvg(const std::vector<MetricsRow> &rows) {
  std::vector<std::pair<double, double>> raw;
  for (const MetricsRow &row : rows)
    if (std::isfinite(row.loss))
      raw.emplace_back(static_cast<double>(row.step), row.loss);

  // Debiased exponential moving average, as TensorBoard smooths.
  std::vector<std::pair<double, double>> smooth;
  double average = 0, weightSum = 0;
  for (const auto &[step, loss] : raw) {
    average = kLossSmoothingWeight * average + (1 - kLossSmoothingWeight) * loss;
    weightSum = kLossSmoothingWeight * weightSum + (1 - kLossSmoothingWeight);
    smooth.emplace_back(step, average / weightSum);
  }

  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (!raw.empty()) {
    x0 = raw.front().first;
    x1 = std::max(raw.back().first, x0 + 1);
    auto [lo, hi] = std::minmax_element(raw.begin(), raw.end(),
                                        [](auto &a, auto &b) { return a.second < b.second; });
    double span = std::max(hi->second - lo->second, std::abs(hi->second) * 1e-3 + 1e-6);
    y0 = lo->second - kYPadding * span;
    y1 = hi->second + kYPadding * span;
  }
  double left = kMarginLeft, right = kPlotWidth - kMarginRight;
  double top = kMarginTop, bottom = kPlotHeight - kMarginBottom;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (right - left); };
  auto py = [&](double y) { return bottom - (y - y0) / (y1 - y0) * (bottom - top); };

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kPlotWidth
      << "\" height=\"" << kPlotHeight << "\" viewBox=\"0 0 " << kPlotWidth << ' '
      << kPlotHeight << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg << "<text x=\"" << number(left) << "\" y=\"22\" font-size=\"14\">training loss ("
      << raw.size() << " steps)</text>\n";
  // Ticks and grid.
  double xSpacing = tickSpacing(x1 - x0), ySpacing = tickSpacing(y1 - y0);
  for (double x = std::ceil(x0 / xSpacing) * xSpacing; x <= x1 + 1e-9 * xSpacing;
       x += xSpacing)
    svg << "<line x1=\"" << number(px(x)) << "\" y1=\"" << number(top) << "\" x2=\""
        << number(px(x)) << "\" y2=\"" << number(bottom + 5)
        << "\" stroke=\"#ddd\"/><text x=\"" << number(px(x)) << "\" y=\""
        << number(bottom + 18) << "\" text-anchor=\"middle\">" << label(x)
        << "</text>\n";
  for (double y = std::ceil(y0 / ySpacing) * ySpacing; y <= y1 + 1e-9 * ySpacing;
       y += ySpacing)
    svg << "<line x1=\"" << number(left - 5) << "\" y1=\"" << number(py(y))
        << "\" x2=\"" << number(right) << "\" y2=\"" << number(py(y))
        << "\" stroke=\"#ddd\"/><text x=\"" << number(left - 8) << "\" y=\""
        << number(py(y) + 4) << "\" text-anchor=\"end\">" << label(y) << "</text>\n";
  // Axes and their names.
  svg << "<polyline fill=\"none\" stroke=\"black\" points=\"" << number(left) << ','
      << number(top) << ' ' << number(left) << ',' << number(bottom) << ' '
      << number(right) << ',' << number(bottom) << "\"/>\n";
  svg << "<text x=\"" << number((left + right) / 2) << "\" y=\""
      << number(kPlotHeight - 12) << "\" text-anchor=\"middle\">step</text>\n";
  svg << "<text x=\"16\" y=\"" << number((top + bottom) / 2)
      << "\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
      << number((top + bottom) / 2) << ")\">loss</text>\n";

  size_t stride = (raw.size() + kMaxPlotPoints - 1) / kMaxPlotPoints;
  auto line = [&](const std::vector<std::pair<double, double>> &points,
                  const char *color, const char *width, const char *name) {
    if (points.empty())
      return;
    svg << "<polyline class=\"" << name << "\" fill=\"none\" stroke=\"" << color
        << "\" stroke-width=\"" << width << "\" points=\"";
    for (size_t i = 0; i < points.size(); i += stride)
      svg << number(px(points[i].first)) << ',' << number(py(points[i].second)) << ' ';
    svg << number(px(points.back().first)) << ',' << number(py(points.back().second))
        << "\"/>\n";
  };
  line(raw, "#9ecae1", "1", "raw");
  line(smooth, "#08519c", "2", "smoothed");
  // Legend.
  svg << "<text x=\"" << number(right - 200) << "\" y=\"22\" fill=\"#6baed6\">raw</text>"
      << "<text x=\"" << number(right - 160)
      << "\" y=\"22\" fill=\"#08519c\">smoothed (EMA " << label(kLossSmoothingWeight)
      << ")</text>\n";
  svg << "</svg>\n";
  return svg.str();
}

Status writeLossSvg(const std::string &path, const std::vector<MetricsRow> &rows) {
  std::string svg = renderLossSvg(rows);
  return writeFileAtomically(path, svg.data(), svg.size());
}

} // namespace simclr
