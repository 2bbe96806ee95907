//===- EvalReportTest.cpp - Table and JSON of evaluation results ----------===//
#include "EvalTestUtil.h"
#include "simclr/Eval/EvalReport.h"
#include "simclr/Support/FileIO.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <sstream>

namespace simclr::eval {
namespace {

std::vector<EncoderEval> sampleRows() {
  EncoderEval raw;
  raw.name = "raw pixels";
  raw.knnWeightedTop1 = 0.8553;
  raw.knnMajorityTop1 = 0.851;
  raw.linearTop1 = 0.8412;
  raw.linearWeightDecay = 1e-4;
  EncoderEval simclr;
  simclr.name = "simclr resnet18 epoch 100";
  simclr.knnWeightedTop1 = 0.9;
  simclr.knnMajorityTop1 = 0.89;
  return {raw, simclr};
}

std::vector<std::string> lines(const std::string &text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

TEST(EvalReportTest, TableIsAligned) {
  std::string table = formatEvalTable(sampleRows());
  std::vector<std::string> rows = lines(table);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].rfind("encoder", 0), 0u);
  EXPECT_NE(rows[1].find("85.53%"), std::string::npos);
  EXPECT_NE(rows[1].find("85.10%"), std::string::npos);
  EXPECT_NE(rows[1].find("84.12%"), std::string::npos);
  EXPECT_NE(rows[1].find("0.0001"), std::string::npos);
  EXPECT_NE(rows[2].find("90.00%"), std::string::npos);
  // Right-aligned number columns end at the same place: the kNN-200 column
  // ends where its header does.
  size_t headerEnd = rows[0].find("kNN-200 weighted") + 16;
  EXPECT_EQ(rows[1].find("85.53%") + 6, headerEnd);
  EXPECT_EQ(rows[2].find("90.00%") + 6, headerEnd);
  // Unmeasured values are dashes, and the last column still lines up.
  EXPECT_EQ(rows[2].back(), '-');
  EXPECT_EQ(rows[2].size(), rows[0].size());
  EXPECT_EQ(rows[1].size(), rows[0].size());
}

TEST(EvalReportTest, JsonRoundTrips) {
  nlohmann::json doc = nlohmann::json::parse(evalReportJson(sampleRows()));
  ASSERT_EQ(doc["encoders"].size(), 2u);
  const auto &raw = doc["encoders"][0];
  EXPECT_EQ(raw["name"], "raw pixels");
  EXPECT_DOUBLE_EQ(raw["knn_weighted_top1"].get<double>(), 0.8553);
  EXPECT_DOUBLE_EQ(raw["linear_weight_decay"].get<double>(), 1e-4);
  EXPECT_TRUE(doc["encoders"][1]["linear_top1"].is_null());

  const char *dir = std::getenv("SIMCLR_TEST_TMPDIR");
  ASSERT_NE(dir, nullptr);
  std::string path = std::string(dir) + "/report.json";
  ASSERT_TRUE(writeEvalReportJson(path, sampleRows()));
  auto bytes = readFile(path);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(std::string(bytes->begin(), bytes->end()),
            evalReportJson(sampleRows()) + "\n");
}

TEST(EvalReportTest, EvaluateFeaturesRunsEveryMonitor) {
  FeatureMatrix train = testing::gaussianClusters(300, 8, 3, 6.0, 1);
  FeatureMatrix test = testing::gaussianClusters(90, 8, 3, 6.0, 2);
  auto row = evaluateFeatures("clusters", train, test);
  ASSERT_TRUE(row) << row.status().toString();
  EXPECT_EQ(row->name, "clusters");
  EXPECT_GE(row->knnWeightedTop1, 0.95);
  EXPECT_GE(row->knnMajorityTop1, 0.95);
  EXPECT_GE(row->linearTop1, 0.95);
  EXPECT_FALSE(std::isnan(row->linearWeightDecay));
  EXPECT_GE(row->knnSeconds, 0.0);

  auto knnOnly = evaluateFeatures("clusters", train, test, false);
  ASSERT_TRUE(knnOnly);
  EXPECT_TRUE(std::isnan(knnOnly->linearTop1));
  EXPECT_EQ(knnOnly->knnWeightedTop1, row->knnWeightedTop1);
}

} // namespace
} // namespace simclr::eval
