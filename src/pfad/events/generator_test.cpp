#include "pfad/events/generator.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace pfad::events {
namespace {

std::vector<Event> Generate(const GeneratorOptions& options, int n) {
  EventGenerator generator(options);
  std::vector<Event> events;
  for (int i = 0; i < n; ++i) events.push_back(generator.Next(1000 + i));
  return events;
}

TEST(EventGenerator, SameSeedSameEventsOtherSeedOtherEvents) {
  EXPECT_EQ(Generate({.seed = 7}, 500), Generate({.seed = 7}, 500));
  EXPECT_NE(Generate({.seed = 7}, 500), Generate({.seed = 8}, 500));
}

TEST(EventGenerator, StreamIsStableAcrossBuilds) {
  // Pinned against an independent Python model of splitmix64 + xoshiro256**:
  // a change here changes every seeded file, test and benchmark.
  Rng rng(42);
  EXPECT_EQ(rng.Next(), 0x15780b2e0c2ec716ULL);
  EXPECT_EQ(rng.Next(), 0x6104d9866d113a7eULL);
  EXPECT_EQ(rng.Next(), 0xae17533239e499a1ULL);
}

TEST(EventGenerator, FollowsTheReferenceDistributions) {
  const auto events = Generate({.seed = 1, .error_rate = 0.25}, 50'000);
  std::array<int, kEventTypeCount> per_type{};
  int errors = 0;
  std::set<std::string> users;
  for (const Event& e : events) {
    ++per_type[static_cast<size_t>(e.event_type)];
    EXPECT_GE(e.request_latency_ms, 50);
    EXPECT_LE(e.request_latency_ms, 1500);
    if (e.status == EventStatus::kError) {
      ++errors;
      ASSERT_TRUE(e.error_code.has_value());
      EXPECT_GE(*e.error_code, 400);
      EXPECT_LE(*e.error_code, 599);
    } else {
      EXPECT_FALSE(e.error_code.has_value());
    }
    const bool has_product = e.event_type == EventType::kViewProduct || e.event_type == EventType::kAddToCart;
    EXPECT_EQ(e.product_id.has_value(), has_product);
    if (e.product_id) {
      EXPECT_GE(*e.product_id, 1);
      EXPECT_LE(*e.product_id, 10000);
    }
    users.insert(e.user_id.ToString());
  }
  for (int count : per_type) EXPECT_NEAR(count, 10'000, 400);
  EXPECT_NEAR(errors, 12'500, 400);
  // A new user/session with probability 0.01 per event: about 500 users.
  EXPECT_NEAR(static_cast<double>(users.size()), 500, 80);
  std::set<std::string> ids;
  for (const Event& e : events) ids.insert(e.event_id.ToString());
  EXPECT_EQ(ids.size(), events.size());
}

TEST(EventGenerator, EachEventDrawsItsErrorProbabilityWhenUnset) {
  // p ~ U(0, 0.5) per event: errors are 25 % on average for every seed (a
  // per-seed draw would scatter the seeds' rates over [0, 0.5)).
  for (uint64_t seed = 0; seed < 10; ++seed) {
    EventGenerator generator({.seed = seed});
    EXPECT_FALSE(generator.error_rate().has_value());
    int errors = 0;
    for (int i = 0; i < 20'000; ++i) errors += generator.Next(i).status == EventStatus::kError;
    EXPECT_NEAR(errors / 20'000.0, 0.25, 0.015) << "seed " << seed;
  }
  EXPECT_EQ(EventGenerator({.seed = 1, .error_rate = 0.3}).error_rate(), 0.3);
}

TEST(EventGenerator, TellsNewUsersAndSamplesRecentUsers) {
  EventGenerator generator({.seed = 4});
  EXPECT_EQ(generator.users_started(), 1);
  EXPECT_TRUE(generator.recent_users().empty());
  std::map<std::string, int64_t> first_ms;
  // 10 ms apart: about one new user a second, about half of them sampled.
  for (int i = 0; i < 100'000; ++i) {
    const Event e = generator.Next(1000 + i * 10);
    first_ms.try_emplace(e.user_id.ToString(), e.event_timestamp_ms);
  }
  // The current user may not have emitted yet.
  EXPECT_GE(generator.users_started(), static_cast<int64_t>(first_ms.size()));
  EXPECT_LE(generator.users_started(), static_cast<int64_t>(first_ms.size()) + 1);
  const auto& recent = generator.recent_users();
  ASSERT_EQ(recent.size(), EventGenerator::kRecentUsers);
  for (size_t i = 0; i < recent.size(); ++i) {
    EXPECT_EQ(first_ms[recent[i].user_id.ToString()], recent[i].first_ms);
    if (i > 0) {
      EXPECT_GE(recent[i].first_ms, recent[i - 1].first_ms + EventGenerator::kUserSampleMs);
    }
  }
  EXPECT_GT(recent.back().first_ms, 1000 + 999'990 - 10'000);
  // At a high rate the sample still reaches back over the whole minute.
  EventGenerator fast({.seed = 4});
  for (int i = 0; i < 1'000'000; ++i) fast.Next(i / 16);  // 16 events a millisecond, 62.5 s
  EXPECT_LE(fast.recent_users().front().first_ms, 1000);
  EXPECT_NEAR(static_cast<double>(fast.recent_users().size()), 62, 2);
}

TEST(Rng, UniformCoversItsInclusiveRange) {
  Rng rng(3);
  std::set<int64_t> seen;
  for (int i = 0; i < 10'000; ++i) {
    const int64_t v = rng.Uniform(-2, 2);
    ASSERT_GE(v, -2);
    ASSERT_LE(v, 2);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 5U);
}

}  // namespace
}  // namespace pfad::events
