#include "pfad/fraud/models/scoring.h"

#include <arrow/api.h>
#include <fmt/format.h>
#include <parquet/arrow/writer.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>

#include "pfad/fraud/graph/graph_features.h"

namespace pfad::fraud {
namespace {

constexpr size_t kTopFeatures = 3;

std::string TopFeatures(const FeatureTable& table, size_t row, const std::vector<std::string>& names,
                        std::span<const double> contributions) {
  std::vector<size_t> order(names.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t n = std::min(kTopFeatures, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<long>(n), order.end(),
                    [&](size_t a, size_t b) { return contributions[a] > contributions[b]; });
  std::string out;
  for (size_t k = 0; k < n && contributions[order[k]] > 0; ++k) {
    const int column = table.Column(names[order[k]]);
    if (!out.empty()) out += "; ";
    out += fmt::format("{}={:.4g}", names[order[k]],
                       column < 0 ? 0.0 : table.at(row, static_cast<size_t>(column)));
  }
  return out;
}

void SortByScore(std::vector<EntityScore>& out, size_t first) {
  // Ties by id: the order does not depend on the rows' order (first seen, or by id
  // from another engine).
  std::sort(
      out.begin() + static_cast<long>(first), out.end(), [](const EntityScore& a, const EntityScore& b) {
        return a.fraud_score != b.fraud_score ? a.fraud_score > b.fraud_score : a.entity_id < b.entity_id;
      });
}

// Rows to explain per kind: the flagged ones and the `top` highest scores over
// both kinds (descending; ties by kind, then id, as the report's list).
void ChooseRows(const std::vector<double>* scores[2], const std::vector<std::string>* ids[2],
                const double threshold[2], int top, std::vector<uint8_t>* chosen[2]) {
  struct Ranked {
    double score;
    int kind;
    uint32_t row;
  };
  std::vector<Ranked> ranked;
  for (int k = 0; k < 2; ++k) {
    chosen[k]->assign(scores[k]->size(), 0);
    for (size_t r = 0; r < scores[k]->size(); ++r) {
      if ((*scores[k])[r] >= threshold[k]) (*chosen[k])[r] = 1;
      ranked.push_back({(*scores[k])[r], k, static_cast<uint32_t>(r)});
    }
  }
  const size_t n = std::min(ranked.size(), static_cast<size_t>(std::max(top, 0)));
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(n), ranked.end(),
                    [&](const Ranked& a, const Ranked& b) {
                      if (a.score != b.score) return a.score > b.score;
                      if (a.kind != b.kind) return a.kind < b.kind;
                      return (*ids[a.kind])[a.row] < (*ids[b.kind])[b.row];
                    });
  for (size_t i = 0; i < n; ++i) (*chosen[ranked[i].kind])[ranked[i].row] = 1;
}

double ThresholdOf(const FraudModel& model, events::EntityKind kind) {
  for (const auto& part : model.parts) {
    if (part.kind == kind) return part.threshold;
  }
  return INFINITY;  // a kind the model does not score is never flagged
}

// A GNN model: one forward pass for both kinds over the node features; the
// top features are the largest gradient x input shares (Gnn::Explain) of the
// rows chosen to be explained.
Result<std::vector<EntityScore>> ScoreWithGnn(const FraudModel& model, const NodeFeatures& nodes,
                                              const Adjacency& links, int top) {
  const Gnn* gnn = nullptr;
  for (const auto& part : model.parts) {
    if (part.gnn == nullptr) return Status::Invalid("a fraud model mixes GNN and trees parts");
    if (gnn != nullptr && part.gnn.get() != gnn)
      return Status::Invalid("a fraud model holds two different GNNs");
    gnn = part.gnn.get();
  }
  const double threshold[2] = {ThresholdOf(model, events::EntityKind::kUser),
                               ThresholdOf(model, events::EntityKind::kSession)};
  std::vector<uint8_t> explain[2];
  PFAD_ASSIGN_OR_RAISE(
      const auto explained,
      gnn->Explain(nodes, links,
                   [&](const GnnScores& s, std::vector<uint8_t>& users, std::vector<uint8_t>& sessions) {
                     const std::vector<double>* scores[2] = {&s.users, &s.sessions};
                     const std::vector<std::string>* ids[2] = {&nodes.users.ids, &nodes.sessions.ids};
                     std::vector<uint8_t>* chosen[2] = {&users, &sessions};
                     ChooseRows(scores, ids, threshold, top, chosen);
                     explain[0] = users;
                     explain[1] = sessions;
                   }));
  const auto& names = NodeFeatureNames();
  std::vector<EntityScore> out;
  for (const events::EntityKind kind : {events::EntityKind::kUser, events::EntityKind::kSession}) {
    const auto part = std::find_if(model.parts.begin(), model.parts.end(),
                                   [&](const FraudModel::Part& p) { return p.kind == kind; });
    if (part == model.parts.end()) continue;
    const bool users = kind == events::EntityKind::kUser;
    const FeatureTable& table = users ? nodes.users : nodes.sessions;
    const auto& scores = users ? explained.scores.users : explained.scores.sessions;
    const std::span<const double> shares(users ? explained.user_attributions
                                               : explained.session_attributions);
    const auto& chosen = explain[users ? 0 : 1];
    const size_t first = out.size();
    for (size_t r = 0; r < table.rows(); ++r) {
      out.push_back({kind, table.ids[r], scores[r], scores[r] >= part->threshold,
                     chosen[r] ? TopFeatures(table, r, names, shares.subspan(r * names.size(), names.size()))
                               : std::string()});
    }
    SortByScore(out, first);
  }
  return out;
}

Result<std::vector<EntityScore>> ScoreWithTrees(const FraudModel& model, const GraphFeatures& features,
                                                int top) {
  const FeatureTable* tables[2] = {&features.users, &features.sessions};
  std::vector<double> scores[2];
  const FraudModel::Part* parts[2] = {nullptr, nullptr};
  for (int k = 0; k < 2; ++k) {
    const auto kind = static_cast<events::EntityKind>(k);
    const auto part = std::find_if(model.parts.begin(), model.parts.end(),
                                   [&](const FraudModel::Part& p) { return p.kind == kind; });
    if (part == model.parts.end()) continue;
    parts[k] = &*part;
    PFAD_ASSIGN_OR_RAISE(scores[k], part->trees.Predict(*tables[k]));
  }
  const double threshold[2] = {ThresholdOf(model, events::EntityKind::kUser),
                               ThresholdOf(model, events::EntityKind::kSession)};
  std::vector<uint8_t> explain[2];
  {
    const std::vector<double>* s[2] = {&scores[0], &scores[1]};
    const std::vector<std::string>* ids[2] = {&tables[0]->ids, &tables[1]->ids};
    std::vector<uint8_t>* chosen[2] = {&explain[0], &explain[1]};
    ChooseRows(s, ids, threshold, top, chosen);
  }
  std::vector<EntityScore> out;
  for (int k = 0; k < 2; ++k) {
    if (parts[k] == nullptr) continue;
    const FeatureTable& table = *tables[k];
    // Contributions (SHAP) only for the rows explained.
    std::vector<size_t> rows;
    for (size_t r = 0; r < table.rows(); ++r) {
      if (explain[k][r]) rows.push_back(r);
    }
    std::vector<std::string> top_features(table.rows());
    if (!rows.empty()) {
      const FeatureTable subset = table.Rows(rows);
      PFAD_ASSIGN_OR_RAISE(const auto contributions, parts[k]->trees.Contributions(subset));
      for (size_t i = 0; i < rows.size(); ++i) {
        top_features[rows[i]] = TopFeatures(subset, i, parts[k]->trees.feature_names(), contributions[i]);
      }
    }
    const size_t first = out.size();
    for (size_t r = 0; r < table.rows(); ++r) {
      out.push_back({static_cast<events::EntityKind>(k), table.ids[r], scores[k][r],
                     scores[k][r] >= parts[k]->threshold, std::move(top_features[r])});
    }
    SortByScore(out, first);
  }
  return out;
}

}  // namespace

Result<std::vector<EntityScore>> ScoreGraph(const FraudModel& model, const NodeFeatures& nodes,
                                            const Adjacency& links, int top) {
  if (model.IsGnn()) return ScoreWithGnn(model, nodes, links, top);
  return ScoreWithTrees(model, WithNeighbours(nodes, links), top);
}

Result<std::vector<EntityScore>> ScoreFeatures(const FraudModel& model, const GraphFeatures& features,
                                               int top) {
  if (model.IsGnn()) {
    return Status::Invalid("the model ", model.Label(),
                           " is a graph neural network: it needs the window's graph, not its features; "
                           "score features from another engine with a trees_graph model");
  }
  return ScoreWithTrees(model, features, top);
}

Result<std::vector<EntityScore>> ScoreWindow(const FraudModel& model, const WindowEvents& events, int top) {
  const auto graph = BuildGraph(events);
  return ScoreGraph(model, ComputeNodeFeatures(events, graph), graph.edges, top);
}

Status WriteScores(const storage::ObjectStore& store, const storage::ObjectUri& uri,
                   const std::string& model_label, const std::vector<EntityScore>& scores) {
  arrow::StringBuilder kind, id, model, top;
  arrow::DoubleBuilder score;
  arrow::BooleanBuilder flagged;
  for (const auto& s : scores) {
    PFAD_RETURN_NOT_OK(kind.Append(std::string(events::ToString(s.kind))));
    PFAD_RETURN_NOT_OK(id.Append(s.entity_id));
    PFAD_RETURN_NOT_OK(score.Append(s.fraud_score));
    PFAD_RETURN_NOT_OK(flagged.Append(s.is_fraud));
    PFAD_RETURN_NOT_OK(model.Append(model_label));
    PFAD_RETURN_NOT_OK(top.Append(s.top_features));
  }
  arrow::ArrayVector columns(6);
  PFAD_RETURN_NOT_OK(kind.Finish(&columns[0]));
  PFAD_RETURN_NOT_OK(id.Finish(&columns[1]));
  PFAD_RETURN_NOT_OK(score.Finish(&columns[2]));
  PFAD_RETURN_NOT_OK(flagged.Finish(&columns[3]));
  PFAD_RETURN_NOT_OK(model.Finish(&columns[4]));
  PFAD_RETURN_NOT_OK(top.Finish(&columns[5]));
  const auto schema = arrow::schema(
      {arrow::field("entity_kind", arrow::utf8(), false), arrow::field("entity_id", arrow::utf8(), false),
       arrow::field("fraud_score", arrow::float64(), false),
       arrow::field("is_fraud", arrow::boolean(), false), arrow::field("model", arrow::utf8(), false),
       arrow::field("top_features", arrow::utf8(), false)});
  const auto table = arrow::Table::Make(schema, columns);
  PFAD_ASSIGN_OR_RAISE(auto writer, store.OpenForWrite(uri));
  PFAD_RETURN_NOT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), writer->stream(),
                                                std::max<int64_t>(1, table->num_rows())));
  return writer->Commit();
}

}  // namespace pfad::fraud
