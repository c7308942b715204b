#include "pfad/fraud/models/gnn.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "pfad/events/generator.h"
#include "pfad/fraud/models/metrics.h"
#include "pfad/fraud/testing.h"

namespace pfad::fraud {
namespace {

using events::EventType;

// A window of random events over the given numbers of users, sessions (each of
// one user) and products, with labels drawn per user and session.
struct TinyWindow {
  WindowEvents events;
  WindowGraph graph;
  NodeFeatures nodes;
  std::vector<uint8_t> users_fraud, sessions_fraud;

  [[nodiscard]] GnnGraph Training() const {
    return {&nodes,         &graph.edges,
            users_fraud,    std::vector<uint8_t>(users_fraud.size(), 1),
            sessions_fraud, std::vector<uint8_t>(sessions_fraud.size(), 1)};
  }
};

TinyWindow MakeWindow(uint64_t seed, int users, int sessions, int products, int n_events,
                      bool planted_ring = false) {
  events::Rng rng(seed);
  WindowBuilder builder;
  std::vector<int> owner(static_cast<size_t>(sessions));
  for (auto& o : owner) o = static_cast<int>(rng.Uniform(0, users - 1));
  std::vector<uint8_t> user_fraud(static_cast<size_t>(users));
  for (auto& f : user_fraud) f = rng.Bernoulli(0.3);
  for (int e = 0; e < n_events; ++e) {
    const int s = static_cast<int>(rng.Uniform(0, sessions - 1));
    const int u = owner[static_cast<size_t>(s)];
    std::optional<int32_t> product;
    if (!rng.Bernoulli(0.2)) product = static_cast<int32_t>(rng.Uniform(planted_ring ? 1 : 0, products - 1));
    // The planted pattern: fraud users' events are all on product 0, which
    // nobody else touches; their own features look like everyone's.
    if (planted_ring && user_fraud[static_cast<size_t>(u)]) product = 0;
    const auto type = static_cast<EventType>(rng.Uniform(0, events::kEventTypeCount - 1));
    const bool error = rng.Bernoulli(0.2);
    builder.Add("u" + std::to_string(u), "s" + std::to_string(s), product, type, error,
                error ? std::optional<int32_t>(static_cast<int32_t>(rng.Uniform(400, 405))) : std::nullopt,
                static_cast<int32_t>(rng.Uniform(5, 500)), 1'000'000 + rng.Uniform(0, 60'000),
                events::Uuid::V4(seed, static_cast<uint64_t>(e)));
  }
  TinyWindow w;
  w.events = builder.Finish();
  w.graph = BuildGraph(w.events);
  w.nodes = ComputeNodeFeatures(w.events, w.graph);
  for (const auto& id : w.events.user_ids) w.users_fraud.push_back(user_fraud[std::stoul(id.substr(1))]);
  for (const auto& id : w.events.session_ids) {
    w.sessions_fraud.push_back(user_fraud[static_cast<size_t>(owner[std::stoul(id.substr(1))])]);
  }
  return w;
}

GnnParams Small(GnnArchitecture architecture) {
  GnnParams p;
  p.architecture = architecture;
  p.hidden = 4;
  p.layers = 2;
  p.epochs = 5;
  return p;
}

class GnnArchitectures : public ::testing::TestWithParam<GnnArchitecture> {};

INSTANTIATE_TEST_SUITE_P(Both, GnnArchitectures,
                         ::testing::Values(GnnArchitecture::kSage, GnnArchitecture::kHetero),
                         [](const auto& info) { return std::string(ToString(info.param)); });

// Every parameter of every block: the analytic gradient against central
// differences of the loss (double precision).
TEST_P(GnnArchitectures, GradientMatchesFiniteDifferencesInEveryBlock) {
  const TinyWindow w = MakeWindow(7, 10, 16, 5, 80);
  const GnnGraph graph = w.Training();
  const std::span<const GnnGraph> graphs(&graph, 1);
  // At the seeded initialisation (random weights, biases 0.1): training this
  // tiny graph can leave a block's relu units all dead, and the check would
  // then test nothing there.
  GnnParams p = Small(GetParam());
  p.hidden = 8;
  ASSERT_OK_AND_ASSIGN(Gnn gnn, Gnn::Initialise(graphs, p));
  std::vector<std::vector<double>> gradient;
  ASSERT_OK_AND_ASSIGN(const double loss, gnn.Loss(graphs, &gradient));
  EXPECT_TRUE(std::isfinite(loss));
  ASSERT_EQ(gradient.size(), gnn.blocks().size());
  constexpr double kStep = 1e-6;
  for (size_t b = 0; b < gnn.blocks().size(); ++b) {
    auto& values = gnn.blocks()[b].values;
    ASSERT_EQ(gradient[b].size(), values.size()) << gnn.blocks()[b].name;
    double largest = 0;
    for (size_t i = 0; i < values.size(); ++i) {
      const double keep = values[i];
      values[i] = keep + kStep;
      ASSERT_OK_AND_ASSIGN(const double up, gnn.Loss(graphs, nullptr));
      values[i] = keep - kStep;
      ASSERT_OK_AND_ASSIGN(const double down, gnn.Loss(graphs, nullptr));
      values[i] = keep;
      const double numeric = (up - down) / (2 * kStep);
      EXPECT_NEAR(gradient[b][i], numeric, 1e-6 + 1e-4 * std::abs(numeric))
          << gnn.blocks()[b].name << "[" << i << "]";
      largest = std::max(largest, std::abs(numeric));
    }
    // The check means something only where the loss depends on the block.
    EXPECT_GT(largest, 0) << gnn.blocks()[b].name << " never changes the loss";
  }
}

TEST_P(GnnArchitectures, LearnsAPatternThatOnlyTheGraphShows) {
  const TinyWindow w = MakeWindow(3, 60, 120, 12, 1200, /*planted_ring=*/true);
  const GnnGraph graph = w.Training();
  GnnParams p = Small(GetParam());
  p.hidden = 16;
  p.epochs = 150;
  ASSERT_OK_AND_ASSIGN(const Gnn gnn, Gnn::Train(std::span<const GnnGraph>(&graph, 1), p));
  ASSERT_OK_AND_ASSIGN(const GnnScores scores, gnn.Predict(w.nodes, w.graph.edges));
  EXPECT_GT(RocAuc(scores.users, w.users_fraud), 0.95);
  EXPECT_GT(RocAuc(scores.sessions, w.sessions_fraud), 0.95);
}

TEST_P(GnnArchitectures, SameSeedSameNetworkAndARoundTripKeepsIt) {
  const TinyWindow w = MakeWindow(11, 20, 40, 6, 300);
  const GnnGraph graph = w.Training();
  const std::span<const GnnGraph> graphs(&graph, 1);
  GnnParams p = Small(GetParam());
  p.epochs = 20;
  ASSERT_OK_AND_ASSIGN(const Gnn a, Gnn::Train(graphs, p));
  ASSERT_OK_AND_ASSIGN(const Gnn b, Gnn::Train(graphs, p));
  p.seed = 2;
  ASSERT_OK_AND_ASSIGN(const Gnn c, Gnn::Train(graphs, p));
  ASSERT_OK_AND_ASSIGN(const auto sa, a.Predict(w.nodes, w.graph.edges));
  ASSERT_OK_AND_ASSIGN(const auto sb, b.Predict(w.nodes, w.graph.edges));
  ASSERT_OK_AND_ASSIGN(const auto sc, c.Predict(w.nodes, w.graph.edges));
  EXPECT_EQ(sa.users, sb.users);
  EXPECT_EQ(sa.sessions, sb.sessions);
  EXPECT_NE(sa.users, sc.users);
  ASSERT_OK_AND_ASSIGN(const Gnn restored, Gnn::Deserialize(a.Serialize()));
  EXPECT_EQ(restored.params().architecture, GetParam());
  ASSERT_OK_AND_ASSIGN(const auto sr, restored.Predict(w.nodes, w.graph.edges));
  EXPECT_EQ(sa.users, sr.users);
  EXPECT_EQ(sa.sessions, sr.sessions);
}

TEST_P(GnnArchitectures, ScoresOverShuffledLinksAndEmptyWindows) {
  const TinyWindow w = MakeWindow(5, 20, 40, 6, 300);
  const GnnGraph graph = w.Training();
  ASSERT_OK_AND_ASSIGN(const Gnn gnn, Gnn::Train(std::span<const GnnGraph>(&graph, 1), Small(GetParam())));
  const Adjacency shuffled = ShuffledAdjacency(w.events, 3);
  ASSERT_OK_AND_ASSIGN(const auto s, gnn.Predict(w.nodes, shuffled));
  EXPECT_EQ(s.users.size(), w.events.user_ids.size());
  EXPECT_EQ(s.sessions.size(), w.events.session_ids.size());
  // Training on the shuffled links works as well.
  const GnnGraph rewired{&w.nodes, &shuffled, w.users_fraud, std::vector<uint8_t>(w.users_fraud.size(), 1),
                         {},       {}};
  EXPECT_TRUE(Gnn::Train(std::span<const GnnGraph>(&rewired, 1), Small(GetParam())).ok());

  const WindowEvents none = WindowBuilder().Finish();
  const WindowGraph empty_graph = BuildGraph(none);
  const NodeFeatures empty_nodes = ComputeNodeFeatures(none, empty_graph);
  ASSERT_OK_AND_ASSIGN(const auto e, gnn.Predict(empty_nodes, empty_graph.edges));
  EXPECT_TRUE(e.users.empty());
  EXPECT_TRUE(e.sessions.empty());
  ASSERT_OK_AND_ASSIGN(const auto explained, gnn.Explain(w.nodes, w.graph.edges));
  ASSERT_OK_AND_ASSIGN(const auto plain, gnn.Predict(w.nodes, w.graph.edges));
  EXPECT_EQ(explained.scores.users, plain.users);
  EXPECT_EQ(explained.user_attributions.size(), w.events.user_ids.size() * NodeFeatureNames().size());
  EXPECT_EQ(explained.session_attributions.size(), w.events.session_ids.size() * NodeFeatureNames().size());
  // Features of another graph than the links: Invalid, never a crash.
  EXPECT_FALSE(gnn.Predict(empty_nodes, w.graph.edges).ok());
}

TEST(Gnn, ArchitectureNamesRoundTrip) {
  for (const GnnArchitecture architecture : {GnnArchitecture::kSage, GnnArchitecture::kHetero}) {
    EXPECT_EQ(ParseGnnArchitecture(ToString(architecture)), architecture);
  }
  EXPECT_EQ(ToString(GnnArchitecture::kSage), "sage");
  EXPECT_EQ(ToString(GnnArchitecture::kHetero), "hetero");
  EXPECT_FALSE(ParseGnnArchitecture("gcn").has_value());
}

TEST(Gnn, NeedsBothClassesOfSomeKind) {
  TinyWindow w = MakeWindow(5, 10, 20, 4, 100);
  std::fill(w.users_fraud.begin(), w.users_fraud.end(), 0);
  std::fill(w.sessions_fraud.begin(), w.sessions_fraud.end(), 0);
  const GnnGraph graph = w.Training();
  EXPECT_FALSE(Gnn::Train(std::span<const GnnGraph>(&graph, 1), Small(GnnArchitecture::kSage)).ok());
  // One kind with both classes is enough; the mask picks the training rows.
  w.users_fraud[0] = 1;
  GnnGraph one = w.Training();
  EXPECT_TRUE(Gnn::Train(std::span<const GnnGraph>(&one, 1), Small(GnnArchitecture::kSage)).ok());
  one.user_mask[0] = 0;
  EXPECT_FALSE(Gnn::Train(std::span<const GnnGraph>(&one, 1), Small(GnnArchitecture::kSage)).ok());
  one.user_mask.pop_back();
  EXPECT_FALSE(Gnn::Train(std::span<const GnnGraph>(&one, 1), Small(GnnArchitecture::kSage)).ok());
}

TEST(Gnn, CorruptBytesAreInvalid) {
  const TinyWindow w = MakeWindow(5, 10, 20, 4, 100);
  const GnnGraph graph = w.Training();
  ASSERT_OK_AND_ASSIGN(const Gnn gnn,
                       Gnn::Train(std::span<const GnnGraph>(&graph, 1), Small(GnnArchitecture::kHetero)));
  const std::string bytes = gnn.Serialize();
  EXPECT_TRUE(Gnn::Deserialize(bytes).ok());
  EXPECT_FALSE(Gnn::Deserialize(bytes.substr(0, bytes.size() / 2)).ok());
  EXPECT_FALSE(Gnn::Deserialize("PFAD-GNN 1\n{}").ok());
  EXPECT_FALSE(Gnn::Deserialize("something else").ok());
  // A changed weight: still valid JSON, caught by the checksum.
  std::string changed = bytes;
  const auto at = changed.find("\"values\":[") + 10;
  changed.insert(at, "1");
  const auto status = Gnn::Deserialize(changed).status();
  EXPECT_FALSE(status.ok());
}

}  // namespace
}  // namespace pfad::fraud
