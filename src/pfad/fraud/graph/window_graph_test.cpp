#include <gtest/gtest.h>

#include <set>

#include "pfad/fraud/graph/graph_features.h"
#include "pfad/fraud/graph/window_graph.h"

namespace pfad::fraud {
namespace {

using events::EventType;

events::Uuid Id(uint64_t n) { return events::Uuid::V4(0, n); }

// A planted window: users a, b, c share session s1 (a ring's device); a also
// has s2; d is alone in s3. Products 7 and 8.
WindowEvents Planted() {
  WindowBuilder b;
  uint64_t n = 0;
  const auto add = [&](std::string_view user, std::string_view session, std::optional<int32_t> product,
                       EventType type, bool error, std::optional<int32_t> code, int32_t latency,
                       int64_t t) { b.Add(user, session, product, type, error, code, latency, t, Id(++n)); };
  add("a", "s1", 7, EventType::kViewProduct, false, std::nullopt, 100, 1000);
  add("b", "s1", 7, EventType::kAddToCart, false, std::nullopt, 200, 1000);
  add("c", "s1", 8, EventType::kViewProduct, true, 500, 300, 3000);
  add("a", "s2", std::nullopt, EventType::kPayment, true, 402, 100, 4000);
  add("a", "s2", std::nullopt, EventType::kPayment, true, 402, 100, 2000);
  add("d", "s3", 8, EventType::kSearch, false, std::nullopt, 50, 9000);
  return b.Finish();
}

double Feature(const FeatureTable& t, std::string_view id, std::string_view name) {
  const auto row = std::find(t.ids.begin(), t.ids.end(), id) - t.ids.begin();
  const int col = t.Column(name);
  EXPECT_GE(col, 0) << name;
  EXPECT_LT(static_cast<size_t>(row), t.rows()) << id;
  return t.at(static_cast<size_t>(row), static_cast<size_t>(col));
}

TEST(WindowGraph, PlantedGraphGivesTheKnownFeatures) {
  const auto events = Planted();
  const auto graph = BuildGraph(events);
  const auto nodes = ComputeNodeFeatures(events, graph);
  const auto features = WithNeighbours(nodes, graph.edges);
  const auto& users = features.users;
  const auto& sessions = features.sessions;
  ASSERT_EQ(users.cols(), 83u);
  EXPECT_EQ(users.names, GraphFeatureNames(events::EntityKind::kUser));

  // a: events at 1000 (view), 2000 (payment), 4000 (payment) in time order.
  EXPECT_EQ(Feature(users, "a", "n_events"), 3);
  EXPECT_EQ(Feature(users, "a", "n_payment"), 2);
  EXPECT_DOUBLE_EQ(Feature(users, "a", "share_payment"), 2.0 / 3);
  EXPECT_EQ(Feature(users, "a", "error_codes"), 1);
  EXPECT_DOUBLE_EQ(Feature(users, "a", "error_code_diversity"), 0.5);
  EXPECT_EQ(Feature(users, "a", "payment_error_share"), 1);
  EXPECT_DOUBLE_EQ(Feature(users, "a", "gap_mean_ms"), 1500);     // gaps 1000, 2000
  EXPECT_DOUBLE_EQ(Feature(users, "a", "gap_cv"), 500.0 / 1500);  // population std 500
  EXPECT_EQ(Feature(users, "a", "span_ms"), 3000);
  EXPECT_EQ(Feature(users, "a", "degree"), 2);  // s1, s2
  EXPECT_EQ(Feature(users, "a", "first_type"), 0);
  EXPECT_DOUBLE_EQ(Feature(users, "a", "latency_mean"), 100);
  EXPECT_EQ(Feature(users, "a", "latency_std"), 0);
  // Neighbours: a's sessions s1 (3 users) and s2 (1 user).
  EXPECT_EQ(Feature(users, "a", "session_max_degree"), 3);
  EXPECT_EQ(Feature(users, "a", "session_mean_degree"), 2);
  // a's only product is 7: 2 events, users a and b, one cart.
  EXPECT_EQ(Feature(users, "a", "product_max_p_users"), 2);
  EXPECT_DOUBLE_EQ(Feature(users, "a", "product_mean_p_share_cart"), 0.5);
  // d has no neighbours with more than itself; c's product 8 has users c and d.
  EXPECT_EQ(Feature(users, "d", "session_max_degree"), 1);
  EXPECT_EQ(Feature(users, "c", "product_mean_p_sessions"), 2);

  EXPECT_EQ(Feature(sessions, "s1", "degree"), 3);
  EXPECT_EQ(Feature(sessions, "s1", "products"), 2);
  EXPECT_EQ(Feature(sessions, "s1", "user_max_n_events"), 3);  // a
  EXPECT_DOUBLE_EQ(Feature(sessions, "s1", "user_mean_n_events"), 5.0 / 3);
  EXPECT_EQ(Feature(sessions, "s2", "first_type"), 3);            // PAYMENT first
  EXPECT_EQ(Feature(sessions, "s2", "product_max_p_events"), 0);  // no products: zeros
  // A single event: no gaps.
  EXPECT_EQ(Feature(users, "d", "gap_mean_ms"), 0);
  EXPECT_EQ(Feature(users, "d", "gap_cv"), 0);
}

TEST(WindowGraph, TiesInTimeAreOrderedByEventId) {
  WindowBuilder b;
  b.Add("u", "s", std::nullopt, EventType::kSearch, false, std::nullopt, 1, 500, events::Uuid::V4(0, 9));
  b.Add("u", "s", std::nullopt, EventType::kCheckout, false, std::nullopt, 1, 500, events::Uuid::V4(0, 2));
  const auto events = b.Finish();
  const auto nodes = ComputeNodeFeatures(events, BuildGraph(events));
  EXPECT_EQ(nodes.users.at(0, static_cast<size_t>(nodes.users.Column("first_type"))),
            2);  // CHECKOUT's id is lower
}

TEST(WindowGraph, ShuffledControlRewiresAndKeepsDegrees) {
  // 200 users with 5 events each, every user in its own session with its own products.
  WindowBuilder b;
  uint64_t n = 0;
  for (int u = 0; u < 200; ++u) {
    for (int k = 0; k < 5; ++k) {
      b.Add("u" + std::to_string(u), "s" + std::to_string(u), u * 5 + k, EventType::kViewProduct, false,
            std::nullopt, 1, k, events::Uuid::V4(0, ++n));
    }
  }
  const auto events = b.Finish();
  const auto real = BuildGraph(events).edges;
  const auto shuffled = ShuffledAdjacency(events, 42);
  size_t kept = 0, total = 0;
  for (size_t u = 0; u < real.user_sessions.rows(); ++u) {
    const auto row = shuffled.user_sessions.row(u);
    kept += std::count(row.begin(), row.end(), real.user_sessions.row(u)[0]);
    total += 1;
  }
  EXPECT_LT(kept, total / 10) << "most user-session edges must change";
  // Events per session are kept: the sum over users of their session links covers every session.
  std::set<uint32_t> sessions(shuffled.user_sessions.items.begin(), shuffled.user_sessions.items.end());
  EXPECT_GT(sessions.size(), 150u);
  // Same seed, same rewiring; another seed, another.
  EXPECT_EQ(ShuffledAdjacency(events, 42).user_sessions.items, shuffled.user_sessions.items);
  EXPECT_NE(ShuffledAdjacency(events, 43).user_sessions.items, shuffled.user_sessions.items);
  // Products keep their event counts: every product still has exactly one event's user.
  for (size_t p = 0; p < shuffled.product_users.rows(); ++p)
    EXPECT_EQ(shuffled.product_users.row(p).size(), 1u);
}

}  // namespace
}  // namespace pfad::fraud

namespace pfad::fraud {
namespace {

TEST(MinuteObjects, OnlyMinuteNamedObjectsBelongToAWindow) {
  EXPECT_TRUE(IsMinuteObjectName("2026-11-01_10-00.parquet"));
  EXPECT_FALSE(IsMinuteObjectName("2026-11-01_10-00.labels.parquet"));
  EXPECT_FALSE(IsMinuteObjectName("2026-11-01_10-00.scores.parquet"));
  EXPECT_FALSE(IsMinuteObjectName("user_features.parquet"));
  EXPECT_FALSE(IsMinuteObjectName("2026-11-01_10-00.json"));
  EXPECT_FALSE(IsMinuteObjectName("2026-11-01 10-00.parquet"));
}

}  // namespace
}  // namespace pfad::fraud
