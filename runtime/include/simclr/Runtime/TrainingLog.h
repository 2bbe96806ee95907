//===- TrainingLog.h - Metrics CSV and loss plot of a run --------*- C++ -*-===//
//
// RUN_DIR/metrics.csv holds one row per training step,
//
//   step,epoch,loss,lr,images_per_s,data_wait_ms,step_ms,knn_top1
//
// step is the 0-based index of the step (the checkpoint after it is
// step-<step+1>), epoch is 0-based, loss and lr have 9 significant digits
// (a float reads back exactly), images_per_s counts the N images of a step
// over the whole loop iteration, data_wait_ms is the time the loop blocked
// on the input pipeline and step_ms the time of StepModel::trainStep.
// knn_top1 is the kNN monitor's top-1 accuracy (a fraction, 4 decimals)
// measured after the step, empty when not measured (TrainingLoop.h); rows
// of files written before the column existed read as not measured.
// A resumed run first drops the rows of steps it will redo, so no step
// appears twice.
//
// RUN_DIR/loss.svg plots loss against step: the raw values and an
// exponential moving average, with axes and ticks; a plain SVG file that any
// browser shows.
//
//===----------------------------------------------------------------------===//
#ifndef SIMCLR_RUNTIME_TRAININGLOG_H
#define SIMCLR_RUNTIME_TRAININGLOG_H

#include "simclr/Support/Status.h"

#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace simclr {

inline constexpr const char *kMetricsHeader =
    "step,epoch,loss,lr,images_per_s,data_wait_ms,step_ms,knn_top1";
/// Weight of the previous average in the smoothed loss (plot and progress
/// line): about a 50-step window, long enough to see through batch noise.
inline constexpr double kLossSmoothingWeight = 0.98;

struct MetricsRow {
  int64_t step = 0;
  int64_t epoch = 0;
  double loss = 0;
  double lr = 0;
  double imagesPerSecond = 0;
  double dataWaitMillis = 0;
  double stepMillis = 0;
  /// The kNN monitor's top-1 after this step; NaN: not measured.
  double knnTop1 = std::numeric_limits<double>::quiet_NaN();
};

/// RUN_DIR/metrics.csv and RUN_DIR/loss.svg.
std::string metricsPath(const std::string &runDir);
std::string lossPlotPath(const std::string &runDir);

/// The row as one CSV line (no newline).
std::string formatMetricsRow(const MetricsRow &row);

/// Prepares `path` for a run that continues at step `firstStep`: keeps the
/// header and the rows of steps before `firstStep`, rewritten atomically
/// (a missing file, or firstStep 0, gives a file with just the header).
/// A last line cut short by a crash is dropped; any other malformed line is
/// kDataLoss naming the file and line. Kept rows are rewritten in the
/// current format. Returns the kept rows.
Expected<std::vector<MetricsRow>> truncateMetrics(const std::string &path,
                                                  int64_t firstStep);

/// Appends rows to a metrics file, flushing each so a crash loses at most
/// the row being written.
class MetricsWriter {
public:
  static Expected<MetricsWriter> openForAppend(const std::string &path);
  Status append(const MetricsRow &row);

private:
  struct FileCloser {
    void operator()(std::FILE *file) const { std::fclose(file); }
  };
  MetricsWriter(std::string path, std::FILE *file) : path(std::move(path)), file(file) {}
  std::string path;
  std::unique_ptr<std::FILE, FileCloser> file;
};

/// The loss plot of `rows` as SVG text; non-finite losses are left out.
std::string renderLossSvg(const std::vector<MetricsRow> &rows);

/// Writes renderLossSvg(rows) to `path` atomically.
Status writeLossSvg(const std::string &path, const std::vector<MetricsRow> &rows);

} // namespace simclr

#endif // SIMCLR_RUNTIME_TRAININGLOG_H
