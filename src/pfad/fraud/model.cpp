#include "pfad/fraud/model.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "pfad/fraud/graph_features.h"
#include "pfad/fraud/truth.h"
#include "pfad/fraud/window.h"

namespace pfad::fraud {
namespace {

constexpr std::string_view kMagic = "PFAD-FRAUD-MODEL 1\n";

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

std::string FraudModel::Label() const { return name + " v" + std::to_string(version); }

Result<std::string> FraudModel::Serialize() const {
  nlohmann::json header = {{"model", name},
                           {"version", version},
                           {"trained_on", trained_on},
                           {"window_minutes", window_minutes},
                           {"parts", nlohmann::json::array()}};
  std::string body;
  for (const Part& part : parts) {
    PFAD_ASSIGN_OR_RAISE(auto bytes, part.trees.Serialize());
    header["parts"].push_back(
        {{"kind", events::ToString(part.kind)}, {"threshold", part.threshold}, {"bytes", bytes.size()}});
    body += bytes;
  }
  return std::string(kMagic) + header.dump() + "\n" + body;
}

Result<FraudModel> FraudModel::Parse(std::string_view bytes) {
  if (!bytes.starts_with(kMagic)) {
    return Status::Invalid("not a PFAD fraud model (it does not start with '", kMagic.substr(0, kMagic.size() - 1),
                           "'; docs/FRAUD.md section 4)");
  }
  bytes.remove_prefix(kMagic.size());
  const auto newline = bytes.find('\n');
  if (newline == std::string_view::npos) return Status::Invalid("corrupt fraud model: its header line is cut off");
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
    if (model.version != kFormatVersion) {
      return Status::Invalid("fraud model version ", model.version, " is not supported (this pfad reads version ",
                             kFormatVersion, ")");
    }
    for (const auto& part : header["parts"]) {
      const auto kind = events::ParseEntityKind(part.at("kind").get<std::string>());
      const auto size = part.at("bytes").get<size_t>();
      if (!kind) return Status::Invalid("corrupt fraud model: unknown kind ", part.at("kind").dump());
      if (size > bytes.size()) {
        return Status::Invalid("corrupt fraud model: a part of ", size, " bytes, but only ", bytes.size(), " left");
      }
      auto trees = BoostedTrees::Deserialize(bytes.substr(0, size));
      if (!trees.ok()) return Status::Invalid("corrupt fraud model: ", trees.status().message());
      bytes.remove_prefix(size);
      model.parts.push_back({*kind, part.at("threshold").get<double>(), *std::move(trees)});
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Invalid("corrupt fraud model: its header lacks a field: ", e.what());
  }
  if (!bytes.empty()) return Status::Invalid("corrupt fraud model: ", bytes.size(), " bytes after the last part");
  if (model.parts.empty()) return Status::Invalid("corrupt fraud model: it has no parts");
  return model;
}

Result<FraudModel> TrainModel(const storage::ObjectStore& store, const std::vector<storage::ObjectUri>& minutes,
                              const TrainOptions& options) {
  if (minutes.empty()) return Status::Invalid("no minute objects to train on");
  if (options.window_minutes < 1) return Status::Invalid("window minutes must be at least 1");
  PFAD_ASSIGN_OR_RAISE(const LabelIndex labels, ReadLabels(store, minutes));
  FeatureTable rows[2];
  const auto w = static_cast<size_t>(options.window_minutes);
  for (size_t start = 0; start < minutes.size(); start += w) {
    const std::vector<storage::ObjectUri> window(minutes.begin() + static_cast<long>(start),
                                                 minutes.begin() + static_cast<long>(std::min(minutes.size(), start + w)));
    PFAD_ASSIGN_OR_RAISE(const auto events, ReadWindow(store, window));
    const auto graph = BuildGraph(events);
    const auto features = WithNeighbours(ComputeNodeFeatures(events, graph), graph.edges);
    Append(rows[0], features.users);
    Append(rows[1], features.sessions);
  }
  FraudModel model;
  model.trained_on = minutes.front().Parent().ToString() + " (" + minutes.front().Basename() + " to " +
                     minutes.back().Basename() + ")";
  model.window_minutes = options.window_minutes;
  for (const auto& table : rows) {
    const auto y = FraudFlags(table.ids, labels.of(table.kind));
    const auto positives = std::count(y.begin(), y.end(), 1);
    if (positives == 0 || positives == static_cast<long>(y.size())) {
      return Status::Invalid("the training minutes hold ", positives, " fraud ", events::ToString(table.kind), "s of ",
                             y.size(), ": a model needs both classes");
    }
    PFAD_ASSIGN_OR_RAISE(auto trees, BoostedTrees::Train(table, y, options.trees));
    model.parts.push_back({table.kind, options.threshold, std::move(trees)});
  }
  return model;
}

}  // namespace pfad::fraud
