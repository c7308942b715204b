// What `pfad fraud eval` measures (docs/FRAUD.md section 3): the figures of one
// model on one kind of entity for one seed (overall and per scenario slice), and
// the evaluation that collects them for the renderings of eval/render.h.
#pragma once

#include "pfad/events/labels.h"
#include "pfad/fraud/models/metrics.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace pfad::fraud {

// The test set's truth: labels and, per entity, its slice (scenario) or -1
// for ordinary traffic.
struct TestTruth {
  std::vector<uint8_t> labels;
  std::vector<int> slice;
  std::vector<std::string> slice_names;  // e.g. "bot", "power_user"
  std::vector<bool> slice_is_fraud;      // per slice name
};

struct SliceFigures {
  std::string name;
  bool fraud = true;
  size_t entities = 0;
  // Fraud slices: the slice's positives against all negatives. Look-alike slices:
  // pr_auc is 0 and recall_at_1fpr is the share of the slice flagged at the 1 %
  // FPR threshold of the whole test set.
  double pr_auc = 0;
  double recall_at_1fpr = 0;
};

struct ModelFigures {
  std::string model;  // "rules", "trees_node", "trees_graph", "trees_graph_shuffled", ...
  events::EntityKind kind = events::EntityKind::kUser;
  uint64_t seed = 0;
  size_t test_entities = 0;
  size_t test_positives = 0;
  double pr_auc = 0;
  double roc_auc = 0;
  double recall_at_1fpr = 0;
  std::vector<SliceFigures> slices;  // in the order of TestTruth::slice_names
  PrCurve curve;
};

// All figures of one model's scores on one test set (scores paired by index
// with truth.labels and truth.slice). The 1 % FPR operating point is that of
// the whole test set; every slice's recall_at_1fpr is measured at it. A fraud
// slice counts its positive members; a look-alike slice all its members.
ModelFigures Judge(std::string model, events::EntityKind kind, uint64_t seed, std::span<const double> scores,
                   const TestTruth& truth);

struct Evaluation {
  std::string dataset;             // what was evaluated (path, or "interactions: <file>")
  std::vector<std::string> notes;  // protocol lines shown under the table
  std::vector<ModelFigures> runs;  // every model x kind x seed
};

}  // namespace pfad::fraud
