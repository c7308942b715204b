#include "pfad/fraud/eval/evaluate.h"

#include <arrow/api.h>
#include <parquet/arrow/reader.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <span>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "pfad/events/generator.h"
#include "pfad/fraud/eval/interactions.h"
#include "pfad/fraud/graph/graph_features.h"
#include "pfad/fraud/graph/truth.h"
#include "pfad/fraud/graph/window_events.h"
#include "pfad/fraud/models/rules.h"

namespace pfad::fraud {
namespace {

using events::EntityKind;
using events::Scenario;

constexpr EntityKind kKinds[] = {EntityKind::kUser, EntityKind::kSession};

std::vector<size_t> AllRows(size_t n) {
  std::vector<size_t> rows(n);
  std::iota(rows.begin(), rows.end(), 0);
  return rows;
}

// Truth per row; slices are the scenarios (in enum order) that occur.
TestTruth TruthFor(const std::vector<std::string>& ids,
                   const std::unordered_map<std::string, Scenario>& labels) {
  TestTruth truth;
  int slot[events::kScenarioCount];
  std::fill(std::begin(slot), std::end(slot), -1);
  std::vector<int> scenario(ids.size(), -1);
  bool present[events::kScenarioCount] = {};
  for (size_t i = 0; i < ids.size(); ++i) {
    if (auto it = labels.find(ids[i]); it != labels.end()) {
      scenario[i] = static_cast<int>(it->second);
      present[scenario[i]] = true;
    }
  }
  for (int s = 0; s < events::kScenarioCount; ++s) {
    if (!present[s]) continue;
    slot[s] = static_cast<int>(truth.slice_names.size());
    truth.slice_names.emplace_back(events::ToString(static_cast<Scenario>(s)));
    truth.slice_is_fraud.push_back(events::IsFraud(static_cast<Scenario>(s)));
  }
  truth.labels.resize(ids.size());
  truth.slice.resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    truth.slice[i] = scenario[i] < 0 ? -1 : slot[scenario[i]];
    truth.labels[i] = scenario[i] >= 0 && events::IsFraud(static_cast<Scenario>(scenario[i]));
  }
  return truth;
}

// The tables of one model family for one kind: train and test rows.
struct Split {
  FeatureTable train, test;
};

Status RunTrees(const std::string& model, const Split& split, const std::vector<uint8_t>& train_labels,
                const TestTruth& truth, EntityKind kind, uint64_t seed, const TreeParams& base,
                std::vector<ModelFigures>& runs) {
  TreeParams params = base;
  params.seed = seed;
  PFAD_ASSIGN_OR_RAISE(auto trees, BoostedTrees::Train(split.train, train_labels, params));
  PFAD_ASSIGN_OR_RAISE(auto scores, trees.Predict(split.test));
  runs.push_back(Judge(model, kind, seed, scores, truth));
  return Status::OK();
}

Status CheckTrainable(const std::vector<uint8_t>& labels, EntityKind kind) {
  const auto positives = std::count(labels.begin(), labels.end(), 1);
  if (positives == 0 || positives == static_cast<long>(labels.size())) {
    return Status::Invalid("the training window has ", positives, " fraud ", events::ToString(kind), "s of ",
                           labels.size(),
                           ": models need both classes (generate with fraud actors, or more minutes)");
  }
  return Status::OK();
}

// The GNN models of one seed, trained together on one graph (train_links)
// and scored on another (test_links; the same one, for a random user split):
// gnn_sage and gnn_hetero over the real links, gnn_hetero_shuffled over the
// rewired ones. Labels per kind with their training mask; empty: not trained.
struct GnnModels {
  GnnScores sage, hetero, hetero_shuffled;
};

struct GnnData {
  const NodeFeatures* train_nodes;
  const Adjacency *train_links, *train_shuffled;
  const NodeFeatures* test_nodes;
  const Adjacency *test_links, *test_shuffled;
  std::vector<uint8_t> labels[2], mask[2];
};

Result<GnnModels> RunGnns(const GnnData& d, uint64_t seed, const GnnParams& base) {
  GnnModels out;
  GnnParams params = base;
  params.seed = seed;
  const auto run = [&](GnnArchitecture architecture, const Adjacency& train_links,
                       const Adjacency& test_links, GnnScores& scores) -> Status {
    params.architecture = architecture;
    const GnnGraph graph{d.train_nodes, &train_links, d.labels[0], d.mask[0], d.labels[1], d.mask[1]};
    PFAD_ASSIGN_OR_RAISE(const Gnn gnn, Gnn::Train(std::span<const GnnGraph>(&graph, 1), params));
    PFAD_ASSIGN_OR_RAISE(scores, gnn.Predict(*d.test_nodes, test_links));
    return Status::OK();
  };
  PFAD_RETURN_NOT_OK(run(GnnArchitecture::kSage, *d.train_links, *d.test_links, out.sage));
  PFAD_RETURN_NOT_OK(run(GnnArchitecture::kHetero, *d.train_links, *d.test_links, out.hetero));
  PFAD_RETURN_NOT_OK(run(GnnArchitecture::kHetero, *d.train_shuffled, *d.test_shuffled, out.hetero_shuffled));
  return out;
}

// Judges the GNN models' scores of `kind` at the given test rows.
void JudgeGnns(const GnnModels& models, EntityKind kind, const std::vector<size_t>& rows,
               const TestTruth& truth, uint64_t seed, std::vector<ModelFigures>& runs) {
  for (const auto& [name, scores] :
       {std::pair{"gnn_sage", &models.sage}, std::pair{"gnn_hetero", &models.hetero},
        std::pair{"gnn_hetero_shuffled", &models.hetero_shuffled}}) {
    const auto& all = kind == EntityKind::kUser ? scores->users : scores->sessions;
    std::vector<double> picked;
    picked.reserve(rows.size());
    for (const size_t r : rows) picked.push_back(all[r]);
    runs.push_back(Judge(name, kind, seed, picked, truth));
  }
}

// One window's graph and features.
struct Window {
  WindowEvents events;
  WindowGraph graph;
  NodeFeatures nodes;
  GraphFeatures real;
};

Window Analyse(WindowEvents events) {
  Window w;
  w.events = std::move(events);
  w.graph = BuildGraph(w.events);
  w.nodes = ComputeNodeFeatures(w.events, w.graph);
  w.real = WithNeighbours(w.nodes, w.graph.edges);
  return w;
}

const FeatureTable& Of(const NodeFeatures& f, EntityKind k) {
  return k == EntityKind::kUser ? f.users : f.sessions;
}
const FeatureTable& Of(const GraphFeatures& f, EntityKind k) {
  return k == EntityKind::kUser ? f.users : f.sessions;
}

// Trains on one window and tests on a later one, for each kind.
using RulesModel = std::function<Result<std::vector<double>>(const FeatureTable&)>;
// Labels may differ per window (timed interactions: a user's label comes from
// its rows in that window only).
Status CompareWindows(const Window& train, const Window& test, const LabelIndex& train_labels,
                      const LabelIndex& labels, std::span<const EntityKind> kinds, const RulesModel& rules,
                      const EvalOptions& options, Evaluation& evaluation) {
  // The shuffled-edge control's features, per seed, for both kinds at once.
  struct Rewired {
    Adjacency train_links, test_links;
    GraphFeatures train, test;
  };
  std::vector<Rewired> rewired;
  for (int s = 0; s < options.seeds; ++s) {
    const uint64_t seed = options.first_seed + static_cast<uint64_t>(s);
    Rewired r{ShuffledAdjacency(train.events, seed), ShuffledAdjacency(test.events, seed + 1000), {}, {}};
    r.train = WithNeighbours(train.nodes, r.train_links);
    r.test = WithNeighbours(test.nodes, r.test_links);
    rewired.push_back(std::move(r));
  }
  // The GNN models train on both kinds at once: once per seed, when the first
  // kind needs them (after its checks).
  std::vector<GnnModels> gnns;
  const auto gnn_models = [&](int s) -> Result<const GnnModels*> {
    if (gnns.empty()) {
      for (int k = 0; k < options.seeds; ++k) {
        const uint64_t seed = options.first_seed + static_cast<uint64_t>(k);
        const Rewired& control = rewired[static_cast<size_t>(k)];
        GnnData d{&train.nodes,
                  &train.graph.edges,
                  &control.train_links,
                  &test.nodes,
                  &test.graph.edges,
                  &control.test_links,
                  {},
                  {}};
        for (const EntityKind kind : kinds) {
          const int i = static_cast<int>(kind);
          d.labels[i] = FraudFlags(Of(train.nodes, kind).ids, train_labels.of(kind));
          d.mask[i].assign(d.labels[i].size(), 1);
        }
        PFAD_ASSIGN_OR_RAISE(auto models, RunGnns(d, seed, options.gnn_params));
        gnns.push_back(std::move(models));
      }
    }
    return &gnns[static_cast<size_t>(s)];
  };
  for (const EntityKind kind : kinds) {
    const auto& kind_labels = labels.of(kind);
    const FeatureTable& train_graph = Of(train.real, kind);
    const auto y_train = FraudFlags(train_graph.ids, train_labels.of(kind));
    PFAD_RETURN_NOT_OK(CheckTrainable(y_train, kind));
    // Test rows: entities not seen in the training window.
    const std::unordered_set<std::string> seen(train_graph.ids.begin(), train_graph.ids.end());
    std::vector<size_t> rows;
    const FeatureTable& test_graph = Of(test.real, kind);
    for (size_t r = 0; r < test_graph.rows(); ++r) {
      if (!seen.contains(test_graph.ids[r])) rows.push_back(r);
    }
    const Split node{Of(train.nodes, kind), Of(test.nodes, kind).Rows(rows)};
    const Split graph{train_graph, test_graph.Rows(rows)};
    TestTruth truth = TruthFor(graph.test.ids, kind_labels);
    if (!labels.scenarios) {
      truth.slice_names.clear();
      truth.slice_is_fraud.clear();
      std::fill(truth.slice.begin(), truth.slice.end(), -1);
    }
    evaluation.notes.push_back(
        std::string(events::ToString(kind)) + "s: " + std::to_string(train_graph.rows()) + " train (" +
        std::to_string(std::count(y_train.begin(), y_train.end(), 1)) + " fraud), " +
        std::to_string(rows.size()) + " test (" +
        std::to_string(std::count(truth.labels.begin(), truth.labels.end(), 1)) + " fraud), " +
        std::to_string(test_graph.rows() - rows.size()) + " test entities left out as seen in training");
    if (std::count(truth.labels.begin(), truth.labels.end(), 1) == 0) {
      return Status::Invalid("the test window has no fraud ", events::ToString(kind), "s among its ",
                             rows.size(),
                             " unseen ones: the figures would mean nothing (use more minutes or more fraud)");
    }
    PFAD_ASSIGN_OR_RAISE(auto rule_scores, rules(node.test));
    for (int s = 0; s < options.seeds; ++s) {
      const uint64_t seed = options.first_seed + static_cast<uint64_t>(s);
      evaluation.runs.push_back(Judge("rules", kind, seed, rule_scores, truth));
      PFAD_RETURN_NOT_OK(
          RunTrees("trees_node", node, y_train, truth, kind, seed, options.trees, evaluation.runs));
      PFAD_RETURN_NOT_OK(
          RunTrees("trees_graph", graph, y_train, truth, kind, seed, options.trees, evaluation.runs));
      const Rewired& control = rewired[static_cast<size_t>(s)];
      const Split shuffled{Of(control.train, kind), Of(control.test, kind).Rows(rows)};
      PFAD_RETURN_NOT_OK(RunTrees("trees_graph_shuffled", shuffled, y_train, truth, kind, seed, options.trees,
                                  evaluation.runs));
      if (options.gnn) {
        PFAD_ASSIGN_OR_RAISE(const GnnModels* models, gnn_models(s));
        JudgeGnns(*models, kind, rows, truth, seed, evaluation.runs);
      }
    }
  }
  return Status::OK();
}

std::string Fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

}  // namespace

