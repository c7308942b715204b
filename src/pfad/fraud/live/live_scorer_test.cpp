#include "pfad/fraud/live/live_scorer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>

#include "pfad/fraud/graph/truth.h"
#include "pfad/fraud/graph/window_events.h"
#include "pfad/fraud/live/investigation.h"
#include "pfad/fraud/testing.h"
#include "pfad/gen/minute_writer.h"
#include "pfad/storage/local_store_fixture.h"

namespace pfad::fraud {
namespace {

using analyze::FraudSection;
using events::EntityKind;
using storage::ObjectUri;

EntityScore Score(EntityKind kind, std::string id, double score, bool flagged) {
  return {kind, std::move(id), score, flagged, "f=" + std::to_string(score)};
}

ModelSummary TwoThresholdModel() { return {"trees_graph v1", {0.5, 0.8}}; }

TEST(ScoreHistogram, EqualWidthBinsWithOneInTheLastBin) {
  const std::vector<EntityScore> scores = {
      Score(EntityKind::kUser, "a", 0.0, false), Score(EntityKind::kUser, "b", 0.09, false),
      Score(EntityKind::kUser, "c", 0.1, false), Score(EntityKind::kUser, "d", 0.95, true),
      Score(EntityKind::kUser, "e", 1.0, true),  Score(EntityKind::kSession, "s", 0.55, false)};
  EXPECT_EQ(ScoreHistogram(scores, EntityKind::kUser, 10),
            (std::vector<int64_t>{2, 1, 0, 0, 0, 0, 0, 0, 0, 2}));
  EXPECT_EQ(ScoreHistogram(scores, EntityKind::kSession, 10),
            (std::vector<int64_t>{0, 0, 0, 0, 0, 1, 0, 0, 0, 0}));
}

TEST(BuildScoredSection, CountsThresholdsAndTheTopOverBothKinds) {
  const std::vector<EntityScore> scores = {
      Score(EntityKind::kUser, "u1", 0.9, true), Score(EntityKind::kUser, "u2", 0.2, false),
      Score(EntityKind::kUser, "u3", 0.6, true), Score(EntityKind::kSession, "s1", 0.95, true),
      Score(EntityKind::kSession, "s2", 0.7, false)};
  const WindowSummary window{10, {"2026-12-02_10-05", "2026-12-02_10-07"}, 42};
  const FraudSection f = BuildScoredSection(TwoThresholdModel(), window, scores, 3);
  EXPECT_EQ(f.state, FraudSection::State::kScored);
  EXPECT_EQ(f.model, "trees_graph v1");
  EXPECT_EQ(f.window, (FraudSection::Window{10, 2, 42, "2026-12-02_10-05", "2026-12-02_10-07"}));
  EXPECT_EQ(f.threshold[0], 0.5);
  EXPECT_EQ(f.threshold[1], 0.8);
  EXPECT_EQ(f.scored[0], 3);
  EXPECT_EQ(f.scored[1], 2);
  EXPECT_EQ(f.flagged[0], 2);
  EXPECT_EQ(f.flagged[1], 1);
  ASSERT_EQ(f.histogram[0].size(), 10u);
  ASSERT_EQ(f.top.size(), 3u);
  EXPECT_EQ(f.top[0].entity_id, "s1");
  EXPECT_EQ(f.top[0].entity_kind, "session");
  EXPECT_EQ(f.top[1].entity_id, "u1");
  EXPECT_EQ(f.top[2].entity_id, "s2");
  EXPECT_FALSE(f.top[2].is_fraud);
  EXPECT_EQ(f.top[1].top_features, scores[0].top_features);
  EXPECT_TRUE(BuildScoredSection(TwoThresholdModel(), window, scores, 0).top.empty());
}

TEST(SelectNewAlerts, OnlyFlaggedEntitiesNotSeenBeforeHighestFirst) {
  const std::vector<EntityScore> scores = {
      Score(EntityKind::kUser, "u1", 0.9, true), Score(EntityKind::kUser, "u2", 0.2, false),
      Score(EntityKind::kUser, "u3", 0.6, true), Score(EntityKind::kSession, "u3", 0.95, true)};
  const auto alerts =
      SelectNewAlerts(TwoThresholdModel(), "2026-12-02_10-07", scores, {{EntityKind::kUser, "u1"}});
  ASSERT_EQ(alerts.size(), 2u);
  // The same id as a session is another entity.
  EXPECT_EQ(alerts[0].kind, EntityKind::kSession);
  EXPECT_EQ(alerts[0].threshold, 0.8);
  EXPECT_EQ(alerts[1].entity_id, "u3");
  EXPECT_EQ(alerts[1].kind, EntityKind::kUser);
  const auto json = nlohmann::json::parse(AlertToJson(alerts[1]));
  EXPECT_EQ(json, (nlohmann::json{{"entity_kind", "user"},
                                  {"entity_id", "u3"},
                                  {"fraud_score", 0.6},
                                  {"threshold", 0.5},
                                  {"model", "trees_graph v1"},
                                  {"minute", "2026-12-02_10-07"},
                                  {"top_features", scores[2].top_features}}));
}

TEST(FraudConfig, DefaultsFileAndEnvironment) {
  auto file =
      ConfigFile::Parse("[fraud]\nmodel = \"/m\"\ntop = 3\nalerts_topic = \"t.fraud\"\n").ValueOrDie();
  ASSERT_OK_AND_ASSIGN(const auto c, FraudConfig::Resolve(file));
  EXPECT_EQ(c.model, "/m");
  EXPECT_EQ(c.top, 3);
  EXPECT_EQ(c.alerts_topic, "t.fraud");
  ASSERT_OK_AND_ASSIGN(const auto d, FraudConfig::Resolve(ConfigFile()));
  EXPECT_EQ(d.alerts_topic, events::AlertsTopic(events::kEventsTopic));
  EXPECT_EQ(d.top, 10);
}

class LiveScorerTest : public storage::LocalStoreFixture {
 protected:
  void Generate(int64_t minutes, double fraud_share, const std::string& dir) {
    const auto calendar = events::MinuteCalendar::Open().ValueOrDie();
    gen::SyntheticMinutes spec{.first = calendar.Parse("2026-11-01 10:00").ValueOrDie(),
                               .minutes = minutes,
                               .rows = 8000,
                               .generator = {.seed = 9},
                               .fraud_share = fraud_share};
    ASSERT_TRUE(gen::WriteSyntheticMinutes({.target = Uri(dir), .store = store_}, calendar, spec).ok());
  }
  std::string WriteModel(const std::string& bytes) {
    const std::string path = Uri("model.pfad").ToString();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  ObjectUri Minute(const std::string& dir, const std::string& name) {
    return Uri(dir + "/" + name + ".parquet");
  }
};

TEST_F(LiveScorerTest, WithoutAModelTheSectionSaysWhyAndNothingIsWritten) {
  Generate(1, 0.1, "w");
  const auto minute = Minute("w", "2026-11-01_10-00");
  LiveScorer none({}, nullptr);
  ASSERT_OK_AND_ASSIGN(const auto a, none.ScoreMinute(*store_, minute));
  EXPECT_EQ(a.state, FraudSection::State::kNotRun);
  EXPECT_NE(a.reason.find("no fraud model configured"), std::string::npos);

  LiveScorer missing({.model = Uri("nope.pfad").ToString()}, nullptr);
  ASSERT_OK_AND_ASSIGN(const auto b, missing.ScoreMinute(*store_, minute));
  EXPECT_EQ(b.state, FraudSection::State::kNotRun);
  EXPECT_NE(b.reason.find("nope.pfad: no such file"), std::string::npos) << b.reason;

  LiveScorer corrupt({.model = WriteModel("PFAD-FRAUD-MODEL 1\n{not json")}, nullptr);
  ASSERT_OK_AND_ASSIGN(const auto c, corrupt.ScoreMinute(*store_, minute));
  EXPECT_EQ(c.state, FraudSection::State::kNotRun);
  EXPECT_NE(c.reason.find("model.pfad: corrupt"), std::string::npos) << c.reason;
  EXPECT_FALSE(store_->Stat(BesideMinute(minute, events::kScoresSuffix)).ValueOrDie().exists);
}

TEST_F(LiveScorerTest, ScoresTheWindowAndAlertsEachFlaggedEntityOnceAcrossMinutesAndRestarts) {
  Generate(4, 0.1, "train");
  ASSERT_OK_AND_ASSIGN(const auto train, ListMinuteObjects(*store_, Uri("train")));
  ASSERT_OK_AND_ASSIGN(const auto model, TrainModel(*store_, train, TrainOptions{}));
  ASSERT_OK_AND_ASSIGN(const auto bytes, model.Serialize());
  const std::string path = WriteModel(bytes);
  // Live minutes of another seed, without their labels.
  const auto calendar = events::MinuteCalendar::Open().ValueOrDie();
  gen::SyntheticMinutes spec{.first = calendar.Parse("2026-11-02 10:00").ValueOrDie(),
                             .minutes = 3,
                             .rows = 8000,
                             .generator = {.seed = 11},
                             .fraud_share = 0.1};
  ASSERT_TRUE(gen::WriteSyntheticMinutes({.target = Uri("live"), .store = store_}, calendar, spec).ok());

  std::vector<Alert> sent;
  const auto sink = [&sent](const std::vector<Alert>& alerts) {
    sent.insert(sent.end(), alerts.begin(), alerts.end());
    return Status::OK();
  };
  int64_t new_alerts = 0;
  {
    LiveScorer scorer({.model = path, .top = 5}, sink);
    for (const char* name : {"2026-11-02_10-00", "2026-11-02_10-01"}) {
      ASSERT_OK_AND_ASSIGN(const auto f, scorer.ScoreMinute(*store_, Minute("live", name)));
      ASSERT_EQ(f.state, FraudSection::State::kScored) << f.reason;
      EXPECT_EQ(f.window.last, name);
      EXPECT_EQ(f.window.first, "2026-11-02_10-00");
      EXPECT_EQ(f.top.size(), 5u);
      EXPECT_GT(f.flagged[0] + f.flagged[1], 0);
      EXPECT_TRUE(
          store_->Stat(BesideMinute(Minute("live", name), events::kScoresSuffix)).ValueOrDie().exists);
      new_alerts += f.new_alerts;
    }
  }
  // A restart: a new scorer knows only what the earlier scores objects say.
  LiveScorer restarted({.model = path}, sink);
  ASSERT_OK_AND_ASSIGN(const auto f, restarted.ScoreMinute(*store_, Minute("live", "2026-11-02_10-02")));
  EXPECT_EQ(f.window.objects, 3);
  new_alerts += f.new_alerts;
  EXPECT_GT(sent.size(), 0u);
  EXPECT_EQ(static_cast<int64_t>(sent.size()), new_alerts);
  std::set<EntityKey> unique;
  for (const auto& a : sent)
    EXPECT_TRUE(unique.emplace(a.kind, a.entity_id).second) << a.entity_id << " twice";

  // A failed publish fails the minute and writes no scores object, so a retry sends them.
  const auto minute = Minute("live", "2026-11-02_10-02");
  ASSERT_TRUE(store_->Delete(BesideMinute(minute, events::kScoresSuffix)).ok());
  ASSERT_TRUE(store_->Delete(BesideMinute(Minute("live", "2026-11-02_10-01"), events::kScoresSuffix)).ok());
  LiveScorer failing({.model = path},
                     [](const std::vector<Alert>&) { return Status::IOError("broker down"); });
  const auto failed = failing.ScoreMinute(*store_, minute);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("broker down"), std::string::npos);
  EXPECT_FALSE(store_->Stat(BesideMinute(minute, events::kScoresSuffix)).ValueOrDie().exists);
}

TEST_F(LiveScorerTest, WindowEndingWithCountsOnlyMinutesThatExistInTheModelsWindow) {
  Generate(3, 0.0, "w");  // 10:00 .. 10:02
  ASSERT_OK_AND_ASSIGN(const auto two, WindowEndingWith(*store_, Minute("w", "2026-11-01_10-02"), 2));
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].Basename(), "2026-11-01_10-01.parquet");
  ASSERT_OK_AND_ASSIGN(const auto later, WindowEndingWith(*store_, Minute("w", "2026-11-01_10-11"), 10));
  ASSERT_EQ(later.size(), 1u);  // 10:02..10:11: only 10:02 exists
  EXPECT_EQ(later[0].Basename(), "2026-11-01_10-02.parquet");
  // Across midnight.
  ASSERT_OK_AND_ASSIGN(const auto midnight, WindowEndingWith(*store_, Minute("w", "2026-11-02_00-01"), 3));
  EXPECT_TRUE(midnight.empty());
  EXPECT_TRUE(WindowEndingWith(*store_, Uri("w/x.parquet"), 3).status().IsInvalid());
}

