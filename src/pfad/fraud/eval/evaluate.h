// `pfad fraud eval` (docs/FRAUD.md section 3): trains and judges the models on
// labelled data, with the same protocol for every model.
//
// Minute objects: the earlier share of the minutes is the training window, the
// rest the test window, each with its own graph; labels come from the
// `<minute>.labels.parquet` objects beside the minutes; entities seen in the
// training window are left out of the test set.
//
// Interactions (any labelled user-item list, e.g. YelpChi): users are scored.
// With a time column the split is by time as above; without one, the users are
// split at random per seed (train share / rest) over the one graph of all the
// interactions, as the published YelpChi settings do. Features never use labels.
#pragma once

#include "pfad/fraud/eval/figures.h"
#include "pfad/fraud/models/boosted_trees.h"
#include "pfad/fraud/models/gnn.h"
#include "pfad/storage/object_store.h"

#include <string>
#include <vector>

namespace pfad::fraud {

struct EvalOptions {
  double train_share = 0.6;
  int seeds = 5;
  uint64_t first_seed = 1;
  TreeParams trees;
  // The GNN models (gnn_sage, gnn_hetero, gnn_hetero_shuffled); the seed is each run's.
  bool gnn = true;
  GnnParams gnn_params;
};

Result<Evaluation> EvaluateMinutes(const storage::ObjectStore& store,
                                   const std::vector<storage::ObjectUri>& minutes,
                                   const EvalOptions& options);

struct InteractionsOptions {
  std::string positive_label = "1";  // a user is positive when any of its rows has it
  std::string negative_label = "0";  // every other row must have this one
};

// Reads CSV (.csv), TSV (.tsv, .txt) or Parquet (.parquet) with columns user,
// item, label and optionally time (an integer). Invalid, naming the file and
// the column or row, for a missing column or a label that is neither value.
Result<Evaluation> EvaluateInteractions(const std::string& path, const InteractionsOptions& interactions,
                                        const EvalOptions& options);

}  // namespace pfad::fraud