Result<Evaluation> EvaluateMinutes(const storage::ObjectStore& store,
                                   const std::vector<storage::ObjectUri>& minutes,
                                   const EvalOptions& options) {
  if (minutes.size() < 2) {
    return Status::Invalid(
        "evaluation needs at least 2 minute objects (a training and a test window), found ", minutes.size());
  }
  if (!(options.train_share > 0 && options.train_share < 1))
    return Status::Invalid("train share must be in (0, 1)");
  PFAD_ASSIGN_OR_RAISE(auto labels, ReadLabels(store, minutes));
  const auto cut =
      std::clamp<size_t>(static_cast<size_t>(static_cast<double>(minutes.size()) * options.train_share + 0.5),
                         1, minutes.size() - 1);
  const std::vector<storage::ObjectUri> train_minutes(minutes.begin(),
                                                      minutes.begin() + static_cast<long>(cut));
  const std::vector<storage::ObjectUri> test_minutes(minutes.begin() + static_cast<long>(cut), minutes.end());
  PFAD_ASSIGN_OR_RAISE(auto train_events, ReadWindow(store, train_minutes));
  PFAD_ASSIGN_OR_RAISE(auto test_events, ReadWindow(store, test_minutes));
  for (const auto& [name, window, window_events] : {std::tuple{"training", &train_minutes, &train_events},
                                                    std::tuple{"test", &test_minutes, &test_events}}) {
    if (window_events->size() == 0) {
      return Status::Invalid("the ", name, " window (", window->front().ToString(), " to ",
                             window->back().ToString(),
                             ") has no events: evaluation needs events in both windows");
    }
  }
  const Window train = Analyse(std::move(train_events));
  const Window test = Analyse(std::move(test_events));

  Evaluation evaluation;
  evaluation.dataset = minutes.front().Parent().ToString();
  evaluation.notes.push_back("training window: " + std::to_string(cut) + " minutes (" +
                             std::to_string(train.events.size()) +
                             " events), test window: " + std::to_string(minutes.size() - cut) + " minutes (" +
                             std::to_string(test.events.size()) + " events)");
  PFAD_RETURN_NOT_OK(CompareWindows(train, test, labels, labels, kKinds, RuleScores, options, evaluation));
  evaluation.notes.push_back("train share " + Fixed(options.train_share) + "; " +
                             std::to_string(options.seeds) + " seeds from " +
                             std::to_string(options.first_seed));
  return evaluation;
}

