#include "pfad/fraud/models/fraud_model.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "pfad/fraud/graph/graph_features.h"
#include "pfad/fraud/graph/truth.h"
#include "pfad/fraud/graph/window_events.h"
#include "pfad/fraud/models/metrics.h"
#include "pfad/labels/label_store.h"

namespace pfad::fraud {
namespace {

constexpr std::string_view kMagicPrefix = "PFAD-FRAUD-MODEL ";

// Appends the rows of `more` to `all` (same columns).
void Append(FeatureTable& all, const FeatureTable& more) {
  if (all.names.empty()) {
    all.kind = more.kind;
    all.names = more.names;
  }
  all.ids.insert(all.ids.end(), more.ids.begin(), more.ids.end());
  all.values.insert(all.values.end(), more.values.begin(), more.values.end());
}

}  // namespace

const std::vector<std::string>& TrainableModels() {
  static const std::vector<std::string> models = {"gnn_hetero", "gnn_sage", "trees_graph"};
  return models;
}

std::string FraudModel::Label() const { return name + " v" + std::to_string(version); }

bool FraudModel::IsGnn() const {
  return std::any_of(parts.begin(), parts.end(), [](const Part& p) { return p.gnn != nullptr; });
}

Result<std::string> FraudModel::Serialize() const {
  const int format = IsGnn() ? 2 : 1;
  nlohmann::json header = {{"model", name},
                           {"version", format},
                           {"trained_on", trained_on},
                           {"window_minutes", window_minutes},
                           {"parts", nlohmann::json::array()}};
  std::string body;
  for (const Part& part : parts) {
    std::string bytes;
    if (part.gnn != nullptr) {
      bytes = part.gnn->Serialize();
    } else {
      PFAD_ASSIGN_OR_RAISE(bytes, part.trees.Serialize());
    }
    nlohmann::json entry = {
        {"kind", events::ToString(part.kind)}, {"threshold", part.threshold}, {"bytes", bytes.size()}};
    if (format >= 2) entry["type"] = part.gnn != nullptr ? "gnn" : "trees";
    header["parts"].push_back(std::move(entry));
    body += bytes;
  }
  return std::string(kMagicPrefix) + std::to_string(format) + "\n" + header.dump() + "\n" + body;
}

Result<FraudModel> FraudModel::Parse(std::string_view bytes) {
  const auto first_line = bytes.substr(0, bytes.find('\n'));
  int format = 0;
  for (int v = 1; v <= kFormatVersion; ++v) {
    if (first_line == std::string(kMagicPrefix) + std::to_string(v)) format = v;
  }
  if (format == 0) {
    if (bytes.starts_with(kMagicPrefix)) {
      return Status::Invalid("fraud model format '", first_line,
                             "' is not supported (this pfad reads versions 1 to ", kFormatVersion, ")");
    }
    return Status::Invalid("not a PFAD fraud model (it does not start with '", kMagicPrefix,
                           "<version>'; docs/FRAUD.md section 4)");
  }
  bytes.remove_prefix(first_line.size() + 1);
  const auto newline = bytes.find('\n');
  if (newline == std::string_view::npos)
    return Status::Invalid("corrupt fraud model: its header line is cut off");
  const auto header = nlohmann::json::parse(bytes.substr(0, newline), nullptr, /*allow_exceptions=*/false);
  bytes.remove_prefix(newline + 1);
  if (!header.is_object() || !header.contains("parts") || !header["parts"].is_array()) {
    return Status::Invalid("corrupt fraud model: its header is not the expected JSON");
  }
  FraudModel model;
  try {
    model.name = header.at("model").get<std::string>();
    model.version = header.at("version").get<int>();
    model.trained_on = header.value("trained_on", "");
    model.window_minutes = header.at("window_minutes").get<int>();
    if (model.version < 1 || model.version > kFormatVersion) {
      return Status::Invalid("fraud model version ", model.version,
                             " is not supported (this pfad reads versions 1 to ", kFormatVersion, ")");
    }
    if (model.version != format) {
      return Status::Invalid("corrupt fraud model: its header says version ", model.version,
                             ", its first line ", format);
    }
    std::shared_ptr<const Gnn> shared;  // parts with the same network bytes share one Gnn
    std::string_view shared_bytes;
    for (const auto& part : header["parts"]) {
      const auto kind = events::ParseEntityKind(part.at("kind").get<std::string>());
      const auto size = part.at("bytes").get<size_t>();
      const std::string type = format >= 2 ? part.at("type").get<std::string>() : "trees";
      if (!kind) return Status::Invalid("corrupt fraud model: unknown kind ", part.at("kind").dump());
      if (size > bytes.size()) {
        return Status::Invalid("corrupt fraud model: a part of ", size, " bytes, but only ", bytes.size(),
                               " left");
      }
      const auto threshold = part.at("threshold").get<double>();
      const auto part_bytes = bytes.substr(0, size);
      if (type == "gnn") {
        if (shared == nullptr || part_bytes != shared_bytes) {
          auto gnn = Gnn::Deserialize(part_bytes);
          if (!gnn.ok()) return Status::Invalid("corrupt fraud model: ", gnn.status().message());
          shared = std::make_shared<const Gnn>(*std::move(gnn));
          shared_bytes = part_bytes;
        }
        model.parts.push_back({*kind, threshold, BoostedTrees(), shared});
      } else if (type == "trees") {
        auto trees = BoostedTrees::Deserialize(part_bytes);
        if (!trees.ok()) return Status::Invalid("corrupt fraud model: ", trees.status().message());
        model.parts.push_back({*kind, threshold, *std::move(trees), nullptr});
      } else {
        return Status::Invalid("corrupt fraud model: unknown part type '", type, "'");
      }
      bytes.remove_prefix(size);
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Invalid("corrupt fraud model: its header lacks a field: ", e.what());
  }
  if (!bytes.empty())
    return Status::Invalid("corrupt fraud model: ", bytes.size(), " bytes after the last part");
  if (model.parts.empty()) return Status::Invalid("corrupt fraud model: it has no parts");
  return model;
}

namespace {

Status CheckBothClasses(const std::vector<uint8_t>& y, events::EntityKind kind) {
  const auto positives = std::count(y.begin(), y.end(), 1);
  if (positives == 0 || positives == static_cast<long>(y.size())) {
    return Status::Invalid("the training minutes hold ", positives, " fraud ", events::ToString(kind),
                           "s of ", y.size(), ": a model needs both classes");
  }
  return Status::OK();
}

// One training window's graph and node features.
struct TrainingWindow {
  WindowGraph graph;
  NodeFeatures nodes;
};

Status TrainGnn(std::vector<TrainingWindow>& windows, const LabelIndex& labels, const TrainOptions& options,
                FraudModel& model) {
  GnnParams params = options.gnn;
  params.architecture = options.model == "gnn_sage" ? GnnArchitecture::kSage : GnnArchitecture::kHetero;
  std::vector<GnnGraph> graphs;
  std::vector<uint8_t> all[2];
  for (const auto& w : windows) {
    GnnGraph g{&w.nodes,
               &w.graph.edges,
               FraudFlags(w.nodes.users.ids, labels.of(events::EntityKind::kUser)),
               {},
               FraudFlags(w.nodes.sessions.ids, labels.of(events::EntityKind::kSession)),
               {}};
    g.user_mask.assign(g.user_labels.size(), 1);
    g.session_mask.assign(g.session_labels.size(), 1);
    all[0].insert(all[0].end(), g.user_labels.begin(), g.user_labels.end());
    all[1].insert(all[1].end(), g.session_labels.begin(), g.session_labels.end());
    graphs.push_back(std::move(g));
  }
  PFAD_RETURN_NOT_OK(CheckBothClasses(all[0], events::EntityKind::kUser));
  PFAD_RETURN_NOT_OK(CheckBothClasses(all[1], events::EntityKind::kSession));
  PFAD_ASSIGN_OR_RAISE(auto trained, Gnn::Train(graphs, params));
  const auto gnn = std::make_shared<const Gnn>(std::move(trained));
  // Thresholds: the score at train_fpr over the training entities of each kind, at least 0.5.
  std::vector<double> scores[2];
  for (const auto& w : windows) {
    PFAD_ASSIGN_OR_RAISE(const auto s, gnn->Predict(w.nodes, w.graph.edges));
    scores[0].insert(scores[0].end(), s.users.begin(), s.users.end());
    scores[1].insert(scores[1].end(), s.sessions.begin(), s.sessions.end());
  }
  for (const events::EntityKind kind : {events::EntityKind::kUser, events::EntityKind::kSession}) {
    const int k = static_cast<int>(kind);
    // Never below 0.5: the network separates its own training entities almost
    // perfectly, so their 1 %-FPR score is near 0 and would flag ~4 % of unseen
    // ordinary entities (docs/FRAUD.md section 4); on noisy data it is higher.
    double threshold = AtFalsePositiveRate(scores[k], all[k], options.train_fpr).threshold;
    if (!std::isfinite(threshold)) threshold = 1.0;
    threshold = std::max(threshold, 0.5);
    model.parts.push_back({kind, options.threshold.value_or(threshold), BoostedTrees(), gnn});
  }
  return Status::OK();
}

}  // namespace

Result<FraudModel> TrainModel(const storage::ObjectStore& store,
                              const std::vector<storage::ObjectUri>& minutes, const TrainOptions& options) {
  const auto& known = TrainableModels();
  if (std::find(known.begin(), known.end(), options.model) == known.end()) {
    return Status::Invalid("unknown fraud model '", options.model,
                           "' (known: gnn_hetero, gnn_sage, trees_graph)");
  }
  if (minutes.empty()) return Status::Invalid("no minute objects to train on");
  if (options.window_minutes < 1) return Status::Invalid("window minutes must be at least 1");
  if (!(options.train_fpr >= 0 && options.train_fpr < 1))
    return Status::Invalid("train FPR must be in [0, 1)");
  PFAD_ASSIGN_OR_RAISE(
      const LabelIndex labels,
      ReadTrainingLabels(store, minutes,
                         options.labels.value_or(labels::DefaultLabelsPrefix(minutes.front().Parent())),
                         options.label_counts));
  const bool gnn = options.model != "trees_graph";
  FeatureTable rows[2];
  std::vector<TrainingWindow> windows;
  const auto w = static_cast<size_t>(options.window_minutes);
  for (size_t start = 0; start < minutes.size(); start += w) {
    const std::vector<storage::ObjectUri> window(
        minutes.begin() + static_cast<long>(start),
        minutes.begin() + static_cast<long>(std::min(minutes.size(), start + w)));
    PFAD_ASSIGN_OR_RAISE(const auto events, ReadWindow(store, window));
    TrainingWindow t{BuildGraph(events), {}};
    t.nodes = ComputeNodeFeatures(events, t.graph);
    if (gnn) {
      windows.push_back(std::move(t));
      continue;
    }
    const auto features = WithNeighbours(t.nodes, t.graph.edges);
    Append(rows[0], features.users);
    Append(rows[1], features.sessions);
  }
  FraudModel model;
  model.name = options.model;
  model.version = gnn ? 2 : 1;
  model.trained_on = minutes.front().Parent().ToString() + " (" + minutes.front().Basename() + " to " +
                     minutes.back().Basename() + ")";
  model.window_minutes = options.window_minutes;
  if (gnn) {
    PFAD_RETURN_NOT_OK(TrainGnn(windows, labels, options, model));
    return model;
  }
  for (const auto& table : rows) {
    const auto y = FraudFlags(table.ids, labels.of(table.kind));
    PFAD_RETURN_NOT_OK(CheckBothClasses(y, table.kind));
    PFAD_ASSIGN_OR_RAISE(auto trees, BoostedTrees::Train(table, y, options.trees));
    model.parts.push_back({table.kind, options.threshold.value_or(0.5), std::move(trees), nullptr});
  }
  return model;
}

}  // namespace pfad::fraud
