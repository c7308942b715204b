#include "pfad/fraud/eval/evaluate.h"

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "pfad/events/labels.h"
#include "pfad/fraud/graph/window_events.h"
#include "pfad/fraud/testing.h"
#include "pfad/gen/minute_writer.h"
#include "pfad/storage/local_store_fixture.h"

namespace pfad::fraud {
namespace {

using events::EntityKind;
using storage::ObjectUri;

EvalOptions SmallOptions() {
  EvalOptions options;
  options.seeds = 2;
  options.trees.rounds = 30;
  options.trees.threads = 1;  // XGBoost's spinning threads crawl on a busy machine
  options.gnn_params.hidden = 8;
  options.gnn_params.epochs = 15;
  return options;
}

std::shared_ptr<arrow::Table> ReadParquet(const std::string& path) {
  auto file = arrow::io::ReadableFile::Open(path).ValueOrDie();
  auto reader = parquet::arrow::OpenFile(file, arrow::default_memory_pool()).ValueOrDie();
  return reader->ReadTable().ValueOrDie();
}

void WriteParquet(const arrow::Table& table, const std::string& path) {
  auto out = arrow::io::FileOutputStream::Open(path).ValueOrDie();
  ASSERT_TRUE(parquet::arrow::WriteTable(table, arrow::default_memory_pool(), out, 4096).ok());
  ASSERT_TRUE(out->Close().ok());
}

double MeanPrAuc(const Evaluation& evaluation, std::string_view model, EntityKind kind) {
  double sum = 0;
  int n = 0;
  for (const auto& run : evaluation.runs) {
    if (run.model == model && run.kind == kind) {
      sum += run.pr_auc;
      ++n;
    }
  }
  EXPECT_GT(n, 0) << model;
  return n == 0 ? 0 : sum / n;
}

class EvaluateMinutesTest : public storage::LocalStoreFixture {
 protected:
  // Labelled minutes from 10:00 into `name`, in minute order.
  std::vector<ObjectUri> Generate(const std::string& name, int64_t minutes, int64_t rows, double fraud_share,
                                  uint64_t seed = 3) {
    const auto calendar = events::MinuteCalendar::Open().ValueOrDie();
    gen::SyntheticMinutes spec{.first = calendar.Parse("2026-11-01 10:00").ValueOrDie(),
                               .minutes = minutes,
                               .rows = rows,
                               .generator = {.seed = seed},
                               .fraud_share = fraud_share};
    auto written = gen::WriteSyntheticMinutes({.target = Uri(name), .store = store_}, calendar, spec);
    EXPECT_TRUE(written.ok()) << written.status().ToString();
    auto listed = ListMinuteObjects(*store_, Uri(name));
    EXPECT_TRUE(listed.ok()) << listed.status().ToString();
    EXPECT_EQ(listed->size(), static_cast<size_t>(minutes));
    return *listed;
  }

