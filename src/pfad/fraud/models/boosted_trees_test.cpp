#include "pfad/fraud/models/boosted_trees.h"

#include "pfad/fraud/models/metrics.h"
#include "pfad/fraud/testing.h"

#include <gtest/gtest.h>

#include <random>

namespace pfad::fraud {
namespace {

struct Sample {
  FeatureTable table;
  std::vector<uint8_t> labels;
};

// Fraud when a + b > 0.5; c and noise carry nothing.
Sample MakeSample(size_t rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  Sample sample;
  sample.table.names = {"a", "b", "c", "noise"};
  for (size_t r = 0; r < rows; ++r) {
    const double a = normal(rng);
    const double b = normal(rng);
    sample.table.ids.push_back(std::to_string(r));
    sample.table.values.insert(sample.table.values.end(), {a, b, normal(rng), normal(rng)});
    sample.labels.push_back(a + b > 0.5 ? 1 : 0);
  }
  return sample;
}

TreeParams SmallParams(uint64_t seed) {
  TreeParams params;
  params.rounds = 40;
  params.seed = seed;
  return params;
}

TEST(BoostedTrees, LearnsASeparableRule) {
  const Sample train = MakeSample(2000, 1);
  const Sample test = MakeSample(1000, 2);
  ASSERT_OK_AND_ASSIGN(BoostedTrees model, BoostedTrees::Train(train.table, train.labels, SmallParams(0)));
  EXPECT_EQ(model.feature_names(), train.table.names);
  ASSERT_OK_AND_ASSIGN(std::vector<double> scores, model.Predict(test.table));
  ASSERT_EQ(scores.size(), 1000U);
  for (double score : scores) {
    EXPECT_GE(score, 0);
    EXPECT_LE(score, 1);
  }
  EXPECT_GT(RocAuc(scores, test.labels), 0.95);

  ASSERT_OK_AND_ASSIGN(auto importance, model.Importance());
  ASSERT_EQ(importance.size(), 4U);
  EXPECT_TRUE((importance[0].first == "a" && importance[1].first == "b") ||
              (importance[0].first == "b" && importance[1].first == "a"));
  EXPECT_GT(importance[1].second, importance[2].second);
  for (size_t i = 1; i < importance.size(); ++i) EXPECT_GE(importance[i - 1].second, importance[i].second);
}

TEST(BoostedTrees, SameSeedSameModel) {
  const Sample train = MakeSample(1000, 3);
  const Sample test = MakeSample(300, 4);
  ASSERT_OK_AND_ASSIGN(BoostedTrees first, BoostedTrees::Train(train.table, train.labels, SmallParams(5)));
  ASSERT_OK_AND_ASSIGN(BoostedTrees second, BoostedTrees::Train(train.table, train.labels, SmallParams(5)));
  ASSERT_OK_AND_ASSIGN(BoostedTrees other, BoostedTrees::Train(train.table, train.labels, SmallParams(6)));
  ASSERT_OK_AND_ASSIGN(std::vector<double> a, first.Predict(test.table));
  ASSERT_OK_AND_ASSIGN(std::vector<double> b, second.Predict(test.table));
  ASSERT_OK_AND_ASSIGN(std::vector<double> c, other.Predict(test.table));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);  // the seed drives row and column sampling
  // Predicting twice gives the same answer (no stale per-matrix cache).
  ASSERT_OK_AND_ASSIGN(std::vector<double> again, first.Predict(test.table));
  EXPECT_EQ(a, again);
}

TEST(BoostedTrees, SerializeRoundTripPredictsIdentically) {
  const Sample train = MakeSample(1000, 7);
  const Sample test = MakeSample(300, 8);
  ASSERT_OK_AND_ASSIGN(BoostedTrees model, BoostedTrees::Train(train.table, train.labels, SmallParams(1)));
  ASSERT_OK_AND_ASSIGN(std::string bytes, model.Serialize());
  ASSERT_OK_AND_ASSIGN(BoostedTrees restored, BoostedTrees::Deserialize(bytes));
  EXPECT_EQ(restored.feature_names(), model.feature_names());
  ASSERT_OK_AND_ASSIGN(std::vector<double> before, model.Predict(test.table));
  ASSERT_OK_AND_ASSIGN(std::vector<double> after, restored.Predict(test.table));
  EXPECT_EQ(before, after);
  ASSERT_OK_AND_ASSIGN(auto importance_before, model.Importance());
  ASSERT_OK_AND_ASSIGN(auto importance_after, restored.Importance());
  EXPECT_EQ(importance_before, importance_after);

  EXPECT_TRUE(BoostedTrees::Deserialize("not a model").status().IsInvalid());
}

TEST(BoostedTrees, ColumnsAreMatchedByName) {
  const Sample train = MakeSample(1000, 9);
  const Sample test = MakeSample(200, 10);
  ASSERT_OK_AND_ASSIGN(BoostedTrees model, BoostedTrees::Train(train.table, train.labels, SmallParams(2)));
  ASSERT_OK_AND_ASSIGN(std::vector<double> expected, model.Predict(test.table));

  // The same values, columns reversed and one extra column.
  FeatureTable shuffled;
  shuffled.names = {"extra", "noise", "c", "b", "a"};
  shuffled.ids = test.table.ids;
  for (size_t r = 0; r < test.table.rows(); ++r) {
    shuffled.values.push_back(42);
    for (size_t c = 4; c-- > 0;) shuffled.values.push_back(test.table.at(r, c));
  }
  ASSERT_OK_AND_ASSIGN(std::vector<double> scores, model.Predict(shuffled));
  EXPECT_EQ(scores, expected);

  FeatureTable missing;
  missing.names = {"a", "b", "noise"};
  missing.ids = {"x"};
  missing.values = {1, 2, 3};
  const Status status = model.Predict(missing).status();
  EXPECT_TRUE(status.IsInvalid());
  EXPECT_NE(status.message().find("'c'"), std::string::npos) << status.ToString();
}

TEST(BoostedTrees, RejectsBadInput) {
  const Sample train = MakeSample(10, 11);
  const std::vector<uint8_t> labels(9, 0);
  EXPECT_TRUE(BoostedTrees::Train(train.table, labels, SmallParams(0)).status().IsInvalid());
  EXPECT_TRUE(BoostedTrees::Train(FeatureTable{}, {}, SmallParams(0)).status().IsInvalid());
  FeatureTable ragged = train.table;
  ragged.values.pop_back();
  const std::vector<uint8_t> ten(10, 0);
  EXPECT_TRUE(BoostedTrees::Train(ragged, ten, SmallParams(0)).status().IsInvalid());
  TreeParams bad = SmallParams(0);
  bad.subsample = 0;
  EXPECT_TRUE(BoostedTrees::Train(train.table, ten, bad).status().IsInvalid());
  EXPECT_TRUE(BoostedTrees::Train(train.table, ten, SmallParams(~uint64_t{0})).status().IsInvalid());
}

}  // namespace
}  // namespace pfad::fraud
