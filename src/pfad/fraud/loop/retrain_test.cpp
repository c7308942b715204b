#include "pfad/fraud/loop/retrain.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "pfad/fraud/graph/truth.h"
#include "pfad/fraud/graph/window_events.h"
#include "pfad/fraud/testing.h"
#include "pfad/gen/minute_writer.h"
#include "pfad/labels/label_store.h"
#include "pfad/storage/local_store_fixture.h"

namespace pfad::fraud {
namespace {

using storage::ObjectUri;

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class RetrainTest : public storage::LocalStoreFixture {
 protected:
  // Minutes as `pfad ingest` leaves them (no labels beside them), and their labels in the
  // store as the labels consumer writes them; `flip` turns every label into not_fraud.
  void Generate(bool flip = false) {
    const auto calendar = events::MinuteCalendar::Open().ValueOrDie();
    gen::SyntheticMinutes spec{.first = calendar.Parse("2026-11-01 10:00").ValueOrDie(),
                               .minutes = 12,
                               .rows = 8000,
                               .generator = {.seed = 11},
                               .fraud_share = 0.1};
    ASSERT_TRUE(gen::WriteSyntheticMinutes({.target = Uri("w"), .store = store_}, calendar, spec).ok());
    minutes_ = ListMinuteObjects(*store_, Uri("w")).ValueOrDie();
    std::vector<events::LabelRecord> records;
    for (const auto& minute : minutes_) {
      const auto beside = BesideMinute(minute, events::kLabelsSuffix);
      const auto index = ReadLabels(*store_, {minute}).ValueOrDie();
      for (int k = 0; k < 2; ++k) {
        for (const auto& [id, scenario] : index.by_kind[k]) {
          events::LabelRecord r;
          r.label.kind = static_cast<events::EntityKind>(k);
          r.label.entity_id = events::Uuid::Parse(id).ValueOrDie();
          r.label.scenario = flip ? events::Scenario::kNotFraud : scenario;
          const auto m = calendar.Parse(minute.Basename().substr(0, 16)).ValueOrDie();
          r.label.first_ms = m.start_ms;
          r.label.last_ms = m.end_ms - 1;
          r.source = "chargeback";
          r.labelled_at = m.end_ms + 86'400'000;  // a day late
          r.ref = "labels/0/" + std::to_string(records.size());
          records.push_back(r);
        }
      }
      ASSERT_TRUE(store_->Delete(beside).ok());
    }
    ASSERT_TRUE(labels::WriteLabelRecords(*store_, Uri("w").Child("labels"), "kafka-0-0", records).ok());
  }

  RetrainOptions Options(double margin = 0) {
    RetrainOptions o;
    o.minutes = Uri("w");
    o.model_file = (dir_ / "model.bin").string();
    o.hours = 1;
    o.holdout_minutes = 4;
    o.margin = margin;
    o.train.model = "trees_graph";
    o.train.trees.rounds = 20;
    o.train.window_minutes = 4;
    return o;
  }

  std::vector<ObjectUri> minutes_;
};

TEST_F(RetrainTest, TheFirstCandidateIsPromotedThenAWeakerOneIsNot) {
  Generate();
  ASSERT_OK_AND_ASSIGN(const auto first, Retrain(Options()));
  EXPECT_TRUE(first.promoted) << first.reason;
  EXPECT_EQ(first.version, 1);
  EXPECT_EQ(first.train_minutes, 8);
  EXPECT_EQ(first.holdout_minutes, 4);
  EXPECT_GT(first.train_labels.from_store, 0);
  EXPECT_EQ(first.train_labels.beside, 0);
  EXPECT_GT(first.train_labels.positive[1], 0);
  ASSERT_TRUE(first.challenger_pr_auc.has_value());
  EXPECT_GT(*first.challenger_pr_auc, 0.5);
  EXPECT_FALSE(first.champion_pr_auc.has_value());
  ASSERT_TRUE(first.challenger_precision.has_value());  // the alerts, against the labels that came
  EXPECT_GT(*first.challenger_precision, 0.5);
  EXPECT_LE(*first.challenger_precision, 1.0);
  EXPECT_NE(first.reason.find("no champion"), std::string::npos) << first.reason;
  const std::string promoted = ReadAll(dir_ / "model.bin");
  EXPECT_EQ(promoted, ReadAll(dir_ / "model.bin.v1"));
  ASSERT_OK_AND_ASSIGN(const auto model, FraudModel::Parse(promoted));
  EXPECT_NE(model.trained_on.find("registry v1"), std::string::npos) << model.trained_on;

  // The same training again: as good as the champion, so promoted (at least, margin 0) ...
  ASSERT_OK_AND_ASSIGN(const auto second, Retrain(Options()));
  EXPECT_TRUE(second.promoted) << second.reason;
  ASSERT_TRUE(second.champion_pr_auc.has_value());
  EXPECT_DOUBLE_EQ(*second.challenger_pr_auc, *second.champion_pr_auc);
  // ... but not when it must beat the champion by a margin; the model file stays.
  const std::string before = ReadAll(dir_ / "model.bin");
  ASSERT_OK_AND_ASSIGN(const auto third, Retrain(Options(/*margin=*/0.05)));
  EXPECT_FALSE(third.promoted);
  EXPECT_NE(third.reason.find("below the champion"), std::string::npos) << third.reason;
  EXPECT_EQ(ReadAll(dir_ / "model.bin"), before);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "model.bin.v3"));  // the candidate is kept

  ASSERT_OK_AND_ASSIGN(const auto registry, ReadRegistry(Options().model_file));
  ASSERT_EQ(registry.size(), 3u);
  EXPECT_EQ(registry[2].version, 3);
  EXPECT_EQ(registry[2].reason, third.reason);
  EXPECT_EQ(registry[0].train_labels.positive[1], first.train_labels.positive[1]);
  EXPECT_EQ(registry[1].champion_pr_auc, second.champion_pr_auc);
  EXPECT_EQ(registry[1].champion_precision, second.champion_precision);
}

TEST_F(RetrainTest, WithoutAPositiveLabelNothingIsPromotedAndTheRecordSaysWhy) {
  Generate(/*flip=*/true);
  ASSERT_OK_AND_ASSIGN(const auto record, Retrain(Options()));
  EXPECT_FALSE(record.promoted);
  EXPECT_NE(record.reason.find("no positive label"), std::string::npos) << record.reason;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "model.bin"));
  ASSERT_OK_AND_ASSIGN(const auto registry, ReadRegistry(Options().model_file));
  ASSERT_EQ(registry.size(), 1u);
  EXPECT_FALSE(registry[0].promoted);
}

TEST_F(RetrainTest, NoMinutesOrACorruptRegistryAreSaid) {
  std::filesystem::create_directories(dir_ / "w");
  ASSERT_OK_AND_ASSIGN(const auto none, Retrain(Options()));
  EXPECT_FALSE(none.promoted);
  EXPECT_NE(none.reason.find("no minute objects"), std::string::npos) << none.reason;
  std::ofstream(RegistryPath(Options().model_file), std::ios::app) << "{not json\n";
  const auto st = Retrain(Options()).status();
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("line 2"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace pfad::fraud
