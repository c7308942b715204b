#include "pfad/fraud/models/scoring.h"

#include <arrow/api.h>
#include <fmt/format.h>
#include <parquet/arrow/writer.h>

#include <algorithm>
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
  std::stable_sort(out.begin() + static_cast<long>(first), out.end(),
                   [](const EntityScore& a, const EntityScore& b) { return a.fraud_score > b.fraud_score; });
}

// A GNN model: one forward pass for both kinds over the node features; the
// top features are the largest gradient x input shares (Gnn::Explain).
Result<std::vector<EntityScore>> ScoreWithGnn(const FraudModel& model, const WindowEvents& events) {
  const auto graph = BuildGraph(events);
  const auto nodes = ComputeNodeFeatures(events, graph);
  const Gnn* gnn = nullptr;
  for (const auto& part : model.parts) {
    if (part.gnn == nullptr) return Status::Invalid("a fraud model mixes GNN and trees parts");
    if (gnn != nullptr && part.gnn.get() != gnn)
      return Status::Invalid("a fraud model holds two different GNNs");
    gnn = part.gnn.get();
  }
  PFAD_ASSIGN_OR_RAISE(const auto explained, gnn->Explain(nodes, graph.edges));
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
    const size_t first = out.size();
    for (size_t r = 0; r < table.rows(); ++r) {
      out.push_back({kind, table.ids[r], scores[r], scores[r] >= part->threshold,
                     TopFeatures(table, r, names, shares.subspan(r * names.size(), names.size()))});
    }
    SortByScore(out, first);
  }
  return out;
}

}  // namespace

Result<std::vector<EntityScore>> ScoreWindow(const FraudModel& model, const WindowEvents& events) {
  if (!model.parts.empty() && model.parts.front().gnn != nullptr) return ScoreWithGnn(model, events);
  const auto graph = BuildGraph(events);
  const auto features = WithNeighbours(ComputeNodeFeatures(events, graph), graph.edges);
  std::vector<EntityScore> out;
  for (const events::EntityKind kind : {events::EntityKind::kUser, events::EntityKind::kSession}) {
    const auto part = std::find_if(model.parts.begin(), model.parts.end(),
                                   [&](const FraudModel::Part& p) { return p.kind == kind; });
    if (part == model.parts.end()) continue;
    const FeatureTable& table = kind == events::EntityKind::kUser ? features.users : features.sessions;
    PFAD_ASSIGN_OR_RAISE(const auto scores, part->trees.Predict(table));
    PFAD_ASSIGN_OR_RAISE(const auto contributions, part->trees.Contributions(table));
    const size_t first = out.size();
    for (size_t r = 0; r < table.rows(); ++r) {
      out.push_back({kind, table.ids[r], scores[r], scores[r] >= part->threshold,
                     TopFeatures(table, r, part->trees.feature_names(), contributions[r])});
    }
    SortByScore(out, first);
  }
  return out;
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