TEST_F(LiveScorerTest, InvestigationsExplainListAndDrawTheFlaggedEntities) {
  Generate(4, 0.1, "train");
  ASSERT_OK_AND_ASSIGN(const auto train, ListMinuteObjects(*store_, Uri("train")));
  TrainOptions options;
  options.model = "trees_graph";
  ASSERT_OK_AND_ASSIGN(const auto model, TrainModel(*store_, train, options));
  ASSERT_OK_AND_ASSIGN(const auto bytes, model.Serialize());
  const std::string path = WriteModel(bytes);
  const auto calendar = events::MinuteCalendar::Open().ValueOrDie();
  gen::SyntheticMinutes spec{.first = calendar.Parse("2026-11-02 10:00").ValueOrDie(),
                             .minutes = 2,
                             .rows = 8000,
                             .generator = {.seed = 11},
                             .fraud_share = 0.1};
  ASSERT_TRUE(gen::WriteSyntheticMinutes({.target = Uri("live"), .store = store_}, calendar, spec).ok());
  const auto minute = Minute("live", "2026-11-02_10-01");
  const auto newest = calendar.Parse("2026-11-02 10:01").ValueOrDie();
  const auto first = calendar.Parse("2026-11-02 10:00").ValueOrDie();

  nlohmann::json by_path[2];
  for (const bool full : {true, false}) {
    LiveScorer scorer({.model = path, .top = 5, .investigations = 8, .full = full}, nullptr);
    if (!full) {
      ASSERT_TRUE(scorer.ScoreMinute(*store_, Minute("live", "2026-11-02_10-00")).ok());
    }
    ASSERT_OK_AND_ASSIGN(const auto f, scorer.ScoreMinute(*store_, minute));
    ASSERT_FALSE(f.investigations.empty());
    const auto list = nlohmann::json::parse(f.investigations);
    ASSERT_EQ(list.size(), 8u);
    // The report's top list comes first, in its order.
    for (size_t i = 0; i < f.top.size(); ++i) EXPECT_EQ(list[i]["entity_id"], f.top[i].entity_id);
    for (const auto& inv : list) {
      EXPECT_EQ(inv["minute"], "2026-11-02_10-01");
      EXPECT_EQ(inv["model"], model.Label());
      const auto& why = inv["why"];
      ASSERT_FALSE(why.empty()) << inv.dump();
      for (const auto& w : why) {
        ASSERT_TRUE(w["percentile"].is_number()) << w.dump();
        EXPECT_GE(w["percentile"].get<double>(), 0);
        EXPECT_LE(w["percentile"].get<double>(), 100);
        EXPECT_NE(w["text"].get<std::string>().find(" than "), std::string::npos) << w.dump();
      }
      // Events newest first, each the entity's, within the window (live: the newest minute).
      const auto& ev = inv["events"];
      const std::string key = inv["entity_kind"] == "user" ? "user_id" : "session_id";
      for (size_t i = 0; i < ev.size(); ++i) {
        EXPECT_EQ(ev[i][key], inv["entity_id"]);
        if (i > 0) {
          EXPECT_LE(ev[i]["ts_ms"].get<int64_t>(), ev[i - 1]["ts_ms"].get<int64_t>());
        }
        EXPECT_GE(ev[i]["ts_ms"].get<int64_t>(), full ? first.start_ms : newest.start_ms);
        EXPECT_LT(ev[i]["ts_ms"].get<int64_t>(), newest.end_ms);
      }
      EXPECT_LE(inv["first_ms"].get<int64_t>(), inv["last_ms"].get<int64_t>());
      // The neighbourhood: the centre first, every link between drawn nodes.
      const auto& nodes = inv["neighbours"]["nodes"];
      ASSERT_GE(nodes.size(), 2u) << inv.dump();
      EXPECT_TRUE(nodes[0]["center"].get<bool>());
      EXPECT_LE(nodes.size(), 40u);
      std::set<std::string> keys;
      for (const auto& n : nodes) EXPECT_TRUE(keys.insert(n["key"].get<std::string>()).second);
      for (const auto& l : inv["neighbours"]["links"]) {
        EXPECT_TRUE(keys.contains(l["source"].get<std::string>())) << l.dump();
        EXPECT_TRUE(keys.contains(l["target"].get<std::string>())) << l.dump();
      }
    }
    by_path[full ? 0 : 1] = list;
  }
  // The live window and the full rebuild pick and explain the same entities (near-ties in score
  // may order them differently; which holders of a busy product are drawn may differ too).
  std::map<std::string, const nlohmann::json*> live;
  for (const auto& inv : by_path[1]) live[inv["entity_id"].get<std::string>()] = &inv;
  for (const auto& inv : by_path[0]) {
    const auto it = live.find(inv["entity_id"].get<std::string>());
    ASSERT_NE(it, live.end()) << inv["entity_id"];
    EXPECT_NEAR(inv["fraud_score"].get<double>(), (*it->second)["fraud_score"].get<double>(), 1e-9);
    ASSERT_EQ(inv["why"].size(), (*it->second)["why"].size());
    for (size_t w = 0; w < inv["why"].size(); ++w) {
      EXPECT_EQ(inv["why"][w]["feature"], (*it->second)["why"][w]["feature"]);
      EXPECT_NEAR(inv["why"][w]["percentile"].get<double>(),
                  (*it->second)["why"][w]["percentile"].get<double>(), 1e-6);
    }
  }
}

