// The sliced window against its definition: after every add, evict and
// replace, the combined features equal a full rebuild from the same events.
#include "pfad/fraud/graph/window_slices.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "pfad/events/generator.h"
#include "pfad/fraud/testing.h"

namespace pfad::fraud {
namespace {

using events::EventType;

struct Ev {
  std::string user, session;
  std::optional<int32_t> product;
  EventType type = EventType::kViewProduct;
  bool error = false;
  std::optional<int32_t> code;
  int32_t latency = 0;
  int64_t time = 0;
  events::Uuid id;
};

constexpr int64_t kMinuteMs = 60'000;

// Random events of one minute: users and sessions from small pools (so many span
// minutes), some products null, ties in time, a few long-lived entities.
std::vector<Ev> RandomMinute(events::Rng& rng, int64_t minute, int events) {
  std::vector<Ev> out;
  for (int i = 0; i < events; ++i) {
    Ev e;
    e.user = "u" + std::to_string(rng.Uniform(0, 40));
    e.session = "s" + std::to_string(rng.Uniform(0, 60));
    if (rng.Uniform(0, 9) > 0) e.product = static_cast<int32_t>(rng.Uniform(1, 30));
    e.type = static_cast<EventType>(rng.Uniform(0, events::kEventTypeCount - 1));
    e.error = rng.Uniform(0, 3) == 0;
    if (e.error && rng.Uniform(0, 4) > 0) e.code = static_cast<int32_t>(400 + rng.Uniform(0, 5));
    e.latency = static_cast<int32_t>(rng.Uniform(1, 2000));
    // Coarse times inside the minute: ties happen, also at the minute's first millisecond.
    e.time = minute * kMinuteMs + rng.Uniform(0, 40) * 1500;
    e.id = events::Uuid::V4(static_cast<uint64_t>(rng.Uniform(0, 1 << 30)), static_cast<uint64_t>(i));
    out.push_back(std::move(e));
  }
  return out;
}

WindowEvents Build(const std::vector<const std::vector<Ev>*>& minutes) {
  WindowBuilder b;
  for (const auto* m : minutes) {
    for (const Ev& e : *m)
      b.Add(e.user, e.session, e.product, e.type, e.error, e.code, e.latency, e.time, e.id);
  }
  return b.Finish();
}

bool Close(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max({1.0, std::abs(a), std::abs(b)}); }

void ExpectSameTable(const FeatureTable& full, const FeatureTable& live, const std::string& where) {
  ASSERT_EQ(full.rows(), live.rows()) << where;
  ASSERT_EQ(full.names, live.names) << where;
  std::map<std::string, size_t> rows;
  for (size_t r = 0; r < live.rows(); ++r) rows[live.ids[r]] = r;
  for (size_t r = 0; r < full.rows(); ++r) {
    const auto it = rows.find(full.ids[r]);
    ASSERT_NE(it, rows.end()) << where << ": " << full.ids[r] << " missing";
    for (size_t c = 0; c < full.cols(); ++c) {
      ASSERT_TRUE(Close(full.at(r, c), live.at(it->second, c)))
          << where << ": " << full.ids[r] << " " << full.names[c] << " full=" << full.at(r, c)
          << " live=" << live.at(it->second, c);
    }
  }
}

// The window of `minutes` from the state against the full rebuild of their events.
void ExpectMatchesFull(const SlicedWindow& state, const std::map<int64_t, std::vector<Ev>>& data,
                       const std::vector<int64_t>& minutes, const std::string& where) {
  std::vector<const std::vector<Ev>*> parts;
  for (const int64_t m : minutes) parts.push_back(&data.at(m));
  const WindowEvents events = Build(parts);
  const WindowGraph graph = BuildGraph(events);
  const GraphFeatures full = WithNeighbours(ComputeNodeFeatures(events, graph), graph.edges);
  ASSERT_OK_AND_ASSIGN(const CombinedWindow combined, state.Combine(minutes, true));
  EXPECT_EQ(combined.events, static_cast<int64_t>(events.size()));
  const GraphFeatures live = WithNeighbours(combined.nodes, combined.links);
  ExpectSameTable(full.users, live.users, where + " users");
  ExpectSameTable(full.sessions, live.sessions, where + " sessions");
  // The product links (GNN only) as sets of (product degree).
  ASSERT_EQ(combined.links.product_users.rows(), events.product_ids.size());
  EXPECT_EQ(combined.links.product_users.items.size(), graph.edges.product_users.items.size());
  EXPECT_EQ(combined.links.product_sessions.items.size(), graph.edges.product_sessions.items.size());
}

TEST(SlicedWindowTest, SlidingWindowEqualsTheFullRebuildAfterEveryMove) {
  events::Rng rng(7);
  std::map<int64_t, std::vector<Ev>> data;
  SlicedWindow state;
  constexpr int kWindow = 4;
  for (int64_t m = 100; m < 112; ++m) {
    data[m] = m == 105 ? std::vector<Ev>{} : RandomMinute(rng, m, 150);  // one minute without events
    state.Add(m, "m" + std::to_string(m), "v1", Build({&data[m]}));
    if (m - kWindow >= 100) state.Remove(m - kWindow);
    std::vector<int64_t> window;
    for (int64_t w = std::max<int64_t>(100, m - kWindow + 1); w <= m; ++w) window.push_back(w);
    ExpectMatchesFull(state, data, window, "minute " + std::to_string(m));
    if (HasFatalFailure()) return;
  }
  EXPECT_EQ(state.Minutes().size(), static_cast<size_t>(kWindow));
}

TEST(SlicedWindowTest, AReplacedMiddleMinuteTakesItsNewEvents) {
  events::Rng rng(11);
  std::map<int64_t, std::vector<Ev>> data;
  SlicedWindow state;
  for (int64_t m = 0; m < 5; ++m) {
    data[m] = RandomMinute(rng, m, 120);
    state.Add(m, "m", "v1", Build({&data[m]}));
  }
  // Late events: minute 2 rewritten with more events.
  auto late = RandomMinute(rng, 2, 60);
  data[2].insert(data[2].end(), late.begin(), late.end());
  state.Add(2, "m", "v2", Build({&data[2]}));
  ExpectMatchesFull(state, data, {0, 1, 2, 3, 4}, "replaced");
  EXPECT_EQ(state.Find(2)->version, "v2");
}

TEST(SlicedWindowTest, EvictedEntitiesAreForgottenAndTheirIndicesReused) {
  events::Rng rng(3);
  std::map<int64_t, std::vector<Ev>> data;
  SlicedWindow state;
  size_t capacity_at_10 = 0;
  for (int64_t m = 0; m < 60; ++m) {
    data[m] = RandomMinute(rng, m, 80);
    for (auto& e : data[m]) {  // every minute new users and sessions
      e.user += "@" + std::to_string(m);
      e.session += "@" + std::to_string(m);
    }
    state.Add(m, "m", "v", Build({&data[m]}));
    if (m >= 3) state.Remove(m - 3);
    if (m == 10) capacity_at_10 = state.EntityCapacity();
  }
  ExpectMatchesFull(state, data, {57, 58, 59}, "after 60 minutes");
  // Indices of forgotten entities are reused: what is interned stays that of a window.
  EXPECT_LE(state.EntityCapacity(), capacity_at_10 + 40);
}

TEST(SlicedWindowTest, InterleavedMinutesAreRefusedNotMiscounted) {
  events::Rng rng(5);
  std::map<int64_t, std::vector<Ev>> data;
  data[0] = RandomMinute(rng, 1, 50);  // "minute 0" holds events of minute 1
  data[1] = RandomMinute(rng, 1, 50);
  SlicedWindow state;
  state.Add(0, "m0", "v", Build({&data[0]}));
  state.Add(1, "m1", "v", Build({&data[1]}));
  const auto combined = state.Combine(std::vector<int64_t>{0, 1}, false);
  ASSERT_FALSE(combined.ok());
  EXPECT_NE(combined.status().message().find("interleave"), std::string::npos) << combined.status();
}

TEST(SlicedWindowTest, ASnapshotRoundTripsAndADamagedOneIsRefused) {
  events::Rng rng(9);
  std::map<int64_t, std::vector<Ev>> data;
  SlicedWindow state;
  for (int64_t m = 0; m < 6; ++m) {
    data[m] = RandomMinute(rng, m, 100);
    state.Add(m, "m", "v", Build({&data[m]}));
    if (m >= 3) state.Remove(m - 3);
  }
  const std::string bytes = state.Serialize();
  ASSERT_OK_AND_ASSIGN(SlicedWindow back, SlicedWindow::Parse(bytes));
  EXPECT_EQ(back.Minutes(), state.Minutes());
  ExpectMatchesFull(back, data, {3, 4, 5}, "restored");
  // The restored state goes on sliding.
  data[6] = RandomMinute(rng, 6, 100);
  back.Add(6, "m", "v", Build({&data[6]}));
  back.Remove(3);
  ExpectMatchesFull(back, data, {4, 5, 6}, "restored, then moved");

  std::string damaged = bytes;
  damaged[damaged.size() / 2] ^= 0x40;
  EXPECT_FALSE(SlicedWindow::Parse(damaged).ok());
  EXPECT_FALSE(SlicedWindow::Parse(bytes.substr(0, bytes.size() - 9)).ok());
  EXPECT_FALSE(SlicedWindow::Parse("PFAD-FRAUD-STATE 2\n").ok());
  EXPECT_FALSE(SlicedWindow::Parse("").ok());
}

// Each incremental aggregate against its definition, over random slices: one
// entity, events split over consecutive slices at random points.
TEST(SlicedWindowTest, EachAggregateMatchesItsDefinitionOverRandomSplits) {
  events::Rng rng(13);
  for (int round = 0; round < 200; ++round) {
    const int n = static_cast<int>(rng.Uniform(1, 40));
    std::map<int64_t, std::vector<Ev>> data;
    int64_t minute = 0;
    for (int i = 0; i < n; ++i) {
      if (rng.Uniform(0, 3) == 0) minute += rng.Uniform(1, 2);
      Ev e;
      e.user = "u";
      e.session = "s" + std::to_string(rng.Uniform(0, 3));
      if (rng.Uniform(0, 4) > 0) e.product = static_cast<int32_t>(rng.Uniform(1, 6));
      e.type = static_cast<EventType>(rng.Uniform(0, events::kEventTypeCount - 1));
      e.error = rng.Uniform(0, 1) == 0;
      if (e.error) e.code = static_cast<int32_t>(400 + rng.Uniform(0, 3));
      e.latency = static_cast<int32_t>(rng.Uniform(0, 100000));
      e.time = minute * kMinuteMs + rng.Uniform(0, 59) * 1000;
      e.id = events::Uuid::V4(static_cast<uint64_t>(round), static_cast<uint64_t>(i));
      data[minute].push_back(std::move(e));
    }
    SlicedWindow state;
    std::vector<int64_t> minutes;
    for (const auto& [m, events] : data) {
      state.Add(m, "m", "v", Build({&events}));
      minutes.push_back(m);
    }
    ExpectMatchesFull(state, data, minutes, "round " + std::to_string(round));
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace pfad::fraud
