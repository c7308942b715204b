#include "pfad/gen/traffic_mix.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace pfad::gen {
namespace {

using events::EntityKind;
using events::Event;
using events::EventType;
using events::FraudLabel;
using events::Scenario;

constexpr int64_t kStartMs = 1736922600000;  // a minute boundary
constexpr int64_t kStepMs = 10;              // 6000 events a minute

struct Stream {
  std::vector<Event> events;
  std::vector<std::vector<FraudLabel>> minutes;  // labels per minute
};

// `n` events 10 ms apart, labels taken at each minute's end.
Stream Generate(const TrafficMixOptions& options, int64_t n) {
  auto mix = TrafficMix::Make(options);
  EXPECT_TRUE(mix.ok()) << mix.status().ToString();
  Stream run;
  int64_t minute_end = kStartMs + 60'000;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = kStartMs + i * kStepMs;
    if (t >= minute_end) {
      run.minutes.push_back((*mix)->TakeRangeLabels(minute_end));
      minute_end += 60'000;
    }
    run.events.push_back((*mix)->Next(t));
  }
  run.minutes.push_back((*mix)->TakeRangeLabels(minute_end));
  return run;
}

std::string Key(EntityKind kind, const events::Uuid& id) {
  return std::string(events::ToString(kind)) + ":" + id.ToString();
}

// Whole-run labels: the per-minute labels merged (first of the first, last of the last).
std::map<std::string, FraudLabel> Merge(const Stream& run) {
  std::map<std::string, FraudLabel> merged;
  for (const auto& minute : run.minutes) {
    for (const FraudLabel& l : minute) {
      auto [it, fresh] = merged.try_emplace(Key(l.kind, l.entity_id), l);
      if (!fresh) {
        EXPECT_EQ(it->second.scenario, l.scenario);
        EXPECT_LT(it->second.last_ms, l.first_ms);
        it->second.last_ms = l.last_ms;
      }
    }
  }
  return merged;
}

