// A trained fraud model, what `pfad fraud train` writes and `pfad fraud score`
// reads (docs/FRAUD.md section 4): boosted trees on the window graph's
// features, one per entity kind, each with its flagging threshold.
//
// File format, version 1: the line "PFAD-FRAUD-MODEL 1", a line of JSON
// {"model", "version", "trained_on", "window_minutes", "parts": [{"kind",
// "threshold", "bytes"}]}, then each part's model bytes in that order. Parse
// checks all of it, so a corrupt or foreign file is Invalid and never scores.
#pragma once

#include "pfad/fraud/boosted_trees.h"
#include "pfad/storage/object_store.h"

#include <string>
#include <string_view>
#include <vector>

namespace pfad::fraud {

struct FraudModel {
  static constexpr int kFormatVersion = 1;
  std::string name = "trees_graph";
  int version = kFormatVersion;
  std::string trained_on;  // what it was trained on (window URI, minutes)
  int window_minutes = 10;

  struct Part {
    events::EntityKind kind = events::EntityKind::kUser;
    double threshold = 0.5;  // is_fraud when the score is at least this
    BoostedTrees trees;
  };
  std::vector<Part> parts;

  // "trees_graph v1", as the scores' `model` column shows it.
  [[nodiscard]] std::string Label() const;
  [[nodiscard]] Result<std::string> Serialize() const;
  static Result<FraudModel> Parse(std::string_view bytes);
};

struct TrainOptions {
  TreeParams trees;
  double threshold = 0.5;
  int window_minutes = 10;
};

// Trains on labelled minutes (labels beside them): the minutes are cut into
// consecutive windows of window_minutes, as scoring sees them, and the rows of
// all windows train one model per kind. Invalid without fraud of a kind.
Result<FraudModel> TrainModel(const storage::ObjectStore& store, const std::vector<storage::ObjectUri>& minutes,
                              const TrainOptions& options);

}  // namespace pfad::fraud
