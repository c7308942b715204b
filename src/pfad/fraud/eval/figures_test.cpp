#include "pfad/fraud/eval/figures.h"

#include <gtest/gtest.h>

#include <vector>

namespace pfad::fraud {
namespace {

using Scores = std::vector<double>;

TEST(Judge, OverallAndSliceFigures) {
  TestTruth truth;
  truth.slice_names = {"bot", "card_testing", "power_user"};
  truth.slice_is_fraud = {true, true, false};
  Scores scores;
  // 197 ordinary negatives below everything else.
  for (int i = 0; i < 197; ++i) {
    scores.push_back(i / 1000.0);
    truth.labels.push_back(0);
    truth.slice.push_back(-1);
  }
  const auto add = [&](double score, uint8_t label, int slice) {
    scores.push_back(score);
    truth.labels.push_back(label);
    truth.slice.push_back(slice);
  };
  add(0.5, 0, 2);     // flagged look-alike (1 false positive of 200 = 0.5 %)
  add(0.45, 1, 0);    // bot
  add(0.4, 0, 2);     // flagged look-alike (2 of 200 = 1 %): the 1 % FPR threshold is 0.4
  add(0.01, 0, 2);    // look-alike not flagged
  add(0.1005, 1, 1);  // card testing, below the threshold and 96 ordinary negatives
  ASSERT_EQ(scores.size(), 202U);

  const ModelFigures figures = Judge("rules", events::EntityKind::kSession, 7, scores, truth);
  EXPECT_EQ(figures.model, "rules");
  EXPECT_EQ(figures.kind, events::EntityKind::kSession);
  EXPECT_EQ(figures.seed, 7U);
  EXPECT_EQ(figures.test_entities, 202U);
  EXPECT_EQ(figures.test_positives, 2U);
  EXPECT_NEAR(figures.pr_auc, AveragePrecision(scores, truth.labels), 1e-12);
  EXPECT_NEAR(figures.roc_auc, RocAuc(scores, truth.labels), 1e-12);
  EXPECT_EQ(figures.recall_at_1fpr, 0.5);
  EXPECT_FALSE(figures.curve.recall.empty());

  ASSERT_EQ(figures.slices.size(), 3U);
  const SliceFigures& bot = figures.slices[0];
  EXPECT_EQ(bot.name, "bot");
  EXPECT_TRUE(bot.fraud);
  EXPECT_EQ(bot.entities, 1U);
  EXPECT_NEAR(bot.pr_auc, 0.5, 1e-12);  // ranked second, below one negative
  EXPECT_EQ(bot.recall_at_1fpr, 1);
  const SliceFigures& card = figures.slices[1];
  EXPECT_NEAR(card.pr_auc, 1.0 / 99, 1e-12);  // below 98 negatives
  EXPECT_EQ(card.recall_at_1fpr, 0);
  const SliceFigures& power = figures.slices[2];
  EXPECT_FALSE(power.fraud);
  EXPECT_EQ(power.entities, 3U);
  EXPECT_EQ(power.pr_auc, 0);
  EXPECT_NEAR(power.recall_at_1fpr, 2.0 / 3, 1e-12);
}

}  // namespace
}  // namespace pfad::fraud