Result<Evaluation> EvaluateInteractions(const std::string& path,
                                        const InteractionsOptions& interaction_options,
                                        const EvalOptions& options) {
  PFAD_ASSIGN_OR_RAISE(auto rows, ReadInteractions(path, interaction_options.positive_label,
                                                   interaction_options.negative_label));
  if (!(options.train_share > 0 && options.train_share < 1))
    return Status::Invalid("train share must be in (0, 1)");
  // Each interaction is an edge user-item; the user is its own session (the
  // list has no sessions), items are products.
  std::unordered_map<std::string, int32_t> items;
  std::unordered_map<std::string, uint8_t> positive_user;
  std::unordered_map<std::string, Scenario>
      positive_in[2];  // per window when timed (no label from the future)
  const bool timed = !rows.time.empty();
  std::vector<size_t> order = AllRows(rows.size());
  if (timed)
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return rows.time[a] < rows.time[b]; });
  const size_t cut =
      timed ? static_cast<size_t>(static_cast<double>(rows.size()) * options.train_share) : rows.size();
  WindowBuilder first, second;
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    auto [it, inserted] = items.try_emplace(rows.item[i], static_cast<int32_t>(items.size()));
    positive_user[rows.user[i]] |= rows.positive[i];
    if (rows.positive[i]) positive_in[k < cut ? 0 : 1].emplace(rows.user[i], Scenario::kFraudRing);
    (k < cut ? first : second)
        .Add(rows.user[i], rows.user[i], it->second, events::EventType::kViewProduct, false, std::nullopt, 0,
             timed ? rows.time[i] : 0, events::Uuid::V4(0, k));
  }
  std::unordered_map<std::string, Scenario> labels;  // positives only; the scenario name is not shown
  for (const auto& [user, positive] : positive_user) {
    if (positive) labels.emplace(user, Scenario::kFraudRing);
  }
  Evaluation evaluation;
  evaluation.dataset = "interactions: " + path;
  const Window all = Analyse(first.Finish());  // everything, or the earlier part when timed
  const size_t users = all.real.users.rows();
  const auto y_all = FraudFlags(all.real.users.ids, labels);
  evaluation.notes.push_back(std::to_string(rows.size()) + " interactions, " + std::to_string(users) +
                             " users (" + std::to_string(std::count(y_all.begin(), y_all.end(), 1)) +
                             " positive), " + std::to_string(items.size()) + " items; users are scored");
  // The rules model for plain interactions: one-review accounts are the classic
  // spam signal, so the score is 1 / n_events.
  const RulesModel one_review = [](const FeatureTable& nodes) {
    std::vector<double> scores(nodes.rows());
    for (size_t r = 0; r < nodes.rows(); ++r) scores[r] = 1.0 / std::max(1.0, nodes.at(r, 0));
    return Result<std::vector<double>>(std::move(scores));
  };
  if (timed) {
    LabelIndex before, after;
    before.by_kind[static_cast<int>(EntityKind::kUser)] = std::move(positive_in[0]);
    after.by_kind[static_cast<int>(EntityKind::kUser)] = std::move(positive_in[1]);
    before.scenarios = after.scenarios = false;
    const Window later = Analyse(second.Finish());
    evaluation.notes.push_back("time split: the earlier " + Fixed(options.train_share) +
                               " of the interactions train, the rest test");
    const EntityKind users_only[] = {EntityKind::kUser};
    PFAD_RETURN_NOT_OK(
        CompareWindows(all, later, before, after, users_only, one_review, options, evaluation));
    return evaluation;
  }
  evaluation.notes.push_back("no time column: users split at random per seed (train share " +
                             Fixed(options.train_share) + "), features over the graph of all interactions");
  PFAD_ASSIGN_OR_RAISE(const auto rule_all, one_review(all.nodes.users));
  for (int s = 0; s < options.seeds; ++s) {
    const uint64_t seed = options.first_seed + static_cast<uint64_t>(s);
    std::vector<size_t> perm = AllRows(users);
    events::Rng(seed).Shuffle(perm);
    const size_t n_train = static_cast<size_t>(static_cast<double>(users) * options.train_share);
    std::vector<size_t> train_rows(perm.begin(), perm.begin() + static_cast<long>(n_train));
    std::vector<size_t> test_rows(perm.begin() + static_cast<long>(n_train), perm.end());
    std::sort(train_rows.begin(), train_rows.end());
    std::sort(test_rows.begin(), test_rows.end());
    std::vector<uint8_t> y_train;
    for (const size_t r : train_rows) y_train.push_back(y_all[r]);
    PFAD_RETURN_NOT_OK(CheckTrainable(y_train, EntityKind::kUser));
    TestTruth truth;
    std::vector<double> rule_scores;
    for (const size_t r : test_rows) {
      truth.labels.push_back(y_all[r]);
      truth.slice.push_back(-1);
      rule_scores.push_back(rule_all[r]);
    }
    evaluation.runs.push_back(Judge("rules", EntityKind::kUser, seed, rule_scores, truth));
    const auto split = [&](const FeatureTable& t) { return Split{t.Rows(train_rows), t.Rows(test_rows)}; };
    PFAD_RETURN_NOT_OK(RunTrees("trees_node", split(all.nodes.users), y_train, truth, EntityKind::kUser, seed,
                                options.trees, evaluation.runs));
    PFAD_RETURN_NOT_OK(RunTrees("trees_graph", split(all.real.users), y_train, truth, EntityKind::kUser, seed,
                                options.trees, evaluation.runs));
    const Adjacency shuffled_links = ShuffledAdjacency(all.events, seed);
    const auto shuffled = WithNeighbours(all.nodes, shuffled_links);
    PFAD_RETURN_NOT_OK(RunTrees("trees_graph_shuffled", split(shuffled.users), y_train, truth,
                                EntityKind::kUser, seed, options.trees, evaluation.runs));
    if (options.gnn) {
      // One graph: the training users' labels train, every node passes messages.
      GnnData d{
          &all.nodes, &all.graph.edges, &shuffled_links, &all.nodes, &all.graph.edges, &shuffled_links, {},
          {}};
      d.labels[0] = y_all;
      d.mask[0].assign(users, 0);
      for (const size_t r : train_rows) d.mask[0][r] = 1;
      PFAD_ASSIGN_OR_RAISE(const auto models, RunGnns(d, seed, options.gnn_params));
      JudgeGnns(models, EntityKind::kUser, test_rows, truth, seed, evaluation.runs);
    }
  }
  return evaluation;
}

}  // namespace pfad::fraud
