#include "pfad/fraud/eval/render.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace pfad::fraud {
namespace {

ModelFigures Run(std::string model, events::EntityKind kind, uint64_t seed, double pr_auc, double bot_pr,
                 double power_flagged) {
  ModelFigures run;
  run.model = std::move(model);
  run.kind = kind;
  run.seed = seed;
  run.test_entities = 1000;
  run.test_positives = 40;
  run.pr_auc = pr_auc;
  run.roc_auc = 0.9;
  run.recall_at_1fpr = 0.25;
  run.slices = {{"bot", true, kind == events::EntityKind::kUser ? 10U : 0U, bot_pr, 0.5},
                {"power_user", false, 20, 0, power_flagged}};
  run.curve = {{0.0, 0.5, 1.0}, {1.0, 0.8, 0.04}};
  return run;
}

Evaluation Sample() {
  Evaluation evaluation;
  evaluation.dataset = "s3://bucket/minutes";
  evaluation.notes = {"train: 6 minutes, test: 4 minutes"};
  using events::EntityKind;
  evaluation.runs = {
      Run("rules", EntityKind::kUser, 0, 0.5, 0.4, 0.1),
      Run("rules", EntityKind::kUser, 1, 0.7, 0.6, 0.3),
      Run("trees_node", EntityKind::kUser, 0, 0.9, 0.9, 0),
      Run("trees_node", EntityKind::kUser, 1, 0.9, 0.9, 0),
      Run("rules", EntityKind::kSession, 0, 0.25, 0, 0.5),
  };
  return evaluation;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(RenderMarkdown, OneTablePerKindWithMeanAndSampleSd) {
  const std::string md = RenderMarkdown(Sample());
  EXPECT_NE(md.find("`s3://bucket/minutes`"), std::string::npos) << md;
  EXPECT_NE(md.find("## Users"), std::string::npos) << md;
  EXPECT_NE(md.find("## Sessions"), std::string::npos) << md;
  EXPECT_LT(md.find("## Users"), md.find("## Sessions"));
  EXPECT_NE(md.find("| model | PR-AUC | ROC-AUC | recall @ 1 % FPR | bot PR-AUC | power_user flagged |"),
            std::string::npos)
      << md;
  // 0.5 and 0.7: mean 0.6, sample sd 0.1414.
  EXPECT_NE(
      md.find("| rules | 0.600 ± 0.141 | 0.900 ± 0.000 | 0.250 ± 0.000 | 0.500 ± 0.141 | 0.200 ± 0.141 |"),
      std::string::npos)
      << md;
  EXPECT_NE(md.find("| trees_node | 0.900 ± 0.000 |"), std::string::npos) << md;
  // Sessions have no bots here: a dash, not a figure.
  EXPECT_NE(md.find("| rules | 0.250 ± 0.000 | 0.900 ± 0.000 | 0.250 ± 0.000 | – | 0.500 ± 0.000 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("1000 test entities, 40 positives; mean ± sd over 2 seed(s)."), std::string::npos) << md;
  EXPECT_NE(md.find("- train: 6 minutes, test: 4 minutes"), std::string::npos) << md;
  EXPECT_EQ(Count(md, "| rules |"), 2U);
}

TEST(RenderJson, HoldsRunsAndMeans) {
  const nlohmann::json doc = nlohmann::json::parse(RenderJson(Sample()));
  EXPECT_EQ(doc["dataset"], "s3://bucket/minutes");
  ASSERT_EQ(doc["runs"].size(), 5U);
  EXPECT_EQ(doc["runs"][1]["seed"], 1);
  EXPECT_EQ(doc["runs"][4]["kind"], "session");
  EXPECT_FALSE(doc["runs"][0].contains("curve"));
  ASSERT_EQ(doc["summary"].size(), 3U);
  const nlohmann::json& rules = doc["summary"][0];
  EXPECT_EQ(rules["model"], "rules");
  EXPECT_EQ(rules["kind"], "user");
  EXPECT_EQ(rules["seeds"], 2);
  EXPECT_NEAR(rules["pr_auc"]["mean"].get<double>(), 0.6, 1e-12);
  EXPECT_NEAR(rules["pr_auc"]["sd"].get<double>(), 0.1414213562, 1e-9);
  EXPECT_NEAR(rules["slices"][1]["recall_at_1fpr"]["mean"].get<double>(), 0.2, 1e-12);
  EXPECT_EQ(doc["summary"][2]["kind"], "session");
}

TEST(RenderPrCurvesSvg, OnePanelPerKindAndOneCurvePerModel) {
  const std::string svg = RenderPrCurvesSvg(Sample());
  EXPECT_EQ(svg.rfind("<svg", 0), 0U);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(Count(svg, "<polyline"), 3U);  // users: rules, trees_node; sessions: rules
  EXPECT_EQ(Count(svg, "<g "), 2U);
  EXPECT_EQ(Count(svg, "<g "), Count(svg, "</g>"));
  EXPECT_NE(svg.find("points=\"60.0,40.0 200.0,96.0 340.0,308.8\""), std::string::npos) << svg;
  EXPECT_NE(svg.find(">trees_node</text>"), std::string::npos);  // legend

  const std::string empty = RenderPrCurvesSvg(Evaluation{});
  EXPECT_EQ(empty.rfind("<svg", 0), 0U);
  EXPECT_EQ(Count(empty, "<polyline"), 0U);
}

}  // namespace
}  // namespace pfad::fraud
