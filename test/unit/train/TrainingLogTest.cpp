//===- TrainingLogTest.cpp - metrics.csv and loss.svg ---------------------===//
#include "TrainTestUtil.h"

#include "simclr/Runtime/RunRecord.h"
#include "simclr/Runtime/TrainingLog.h"

#include <cmath>
#include <limits>

namespace simclr {
namespace {

using testing::readText;
using testing::ScratchDir;

MetricsRow rowAt(int64_t step, double loss) {
  MetricsRow row;
  row.step = step;
  row.epoch = step / 4;
  row.loss = loss;
  row.lr = 0.001;
  row.imagesPerSecond = 1234.5;
  row.dataWaitMillis = 0.25;
  row.stepMillis = 10;
  return row;
}

TEST(TrainLog, RowFormatReadsBackExactly) {
  MetricsRow row = rowAt(7, 4.1234567f);
  EXPECT_EQ(formatMetricsRow(row), "7,1,4.12345648,0.001,1234.5,0.250,10.000,");
  EXPECT_EQ(static_cast<float>(std::strtod("4.12345648", nullptr)), 4.1234567f);
  row.knnTop1 = 0.61234;
  EXPECT_EQ(formatMetricsRow(row), "7,1,4.12345648,0.001,1234.5,0.250,10.000,0.6123");
}

TEST(TrainLog, KnnColumnAndRowsWithoutItReadBack) {
  ScratchDir run;
  std::string path = metricsPath(run.path());
  // A file from before the knn_top1 column, then rows with and without it.
  std::string text = "step,epoch,loss,lr,images_per_s,data_wait_ms,step_ms\n"
                     "0,0,1,1,1,1,1\n1,0,1,1,1,1,1,\n2,0,1,1,1,1,1,0.5\n3,0,1,1,1,1,1,\n";
  ASSERT_TRUE(writeFileAtomically(path, text.data(), text.size()).isOk());
  Expected<std::vector<MetricsRow>> kept = truncateMetrics(path, 3);
  ASSERT_TRUE(kept) << kept.status().toString();
  ASSERT_EQ(kept->size(), 3u);
  EXPECT_TRUE(std::isnan((*kept)[0].knnTop1));
  EXPECT_TRUE(std::isnan((*kept)[1].knnTop1));
  EXPECT_EQ((*kept)[2].knnTop1, 0.5);
  EXPECT_EQ(readText(path), std::string(kMetricsHeader) +
                                "\n0,0,1,1,1.0,1.000,1.000,\n1,0,1,1,1.0,1.000,1.000,\n"
                                "2,0,1,1,1.0,1.000,1.000,0.5000\n");
}

TEST(TrainLog, TruncateKeepsEarlierRowsAndDropsACutLine) {
  ScratchDir run;
  std::string path = metricsPath(run.path());
  std::string text = std::string(kMetricsHeader) + "\n";
  for (int64_t step = 0; step < 6; ++step)
    text += formatMetricsRow(rowAt(step, 1.0 + step)) + "\n";
  text += "6,1,2.5"; // cut short by a crash
  ASSERT_TRUE(writeFileAtomically(path, text.data(), text.size()).isOk());

  Expected<std::vector<MetricsRow>> kept = truncateMetrics(path, 4);
  ASSERT_TRUE(kept) << kept.status().toString();
  ASSERT_EQ(kept->size(), 4u);
  EXPECT_EQ(kept->back().step, 3);
  EXPECT_EQ(kept->back().loss, 4.0);
  std::string expected = std::string(kMetricsHeader) + "\n";
  for (int64_t step = 0; step < 4; ++step)
    expected += formatMetricsRow(rowAt(step, 1.0 + step)) + "\n";
  EXPECT_EQ(readText(path), expected);

  Expected<MetricsWriter> writer = MetricsWriter::openForAppend(path);
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->append(rowAt(4, 9)).isOk());
  EXPECT_EQ(readText(path), expected + formatMetricsRow(rowAt(4, 9)) + "\n");
}

TEST(TrainLog, TruncateFromZeroOrMissingFileLeavesTheHeader) {
  ScratchDir run;
  std::string path = metricsPath(run.path());
  Expected<std::vector<MetricsRow>> kept = truncateMetrics(path, 10);
  ASSERT_TRUE(kept) << kept.status().toString();
  EXPECT_TRUE(kept->empty());
  EXPECT_EQ(readText(path), std::string(kMetricsHeader) + "\n");
}

TEST(TrainLog, MalformedMiddleLineIsAnError) {
  ScratchDir run;
  std::string path = metricsPath(run.path());
  std::string text = std::string(kMetricsHeader) + "\n0,0,1,1,1,1,1\nnonsense\n1,0,1,1,1,1,1\n";
  ASSERT_TRUE(writeFileAtomically(path, text.data(), text.size()).isOk());
  Expected<std::vector<MetricsRow>> kept = truncateMetrics(path, 2);
  ASSERT_FALSE(kept);
  EXPECT_EQ(kept.status().message().rfind(path + ": line 3 is not a metrics row", 0), 0u)
      << kept.status().message();
}

TEST(TrainLog, SvgHasAxesTicksAndBothLines) {
  std::vector<MetricsRow> rows;
  for (int64_t step = 0; step < 300; ++step)
    rows.push_back(rowAt(step, 5.0 * std::exp(-step / 100.0) + 0.1 * (step % 3)));
  rows.push_back(rowAt(300, std::numeric_limits<double>::quiet_NaN()));
  std::string svg = renderLossSvg(rows);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("class=\"raw\""), std::string::npos);
  EXPECT_NE(svg.find("class=\"smoothed\""), std::string::npos);
  EXPECT_NE(svg.find(">step</text>"), std::string::npos);
  EXPECT_NE(svg.find(">loss</text>"), std::string::npos);
  // Step ticks at multiples of 50 (a "nice" spacing for 0..299).
  EXPECT_NE(svg.find(">250</text>"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos) << "non-finite losses are left out";
  EXPECT_NE(svg.find("(300 steps)"), std::string::npos);
}

TEST(TrainLog, SvgOfNothingIsStillAPicture) {
  std::string svg = renderLossSvg({});
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(svg.find("class=\"raw\""), std::string::npos);
  std::string one = renderLossSvg({rowAt(0, 2.0)});
  EXPECT_NE(one.find("class=\"raw\""), std::string::npos);
  EXPECT_EQ(one.find("nan"), std::string::npos);
  EXPECT_EQ(one.find("inf"), std::string::npos);
}

TEST(TrainRunRecord, RoundTripsAndFindsTheRunOfACheckpoint) {
  ScratchDir run;
  RunRecord record;
  record.artifactDir = "/abs/artifact";
  record.artifactIdentity = "abc123";
  record.dataPath = "/usr/share/datasets/fashion-mnist";
  record.seed = 18446744073709551615ull;
  record.totalSteps = 4680;
  record.batchSize = 256;
  record.augmenter = "halide";
  ASSERT_TRUE(writeRunRecord(run.path(), record).isOk());
  Expected<RunRecord> back =
      readRunRecord(runDirOfCheckpoint(run.path() + "/checkpoints/step-00000010.safetensors"));
  ASSERT_TRUE(back) << back.status().toString();
  EXPECT_EQ(back->artifactDir, record.artifactDir);
  EXPECT_EQ(back->artifactIdentity, record.artifactIdentity);
  EXPECT_EQ(back->dataPath, record.dataPath);
  EXPECT_EQ(back->seed, record.seed);
  EXPECT_EQ(back->totalSteps, 4680);
  EXPECT_EQ(back->batchSize, 256);
  EXPECT_EQ(back->augmenter, "halide");

  std::string broken = "{\"artifact\": 3}";
  ASSERT_TRUE(writeFileAtomically(runRecordPath(run.path()), broken.data(), broken.size())
                  .isOk());
  Expected<RunRecord> bad = readRunRecord(run.path());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().message(),
            runRecordPath(run.path()) + ": 'artifact' is missing or not a string");
  EXPECT_EQ(readRunRecord(run.path() + "/none").status().code(), StatusCode::kNotFound);
}

} // namespace
} // namespace simclr
