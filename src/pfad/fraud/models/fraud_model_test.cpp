#include "pfad/fraud/models/fraud_model.h"

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>

#include <algorithm>

#include "pfad/fraud/graph/truth.h"
#include "pfad/fraud/graph/window_events.h"
#include "pfad/fraud/models/scoring.h"
#include "pfad/fraud/testing.h"
#include "pfad/gen/minute_writer.h"
#include "pfad/storage/local_store_fixture.h"

namespace pfad::fraud {
namespace {

using events::EntityKind;
using storage::ObjectUri;

class FraudModelTest : public storage::LocalStoreFixture, public ::testing::WithParamInterface<std::string> {
 protected:
  std::vector<ObjectUri> Generate(int64_t minutes, int64_t rows, double fraud_share) {
    const auto calendar = events::MinuteCalendar::Open().ValueOrDie();
    gen::SyntheticMinutes spec{.first = calendar.Parse("2026-11-01 10:00").ValueOrDie(),
                               .minutes = minutes,
                               .rows = rows,
                               .generator = {.seed = 5},
                               .fraud_share = fraud_share};
    EXPECT_TRUE(gen::WriteSyntheticMinutes({.target = Uri("w"), .store = store_}, calendar, spec).ok());
    return ListMinuteObjects(*store_, Uri("w")).ValueOrDie();
  }

  // The model of the test's parameter, small.
  static TrainOptions Small() {
    TrainOptions options;
    options.model = GetParam();
    options.trees.rounds = 30;
    options.gnn.hidden = 16;
    options.gnn.epochs = 40;
    options.gnn.learning_rate = 0.02;
    options.window_minutes = 3;
    return options;
  }
};

INSTANTIATE_TEST_SUITE_P(EveryModel, FraudModelTest, ::testing::ValuesIn(TrainableModels()),
                         [](const auto& info) { return info.param; });

TEST_P(FraudModelTest, ARoundTripScoresExactlyAsTheTrainedModel) {
  const auto minutes = Generate(6, 20000, 0.1);
  ASSERT_OK_AND_ASSIGN(const auto model, TrainModel(*store_, minutes, Small()));
  ASSERT_EQ(model.parts.size(), 2u);
  EXPECT_EQ(model.Label(), GetParam() + (GetParam() == "trees_graph" ? " v1" : " v2"));
  ASSERT_OK_AND_ASSIGN(const auto bytes, model.Serialize());
  ASSERT_OK_AND_ASSIGN(const auto restored, FraudModel::Parse(bytes));
  EXPECT_EQ(restored.window_minutes, 3);
  const std::vector<ObjectUri> window(minutes.end() - 3, minutes.end());
  ASSERT_OK_AND_ASSIGN(const auto events, ReadWindow(*store_, window));
  ASSERT_OK_AND_ASSIGN(const auto a, ScoreWindow(model, events, 10));
  ASSERT_OK_AND_ASSIGN(const auto b, ScoreWindow(restored, events, 10));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].entity_id, b[i].entity_id);
    EXPECT_EQ(a[i].fraud_score, b[i].fraud_score);
    EXPECT_EQ(a[i].top_features, b[i].top_features);
  }
}

// Features from another engine (Spark, above one scorer: docs/FRAUD.md section 8),
// rows in another order: the same scores for trees; a GNN says it needs the graph.
TEST_P(FraudModelTest, ScoringFeatureTablesEqualsScoringTheWindowForTrees) {
  const auto minutes = Generate(4, 20000, 0.1);
  ASSERT_OK_AND_ASSIGN(const auto model, TrainModel(*store_, minutes, Small()));
  const std::vector<ObjectUri> window(minutes.end() - 3, minutes.end());
  ASSERT_OK_AND_ASSIGN(const auto events, ReadWindow(*store_, window));
  const auto graph = BuildGraph(events);
  const auto features = WithNeighbours(ComputeNodeFeatures(events, graph), graph.edges);
  GraphFeatures sorted{SortedById(features.users), SortedById(features.sessions)};
  auto scored = ScoreFeatures(model, sorted, 10);
  if (GetParam() != "trees_graph") {
    ASSERT_FALSE(scored.ok());
    EXPECT_TRUE(scored.status().IsInvalid());
    EXPECT_NE(scored.status().message().find("needs the window's graph"), std::string::npos);
    return;
  }
  ASSERT_TRUE(scored.ok()) << scored.status().ToString();
  ASSERT_OK_AND_ASSIGN(const auto expected, ScoreWindow(model, events, 10));
  ASSERT_EQ(scored->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ((*scored)[i].kind, expected[i].kind);
    EXPECT_EQ((*scored)[i].entity_id, expected[i].entity_id);
    EXPECT_EQ((*scored)[i].fraud_score, expected[i].fraud_score);
    EXPECT_EQ((*scored)[i].is_fraud, expected[i].is_fraud);
    EXPECT_EQ((*scored)[i].top_features, expected[i].top_features);
  }
}