TEST(Investigations, FeaturesInWordsAndWhoIsPicked) {
  EXPECT_EQ(DescribeFeature("payment_error_share", 0.95, 99.8, 0.1, EntityKind::kSession),
            "payment errors 0.95 — higher than 99.8 % of sessions");
  // Ties at zero: "lower than" the share strictly above, never "lower than 100 %" of a tie.
  EXPECT_EQ(DescribeFeature("n_error", 0, 0, 40, EntityKind::kUser),
            "failed events 0 — lower than 40.0 % of users");
  EXPECT_EQ(DescribeFeature("session_max_share_error", 1, 97, 0, EntityKind::kUser),
            "share of failed events (max over its sessions) 1 — higher than 97.0 % of users");
  const std::vector<EntityScore> scores = {
      Score(EntityKind::kUser, "u1", 0.9, true),     Score(EntityKind::kUser, "u2", 0.2, false),
      Score(EntityKind::kUser, "u3", 0.6, true),     Score(EntityKind::kSession, "s1", 0.95, true),
      Score(EntityKind::kSession, "s2", 0.7, false), Score(EntityKind::kSession, "s3", 0.55, true)};
  // The top 2, then the alerts, then the other flagged by score, up to the limit.
  EXPECT_EQ(PickInvestigated(scores, 2, {{EntityKind::kSession, "s3"}}, 4),
            (std::vector<size_t>{3, 0, 5, 2}));
  EXPECT_EQ(PickInvestigated(scores, 2, {}, 0), std::vector<size_t>{});
  EXPECT_EQ(PickInvestigated(scores, 0, {}, 10), (std::vector<size_t>{3, 0, 2, 5}));
}

}  // namespace
}  // namespace pfad::fraud