const Stream& Mixed() {
  static const Stream run = Generate({.reference = {.seed = 11}, .fraud_share = 0.1}, 600'000);
  return run;
}

TEST(TrafficMix, RejectsAShareOutsideZeroToOne) {
  EXPECT_TRUE(TrafficMix::Make({.fraud_share = 1.0}).status().IsInvalid());
  EXPECT_TRUE(TrafficMix::Make({.fraud_share = -0.1}).status().IsInvalid());
}

TEST(TrafficMix, ZeroShareIsTheReferenceStream) {
  const Stream run = Generate({.reference = {.seed = 3}, .fraud_share = 0}, 20'000);
  events::EventGenerator reference({.seed = 3});
  for (int64_t i = 0; i < 20'000; ++i) ASSERT_EQ(run.events[i], reference.Next(kStartMs + i * kStepMs));
  for (const auto& minute : run.minutes) EXPECT_TRUE(minute.empty());
}

TEST(TrafficMix, SameSeedSameEventsAndLabels) {
  const TrafficMixOptions options{.reference = {.seed = 5}, .fraud_share = 0.2};
  const Stream a = Generate(options, 100'000);
  const Stream b = Generate(options, 100'000);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.minutes, b.minutes);
  EXPECT_FALSE(Merge(a).empty());
  const Stream c = Generate({.reference = {.seed = 6}, .fraud_share = 0.2}, 100'000);
  EXPECT_NE(a.events, c.events);
}

TEST(TrafficMix, MinuteLabelsAreClippedToTheMinutesEvents) {
  const Stream& run = Mixed();
  for (size_t m = 0; m < run.minutes.size(); ++m) {
    const int64_t start = kStartMs + static_cast<int64_t>(m) * 60'000;
    for (const FraudLabel& l : run.minutes[m]) {
      EXPECT_GE(l.first_ms, start);
      EXPECT_LE(l.first_ms, l.last_ms);
      EXPECT_LT(l.last_ms, start + 60'000);
    }
  }
  // Whole-run first/last are the entity's first and last events.
  std::map<std::string, std::pair<int64_t, int64_t>> seen;
  for (const Event& e : run.events) {
    for (const auto& key : {Key(EntityKind::kUser, e.user_id), Key(EntityKind::kSession, e.session_id)}) {
      auto [it, fresh] = seen.try_emplace(key, e.event_timestamp_ms, e.event_timestamp_ms);
      it->second.second = e.event_timestamp_ms;
    }
  }
  for (const auto& [key, label] : Merge(run)) {
    ASSERT_TRUE(seen.contains(key)) << key;
    EXPECT_EQ(seen[key], std::make_pair(label.first_ms, label.last_ms)) << key;
  }
}

TEST(TrafficMix, LabelsMatchTheActorsBehaviour) {
  const Stream& run = Mixed();
  const auto labels = Merge(run);
  std::set<Scenario> scenarios;
  for (const auto& [key, l] : labels) scenarios.insert(l.scenario);
  EXPECT_EQ(scenarios.size(), static_cast<size_t>(events::kGeneratedScenarioCount));

  const auto label_of = [&](EntityKind kind, const events::Uuid& id) -> const FraudLabel* {
    const auto it = labels.find(Key(kind, id));
    return it == labels.end() ? nullptr : &it->second;
  };
  std::map<std::string, std::set<std::string>> session_users, user_sessions;
  std::map<std::string, int64_t> user_first_ms;
  for (const Event& e : run.events) {
    session_users[e.session_id.ToString()].insert(e.user_id.ToString());
    user_sessions[e.user_id.ToString()].insert(e.session_id.ToString());
    user_first_ms.try_emplace(e.user_id.ToString(), e.event_timestamp_ms);
    const FraudLabel* user = label_of(EntityKind::kUser, e.user_id);
    const FraudLabel* session = label_of(EntityKind::kSession, e.session_id);
    if (user && session) {
      EXPECT_EQ(user->scenario, session->scenario);
    }
    const auto scenario = session ? session->scenario : user ? user->scenario : Scenario::kPowerUser;
    if (!user && !session) continue;  // reference traffic
    switch (scenario) {
      case Scenario::kBot:
        EXPECT_TRUE(e.event_type == EventType::kViewProduct || e.event_type == EventType::kSearch);
        break;
      case Scenario::kCardTesting:
        EXPECT_TRUE(e.event_type == EventType::kCheckout || e.event_type == EventType::kPayment);
        if (e.status == events::EventStatus::kError) {
          EXPECT_TRUE(std::set<int32_t>({402, 403, 422, 429}).contains(*e.error_code));
        }
        break;
      case Scenario::kAccountTakeover:
        EXPECT_TRUE(e.event_type == EventType::kCheckout || e.event_type == EventType::kPayment);
        EXPECT_EQ(user, nullptr);  // the user is a reference user
        break;
      case Scenario::kCartHoarding:
        EXPECT_TRUE(e.event_type == EventType::kAddToCart || e.event_type == EventType::kViewProduct);
        break;
      default:
        break;
    }
  }
  for (const auto& [key, l] : labels) {
    if (l.kind != EntityKind::kSession) continue;
    const auto& users = session_users[l.entity_id.ToString()];
    if (l.scenario == Scenario::kFraudRing || l.scenario == Scenario::kSharedDevice) {
      EXPECT_GE(users.size(), 2U) << key;
    } else {
      EXPECT_EQ(users.size(), 1U) << key;
    }
    if (l.scenario == Scenario::kAccountTakeover) {
      const std::string& user = *users.begin();
      EXPECT_GE(user_sessions[user].size(), 2U);
      EXPECT_LE(user_first_ms[user], l.first_ms - 60'000);
    }
  }
}

TEST(TrafficMix, FraudUsersAreAboutTheRequestedShare) {
  const Stream& run = Mixed();
  std::set<std::string> users;
  for (const Event& e : run.events) users.insert(e.user_id.ToString());
  double fraud = 0, lookalike = 0, labelled_users = 0;
  for (const auto& [key, l] : Merge(run)) {
    labelled_users += l.kind == EntityKind::kUser;
    // An account takeover counts one fraud user (its session).
    if (l.kind == EntityKind::kUser || l.scenario == Scenario::kAccountTakeover) {
      (events::IsFraud(l.scenario) ? fraud : lookalike) += 1;
    }
  }
  const double reference = static_cast<double>(users.size()) - labelled_users;
  ASSERT_GT(reference, 1000);
  // Budgets: share / (1 - share) users per reference user each, so fraud is
  // `share` of reference + fraud users; actors still waiting for budget are
  // at most 60 users short.
  EXPECT_NEAR(fraud / (reference + fraud), 0.1, 0.015);
  EXPECT_NEAR(lookalike / (reference + lookalike), 0.1, 0.015);
}

TEST(TrafficMix, ErrorsAreAQuarterOutsideCardTesting) {
  const Stream& run = Mixed();
  std::set<std::string> card_sessions;
  for (const auto& [key, l] : Merge(run)) {
    if (l.scenario == Scenario::kCardTesting && l.kind == EntityKind::kSession) {
      card_sessions.insert(l.entity_id.ToString());
    }
  }
  double errors = 0, n = 0;
  for (const Event& e : run.events) {
    if (card_sessions.contains(e.session_id.ToString())) continue;
    ++n;
    errors += e.status == events::EventStatus::kError;
  }
  EXPECT_NEAR(errors / n, 0.25, 0.01);
}

TEST(TrafficMix, PerActorLabelsComeWhenActorsEnd) {
  auto mix =
      *TrafficMix::Make({.reference = {.seed = 2}, .fraud_share = 0.2, .labels = LabelCollection::kPerActor});
  std::vector<FraudLabel> ended;
  for (int64_t i = 0; i < 200'000; ++i) {
    mix->Next(kStartMs + i * kStepMs);
    for (auto& l : mix->TakeEndedLabels()) ended.push_back(l);
  }
  EXPECT_FALSE(ended.empty());
  EXPECT_TRUE(mix->TakeRangeLabels(INT64_MAX).empty());
  const auto active = mix->ActiveLabels();
  EXPECT_FALSE(active.empty());
  std::set<std::string> keys;
  for (const auto& l : ended) EXPECT_TRUE(keys.insert(Key(l.kind, l.entity_id)).second);
  for (const auto& l : active) EXPECT_TRUE(keys.insert(Key(l.kind, l.entity_id)).second);
}

}  // namespace
}  // namespace pfad::gen