TEST_P(FraudModelTest, FlaggedEntitiesAreMostlyLabelledFraudAndCarryTheirTopFeatures) {
  const auto minutes = Generate(9, 20000, 0.1);
  const std::vector<ObjectUri> train(minutes.begin(), minutes.begin() + 6);
  const std::vector<ObjectUri> test(minutes.begin() + 6, minutes.end());
  ASSERT_OK_AND_ASSIGN(const auto model, TrainModel(*store_, train, Small()));
  ASSERT_OK_AND_ASSIGN(const auto events, ReadWindow(*store_, test));
  ASSERT_OK_AND_ASSIGN(const auto scores, ScoreWindow(model, events, 10));
  ASSERT_OK_AND_ASSIGN(const auto labels, ReadLabels(*store_, test));
  size_t flagged = 0, right = 0, explained_unflagged = 0;
  for (const auto& s : scores) {
    EXPECT_GE(s.fraud_score, 0);
    EXPECT_LE(s.fraud_score, 1);
    const double threshold =
        s.kind == EntityKind::kUser ? model.parts[0].threshold : model.parts[1].threshold;
    EXPECT_EQ(s.is_fraud, s.fraud_score >= threshold);
    if (!s.is_fraud) {
      explained_unflagged += !s.top_features.empty();
      continue;
    }
    ++flagged;
    EXPECT_FALSE(s.top_features.empty()) << s.entity_id;
    const auto& of_kind = labels.of(s.kind);
    const auto it = of_kind.find(s.entity_id);
    right += it != of_kind.end() && events::IsFraud(it->second);
  }
  ASSERT_GT(flagged, 10u);
  // Explanations only for the flagged and the report's top 10 (which may be all flagged).
  EXPECT_LE(explained_unflagged, 10u);
  EXPECT_GT(static_cast<double>(right) / static_cast<double>(flagged), 0.8);
  // The scores object: the columns of docs/DESIGN.md, "Fraud scores", one row per entity.
  const auto out = BesideMinute(test.back(), events::kScoresSuffix);
  ASSERT_TRUE(WriteScores(*store_, out, model.Label(), scores).ok());
  auto file = arrow::io::ReadableFile::Open(out.FsPath()).ValueOrDie();
  auto table =
      parquet::arrow::OpenFile(file, arrow::default_memory_pool()).ValueOrDie()->ReadTable().ValueOrDie();
  EXPECT_EQ(table->schema()->field_names(),
            (std::vector<std::string>{"entity_kind", "entity_id", "fraud_score", "is_fraud", "model",
                                      "top_features"}));
  EXPECT_EQ(table->num_rows(), static_cast<int64_t>(scores.size()));
}

TEST_P(FraudModelTest, ACorruptOrForeignModelIsInvalidAndSaysSo) {
  const auto minutes = Generate(3, 20000, 0.1);
  ASSERT_OK_AND_ASSIGN(const auto model, TrainModel(*store_, minutes, Small()));
  ASSERT_OK_AND_ASSIGN(const auto bytes, model.Serialize());
  const auto parse = [](std::string_view b) { return FraudModel::Parse(b).status(); };
  EXPECT_TRUE(parse("hello").IsInvalid());
  EXPECT_NE(parse("hello").message().find("not a PFAD fraud model"), std::string::npos);
  EXPECT_NE(parse(bytes.substr(0, bytes.size() - 10)).message().find("corrupt"), std::string::npos);
  EXPECT_NE(parse(bytes + "x").message().find("after the last part"), std::string::npos);
  std::string newer = bytes;
  newer.replace(newer.find("\"version\":"), 11, "\"version\":9");
  EXPECT_NE(parse(newer).message().find("not supported"), std::string::npos);
  if (GetParam() == "trees_graph") {
    EXPECT_TRUE(bytes.starts_with("PFAD-FRAUD-MODEL 1\n"));  // readable by earlier builds
    return;
  }
  // A GNN part whose network is damaged but keeps its size: Invalid.
  EXPECT_TRUE(bytes.starts_with("PFAD-FRAUD-MODEL 2\n"));
  std::string damaged = bytes;
  damaged.replace(damaged.find("\"hidden\":16"), 11, "\"hidden\":15");
  EXPECT_NE(parse(damaged).message().find("corrupt GNN"), std::string::npos) << parse(damaged).ToString();
  std::string flipped = bytes;
  const auto at = flipped.rfind("0.");
  flipped[at] = flipped[at] == '0' ? '1' : '0';
  EXPECT_NE(parse(flipped).message().find("checksum"), std::string::npos) << parse(flipped).ToString();
}

TEST_P(FraudModelTest, TrainingWithoutFraudIsInvalid) {
  const auto minutes = Generate(2, 5000, 0.0);
  const auto st = TrainModel(*store_, minutes, Small()).status();
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("both classes"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace pfad::fraud
