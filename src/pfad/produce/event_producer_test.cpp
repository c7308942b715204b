#include "pfad/produce/event_producer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>
#include <set>

namespace pfad::produce {
namespace {

std::vector<std::pair<int, events::Event>> Generate(const ProduceOptions& options, const Clock& clock) {
  std::vector<std::pair<int, events::Event>> out;
  const Status st =
      GenerateOnly(options, clock, [&](int w, const events::Event& e) { out.emplace_back(w, e); });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

TEST(ProducerProperties, DesignDefaultsThenOverrides) {
  ProduceOptions options;
  auto p = ProducerProperties(options, 3);
  EXPECT_EQ(p["acks"], "all");
  EXPECT_EQ(p["enable.idempotence"], "true");
  EXPECT_EQ(p["compression.type"], "snappy");
  EXPECT_EQ(p["batch.size"], "32768");
  EXPECT_EQ(p["linger.ms"], "20");
  EXPECT_EQ(p["client.id"], "pfad-produce-3");
  options.properties["linger.ms"] = "5";
  EXPECT_EQ(ProducerProperties(options, 0)["linger.ms"], "5");
}

TEST(Validate, RejectsBadOptionsBeforeAnythingIsSent) {
  ProduceOptions options;
  EXPECT_TRUE(Validate(options).ok());
  options.properties["no.such.thing"] = "1";
  EXPECT_TRUE(Validate(options).IsInvalid());
  ProduceOptions zero_workers;
  zero_workers.workers = 0;
  EXPECT_TRUE(Validate(zero_workers).IsInvalid());
  ProduceOptions backfill_without_count;
  backfill_without_count.minutes = 5;
  EXPECT_TRUE(Validate(backfill_without_count).IsInvalid());
}

TEST(GenerateOnly, SameSeedAndWorkersSameEvents) {
  ManualClock clock(1736922600000);
  ProduceOptions options;
  options.count = 1000;
  options.workers = 3;
  options.seed = 42;
  const auto a = Generate(options, clock);
  const auto b = Generate(options, clock);
  EXPECT_EQ(a, b);
  ASSERT_EQ(a.size(), 1000U);
  std::map<int, int> per_worker;
  for (const auto& [w, e] : a) ++per_worker[w];
  EXPECT_EQ(per_worker, (std::map<int, int>{{0, 334}, {1, 333}, {2, 333}}));
  options.seed = 43;
  EXPECT_NE(Generate(options, clock), a);
}

TEST(GenerateOnly, FraudShareMixesInActorsAndGivesEachEntityOneLabel) {
  ManualClock clock(1736922600000);
  ProduceOptions options;
  options.count = 200'000;
  options.workers = 2;
  options.minutes = 30;
  options.seed = 4;
  const auto reference = Generate(options, clock);
  options.fraud_share = 0.1;
  std::vector<std::pair<int, events::Event>> mixed;
  std::map<std::string, events::FraudLabel> labels;
  const Status st = GenerateOnly(
      options, clock, [&](int w, const events::Event& e) { mixed.emplace_back(w, e); },
      [&](int, const events::FraudLabel& l) {
        const auto key = std::string(events::ToString(l.kind)) + l.entity_id.ToString();
        EXPECT_TRUE(labels.emplace(key, l).second) << "labelled twice: " << key;
      });
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(mixed.size(), reference.size());
  EXPECT_NE(mixed, reference);
  std::set<int> scenarios;
  for (const auto& [key, l] : labels) scenarios.insert(static_cast<int>(l.scenario));
  EXPECT_EQ(scenarios.size(), static_cast<size_t>(events::kGeneratedScenarioCount));
  // Every labelled user's events fall within its label's lifetime span.
  for (const auto& [w, e] : mixed) {
    const auto it = labels.find("user" + e.user_id.ToString());
    if (it == labels.end()) continue;
    EXPECT_GE(e.event_timestamp_ms, it->second.first_ms);
    EXPECT_LE(e.event_timestamp_ms, it->second.last_ms);
  }
  EXPECT_EQ(events::LabelsTopic(options.topic), "user_interactions.labels");
  options.fraud_share = 1.0;
  EXPECT_TRUE(Validate(options).IsInvalid());
}

TEST(GenerateOnly, BackfillSpreadsTimestampsOverTheWindow) {
  ManualClock clock(1736922600000 + 12'345);  // 10:00:12.345 Tehran
  ProduceOptions options;
  options.count = 600;
  options.minutes = 5;
  const auto events = Generate(options, clock);
  std::set<int64_t> minutes;
  for (const auto& [w, e] : events) {
    EXPECT_GE(e.event_timestamp_ms, 1736922600000 - 5 * 60'000);
    EXPECT_LT(e.event_timestamp_ms, 1736922600000);
    minutes.insert(e.event_timestamp_ms / 60'000);
  }
  EXPECT_EQ(minutes.size(), 5U);
  options.start_time_ms = 1000;
  options.minutes = 1;
  for (const auto& [w, e] : Generate(options, clock)) {
    EXPECT_GE(e.event_timestamp_ms, 1000);
    EXPECT_LT(e.event_timestamp_ms, 61'000);
  }
}

TEST(GenerateOnly, LiveTimestampsComeFromTheClock) {
  ManualClock clock(777);
  ProduceOptions options;
  options.count = 3;
  for (const auto& [w, e] : Generate(options, clock)) EXPECT_EQ(e.event_timestamp_ms, 777);
}

TEST(ProduceOptions, ResolveTakesDefaultsThenFileThenEnvironment) {
  ::unsetenv("PFAD_KAFKA_BOOTSTRAP");
  ::unsetenv("PFAD_REGISTRY_URL");
  const auto defaults = ProduceOptions::Resolve(ConfigFile()).ValueOrDie();
  EXPECT_EQ(defaults.bootstrap, "127.0.0.1:9092");
  EXPECT_EQ(defaults.topic, "user_interactions");
  EXPECT_EQ(defaults.connect_timeout, std::chrono::seconds(10));
  const auto file = ConfigFile::Parse(
                        "[produce]\nregistry = \"http://file\"\nconnect_timeout_s = 2.5\n"
                        "[kafka]\n\"linger.ms\" = 5\n")
                        .ValueOrDie();
  auto resolved = ProduceOptions::Resolve(file).ValueOrDie();
  EXPECT_EQ(resolved.registry_url, "http://file");
  EXPECT_EQ(resolved.connect_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(resolved.properties, (kafka::Properties{{"linger.ms", "5"}}));
  ::setenv("PFAD_REGISTRY_URL", "http://env", 1);
  ::setenv("PFAD_KAFKA_BOOTSTRAP", "broker:1", 1);
  resolved = ProduceOptions::Resolve(file).ValueOrDie();
  EXPECT_EQ(resolved.registry_url, "http://env");
  EXPECT_EQ(resolved.bootstrap, "broker:1");
  ::unsetenv("PFAD_KAFKA_BOOTSTRAP");
  ::unsetenv("PFAD_REGISTRY_URL");
}

}  // namespace
}  // namespace pfad::produce
