// A trained fraud model, what `pfad fraud train` writes and `pfad fraud score`
// reads (docs/FRAUD.md sections 4 and 5): boosted trees on the window graph's
// features, one per entity kind, or a graph neural network over the window
// graph with one head per kind; each part with its flagging threshold.
//
// File format: the line "PFAD-FRAUD-MODEL <version>", a line of JSON {"model",
// "version", "trained_on", "window_minutes", "parts": [{"kind", "threshold",
// "bytes", "type"}]}, then each part's model bytes in that order. Version 1:
// trees parts only, no "type" (files of earlier pfad builds; trees-only models
// are still written so). Version 2 adds "type": "trees" or "gnn" (the bytes of
// Gnn::Serialize; each GNN part holds the whole network and scores its kind
// with its head). Parse checks all of it, so a corrupt or foreign file is
// Invalid and never scores.
#pragma once

#include "pfad/fraud/graph/truth.h"
#include "pfad/fraud/models/boosted_trees.h"
#include "pfad/fraud/models/gnn.h"
#include "pfad/storage/object_store.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pfad::fraud {

struct FraudModel {
  static constexpr int kFormatVersion = 2;  // the newest this build reads and writes
  std::string name = "trees_graph";         // or "gnn_sage", "gnn_hetero"
  int version = 1;                          // 2 when a part is a GNN
  std::string trained_on;                   // what it was trained on (window URI, minutes)
  int window_minutes = 10;

  struct Part {
    events::EntityKind kind = events::EntityKind::kUser;
    double threshold = 0.5;          // is_fraud when the score is at least this
    BoostedTrees trees;              // a trees part
    std::shared_ptr<const Gnn> gnn;  // a GNN part (the parts of one model share it)
  };
  std::vector<Part> parts;

  // "trees_graph v1", as the scores' `model` column shows it.
  [[nodiscard]] std::string Label() const;
  // A graph neural network (its parts share one), not boosted trees.
  [[nodiscard]] bool IsGnn() const;
  [[nodiscard]] Result<std::string> Serialize() const;
  static Result<FraudModel> Parse(std::string_view bytes);
};

// The models `pfad fraud train` can train, the default first.
const std::vector<std::string>& TrainableModels();

struct TrainOptions {
  std::string model = TrainableModels().front();  // one of TrainableModels()
  TreeParams trees;
  GnnParams gnn;  // architecture set from `model`
  // Unset: trees flag at 0.5; a GNN at its score at train_fpr over the
  // training entities of the kind (the lowest such score), but at least 0.5.
  std::optional<double> threshold;
  double train_fpr = 0.01;
  int window_minutes = 10;
  // The labels store (docs/FRAUD.md section 9); unset: "labels" beside the minutes.
  std::optional<storage::ObjectUri> labels;
  LabelCounts* label_counts = nullptr;  // filled when set
};

// Trains on labelled minutes (labels beside them and in the labels store, ReadTrainingLabels): the minutes
// are cut into consecutive windows of window_minutes, as scoring sees them. Trees: the rows of all windows
// train one model per kind. GNN: one network over all windows' graphs (full batch, each window its own
// graph). Invalid without fraud of a kind.
Result<FraudModel> TrainModel(const storage::ObjectStore& store,
                              const std::vector<storage::ObjectUri>& minutes, const TrainOptions& options);

}  // namespace pfad::fraud