  static std::string LabelsPath(const ObjectUri& minute) {
    std::string path = minute.FsPath();
    return path.substr(0, path.size() - events::kObjectSuffix.size()) + std::string(events::kLabelsSuffix);
  }
};

TEST_F(EvaluateMinutesTest, EveryModelAndKindAndSeedIsJudgedAndGraphTreesBeatRulesOnUsers) {
  // Large enough that the test window holds dozens of fraud users; the margin
  // below held for generator seeds 1 to 6.
  const auto minutes = Generate("w", 6, 30000, 0.1);
  ASSERT_OK_AND_ASSIGN(const auto evaluation, EvaluateMinutes(*store_, minutes, SmallOptions()));
  std::set<std::tuple<std::string, EntityKind, uint64_t>> seen;
  for (const auto& run : evaluation.runs) {
    EXPECT_TRUE(seen.emplace(run.model, run.kind, run.seed).second) << run.model;
    EXPECT_GE(run.pr_auc, 0);
    EXPECT_LE(run.pr_auc, 1);
    EXPECT_GE(run.roc_auc, 0);
    EXPECT_LE(run.roc_auc, 1);
    EXPECT_GT(run.test_positives, 0U);
  }
  std::set<std::tuple<std::string, EntityKind, uint64_t>> expected;
  for (const char* model : {"rules", "trees_node", "trees_graph", "trees_graph_shuffled", "gnn_sage",
                            "gnn_hetero", "gnn_hetero_shuffled"}) {
    for (const EntityKind kind : {EntityKind::kUser, EntityKind::kSession}) {
      for (const uint64_t seed : {1, 2}) expected.emplace(model, kind, seed);
    }
  }
  EXPECT_EQ(seen, expected);
  EXPECT_GT(MeanPrAuc(evaluation, "trees_graph", EntityKind::kUser),
            MeanPrAuc(evaluation, "rules", EntityKind::kUser) + 0.1);
}

// The test set is the test window's entities that the training window does not
// have, and its positives are the labelled fraud among them: re-derived here
// from the minute and labels objects.
TEST_F(EvaluateMinutesTest, NoEntityIsBothTrainedAndTestedOn) {
  const auto minutes = Generate("w", 5, 3000, 0.1);
  ASSERT_OK_AND_ASSIGN(const auto evaluation, EvaluateMinutes(*store_, minutes, SmallOptions()));
  // train_share 0.6 of 5 minutes: the first 3 train.
  const std::vector<ObjectUri> train_minutes(minutes.begin(), minutes.begin() + 3);
  const std::vector<ObjectUri> test_minutes(minutes.begin() + 3, minutes.end());
  ASSERT_OK_AND_ASSIGN(const auto train, ReadWindow(*store_, train_minutes));
  ASSERT_OK_AND_ASSIGN(const auto test, ReadWindow(*store_, test_minutes));
  std::set<std::string> fraud[2];
  for (const auto& minute : minutes) {
    ASSERT_OK_AND_ASSIGN(const auto labels, events::LabelsFromTable(*ReadParquet(LabelsPath(minute))));
    for (const auto& l : labels) {
      if (events::IsFraud(l.scenario)) fraud[static_cast<int>(l.kind)].insert(l.entity_id.ToString());
    }
  }
  for (const EntityKind kind : {EntityKind::kUser, EntityKind::kSession}) {
    const auto& train_ids = kind == EntityKind::kUser ? train.user_ids : train.session_ids;
    const auto& test_ids = kind == EntityKind::kUser ? test.user_ids : test.session_ids;
    const std::set<std::string> trained(train_ids.begin(), train_ids.end());
    size_t both = 0, test_only = 0, test_fraud = 0;
    for (const auto& id : test_ids) {
      if (trained.contains(id)) {
        ++both;
      } else {
        ++test_only;
        test_fraud += fraud[static_cast<int>(kind)].contains(id);
      }
    }
    ASSERT_GT(both, 0U) << "no entity spans the cut, so the check below would prove nothing";
    for (const auto& run : evaluation.runs) {
      if (run.kind != kind) continue;
      EXPECT_EQ(run.test_entities, test_only) << run.model;
      EXPECT_EQ(run.test_positives, test_fraud) << run.model;
    }
  }
}

TEST_F(EvaluateMinutesTest, AMinuteWithoutLabelsIsInvalidNamingTheLabelsObject) {
  const auto minutes = Generate("w", 3, 500, 0.1);
  const std::string labels = LabelsPath(minutes[1]);
  std::filesystem::remove(labels);
  const auto result = EvaluateMinutes(*store_, minutes, SmallOptions());
  ASSERT_TRUE(result.status().IsInvalid()) << result.status().ToString();
  EXPECT_NE(result.status().message().find(labels), std::string::npos) << result.status().message();
}

TEST_F(EvaluateMinutesTest, AnUnknownScenarioIsInvalidNamingTheValue) {
  const auto minutes = Generate("w", 3, 500, 0.1);
  arrow::StringBuilder kind, id, scenario;
  arrow::Int64Builder first, last;
  ASSERT_TRUE(kind.Append("user").ok());
  ASSERT_TRUE(id.Append(events::Uuid::V4(1, 2).ToString()).ok());
  ASSERT_TRUE(scenario.Append("phishing").ok());
  ASSERT_TRUE(first.Append(0).ok());
  ASSERT_TRUE(last.Append(0).ok());
  const auto table =
      arrow::Table::Make(events::LabelSchema(), {kind.Finish().ValueOrDie(), id.Finish().ValueOrDie(),
                                                 scenario.Finish().ValueOrDie(), first.Finish().ValueOrDie(),
                                                 last.Finish().ValueOrDie()});
  WriteParquet(*table, LabelsPath(minutes[2]));
  const auto result = EvaluateMinutes(*store_, minutes, SmallOptions());
  ASSERT_TRUE(result.status().IsInvalid()) << result.status().ToString();
  EXPECT_NE(result.status().message().find("phishing"), std::string::npos) << result.status().message();
  EXPECT_NE(result.status().message().find(LabelsPath(minutes[2])), std::string::npos)
      << result.status().message();
}

TEST_F(EvaluateMinutesTest, AMinuteWithoutAColumnIsInvalidNamingTheColumn) {
  const auto minutes = Generate("w", 3, 500, 0.1);
  const std::string path = minutes[0].FsPath();
  auto table = ReadParquet(path);
  const int column = table->schema()->GetFieldIndex("session_id");
  ASSERT_GE(column, 0);
  table = table->RemoveColumn(column).ValueOrDie();
  WriteParquet(*table, path);
  const auto result = EvaluateMinutes(*store_, minutes, SmallOptions());
  ASSERT_TRUE(result.status().IsInvalid()) << result.status().ToString();
  EXPECT_NE(result.status().message().find("'session_id'"), std::string::npos) << result.status().message();
  EXPECT_NE(result.status().message().find(path), std::string::npos) << result.status().message();
}

TEST_F(EvaluateMinutesTest, FewerThanTwoMinutesIsInvalid) {
  const auto minutes = Generate("w", 1, 500, 0.1);
  const auto result = EvaluateMinutes(*store_, minutes, SmallOptions());
  ASSERT_TRUE(result.status().IsInvalid()) << result.status().ToString();
  EXPECT_NE(result.status().message().find("at least 2 minute objects"), std::string::npos)
      << result.status().message();
  EXPECT_TRUE(EvaluateMinutes(*store_, {}, SmallOptions()).status().IsInvalid());
}

TEST_F(EvaluateMinutesTest, ATrainingWindowWithoutFraudIsInvalid) {
  const auto minutes = Generate("w", 3, 500, 0.0);
  for (const auto& minute : minutes) ASSERT_TRUE(std::filesystem::exists(LabelsPath(minute)));
  const auto result = EvaluateMinutes(*store_, minutes, SmallOptions());
  ASSERT_TRUE(result.status().IsInvalid()) << result.status().ToString();
  EXPECT_NE(result.status().message().find("models need both classes"), std::string::npos)
      << result.status().message();
}

TEST_F(EvaluateMinutesTest, AWindowWithoutEventsIsInvalid) {
  const auto minutes = Generate("w", 3, 0, 0.1);
  const auto result = EvaluateMinutes(*store_, minutes, SmallOptions());
  ASSERT_TRUE(result.status().IsInvalid()) << result.status().ToString();
  const auto& message = result.status().message();
  EXPECT_NE(message.find("the training window (" + minutes[0].ToString() + " to " + minutes[1].ToString() +
                         ") has no events"),
            std::string::npos)
      << message;
}

TEST_F(EvaluateMinutesTest, AnEmptyTestWindowIsInvalidNamingIt) {
  const auto minutes = Generate("w", 3, 500, 0.1);
  const std::string path = minutes[2].FsPath();
  WriteParquet(*ReadParquet(path)->Slice(0, 0), path);
  const auto result = EvaluateMinutes(*store_, minutes, SmallOptions());
  ASSERT_TRUE(result.status().IsInvalid()) << result.status().ToString();
  EXPECT_NE(result.status().message().find("the test window (" + minutes[2].ToString()), std::string::npos)
      << result.status().message();
}

class EvaluateInteractionsTest : public storage::LocalStoreFixture {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
};

struct Row {
  std::string user, item;
  bool positive;
};

// Planted: rings of 6 positive users, each with 8 rows on its ring's own 3
// items (shared only within the ring); negatives are one-row users on 5
// popular items.
void Plant(int rings, int negatives, int first_ring, int first_negative, std::vector<Row>& rows) {
  for (int r = first_ring; r < first_ring + rings; ++r) {
    for (int u = 0; u < 6; ++u) {
      for (int k = 0; k < 8; ++k) {
        rows.push_back({"ring" + std::to_string(r) + "_u" + std::to_string(u),
                        "ring" + std::to_string(r) + "_item" + std::to_string((u + k) % 3), true});
      }
    }
  }
  for (int n = first_negative; n < first_negative + negatives; ++n) {
    rows.push_back({"n" + std::to_string(n), "popular" + std::to_string(n % 5), false});
  }
}

TEST_F(EvaluateInteractionsTest, PlantedRingsWithoutTimeAreFoundByTheTreesAndOnlyUsersAreScored) {
  std::vector<Row> rows;
  Plant(6, 300, 0, 0, rows);
  std::shuffle(rows.begin(), rows.end(), std::mt19937(7));
  std::string text = "user\titem\tlabel\n";
  for (const auto& r : rows) text += r.user + "\t" + r.item + "\t" + (r.positive ? "fraud" : "ok") + "\n";
  const auto path = Write("planted.tsv", text);
  ASSERT_OK_AND_ASSIGN(
      const auto evaluation,
      EvaluateInteractions(path, {.positive_label = "fraud", .negative_label = "ok"}, SmallOptions()));
  std::set<std::string> models;
  for (const auto& run : evaluation.runs) {
    EXPECT_EQ(run.kind, EntityKind::kUser) << run.model;
    EXPECT_GT(run.test_positives, 0U);
    models.insert(run.model);
  }
  EXPECT_EQ(evaluation.runs.size(), 14U);  // 7 models x 2 seeds
  EXPECT_EQ(models, (std::set<std::string>{"rules", "trees_node", "trees_graph", "trees_graph_shuffled",
                                           "gnn_sage", "gnn_hetero", "gnn_hetero_shuffled"}));
  // Positives have many rows, so the one-row rule ranks them last; the trees find them.
  EXPECT_GT(MeanPrAuc(evaluation, "trees_graph", EntityKind::kUser), 0.95);
  EXPECT_LT(MeanPrAuc(evaluation, "rules", EntityKind::kUser), 0.5);
}

TEST_F(EvaluateInteractionsTest, WithTimeTheLaterInteractionsAreTheTestSet) {
  // The earlier 360 rows (4 rings, 168 negatives) train, the later 240 (2 new
  // rings, 144 new negatives) test.
  std::vector<Row> early, late;
  Plant(4, 168, 0, 0, early);
  Plant(2, 144, 4, 168, late);
  ASSERT_EQ(early.size(), 360U);
  ASSERT_EQ(late.size(), 240U);
  std::shuffle(early.begin(), early.end(), std::mt19937(1));
  std::shuffle(late.begin(), late.end(), std::mt19937(2));
  early.insert(early.end(), late.begin(), late.end());
  // Written out of time order: the reader sorts by time.
  std::string text = "user,item,label,time\n";
  for (size_t i = early.size(); i-- > 0;) {
    const auto& r = early[i];
    text += r.user + "," + r.item + "," + (r.positive ? "1" : "0") + "," + std::to_string(1000 + i) + "\n";
  }
  const auto path = Write("timed.csv", text);
  ASSERT_OK_AND_ASSIGN(const auto evaluation, EvaluateInteractions(path, {}, SmallOptions()));
  EXPECT_EQ(evaluation.runs.size(), 14U);
  for (const auto& run : evaluation.runs) {
    EXPECT_EQ(run.kind, EntityKind::kUser) << run.model;
    EXPECT_EQ(run.test_entities, 2U * 6 + 144) << run.model;
    EXPECT_EQ(run.test_positives, 2U * 6) << run.model;
  }
  EXPECT_GT(MeanPrAuc(evaluation, "trees_graph", EntityKind::kUser), 0.95);
}

TEST_F(EvaluateInteractionsTest, ALabelThatIsNeitherValueIsInvalidNamingTheRowAndValue) {
  const auto path = Write("bad.csv", "user,item,label\na,x,1\nb,x,0\nc,y,maybe\n");
  const auto result = EvaluateInteractions(path, {}, SmallOptions());
  ASSERT_TRUE(result.status().IsInvalid()) << result.status().ToString();
  const auto& message = result.status().message();
  EXPECT_NE(message.find("row 3 "), std::string::npos) << message;
  EXPECT_NE(message.find("'maybe'"), std::string::npos) << message;
  EXPECT_NE(message.find(path), std::string::npos) << message;
}

TEST_F(EvaluateInteractionsTest, AMissingItemColumnIsInvalidNamingIt) {
  const auto path = Write("noitem.tsv", "user\tproduct\tlabel\na\tx\t1\nb\tx\t0\n");
  const auto result = EvaluateInteractions(path, {}, SmallOptions());
  ASSERT_TRUE(result.status().IsInvalid()) << result.status().ToString();
  EXPECT_NE(result.status().message().find("'item'"), std::string::npos) << result.status().message();
}

}  // namespace
}  // namespace pfad::fraud
