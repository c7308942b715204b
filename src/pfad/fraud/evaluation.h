// What `pfad fraud eval` measures and how it is shown (docs/FRAUD.md section 3):
// the figures of one model on one kind of entity for one seed, and the
// renderings of a whole evaluation (Markdown table, JSON, PR curves as SVG).
#pragma once

#include "pfad/events/labels.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace pfad::fraud {

// Scores: higher = more suspicious. Labels: 1 = fraud, 0 = not. Scores and
// labels are paired by index (extra elements of the longer span are ignored);
// a NaN score ranks below every other score.

// Average precision (the step-wise area under the PR curve): thresholds are the
// distinct scores in descending order, AP = sum over them of (R_k - R_{k-1}) * P_k.
// 0 when there are no positives.
double AveragePrecision(std::span<const double> scores, std::span<const uint8_t> labels);
// Area under the ROC curve, ties counted as half (0.5 when a class is empty).
double RocAuc(std::span<const double> scores, std::span<const uint8_t> labels);

// The lowest threshold t such that flagging score >= t keeps the false-positive
// rate <= max_fpr (a group of tied scores is taken whole or not at all).
struct OperatingPoint {
  double threshold = 0;  // +infinity when nothing can be flagged
  double recall = 0;
  double fpr = 0;
};
OperatingPoint AtFalsePositiveRate(std::span<const double> scores, std::span<const uint8_t> labels,
                                   double max_fpr);

struct PrCurve {
  std::vector<double> recall;
  std::vector<double> precision;
};
// One (recall, precision) point per distinct score, highest first; at most
// max_points points, evenly thinned over the thresholds and always keeping the
// last (recall 1). Empty when there are no positives.
PrCurve PrecisionRecallCurve(std::span<const double> scores, std::span<const uint8_t> labels,
                             size_t max_points = 200);

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

// The renderings group runs by kind (users, then sessions; kinds without runs
// left out) and by model (in order of first appearance in `runs`); the seeds
// of a model are its runs of that kind. "mean ± sd" uses the sample standard
// deviation (divide by n - 1; 0 for a single seed).
//
// Markdown: per kind a section with the test set's size and one row per model:
// PR-AUC, ROC-AUC and recall at 1 % FPR as mean ± sd over the seeds, then each
// slice's PR-AUC (fraud, column "<slice> PR-AUC") or flagged share
// (look-alikes, column "<slice> flagged"), also mean ± sd; "–" where the kind
// has no entity of the slice. The notes follow as a list.
std::string RenderMarkdown(const Evaluation& evaluation);
// {"dataset", "notes", "sd": "sample (n - 1)", "runs": [every run with its
// figures and slices, curves left out], "summary": [per kind and model:
// "seeds", {"mean","sd"} of pr_auc, roc_auc, recall_at_1fpr and of each slice's
// pr_auc and recall_at_1fpr]}.
std::string RenderJson(const Evaluation& evaluation);
// One panel per kind (recall on x, precision on y, both 0..1 with ticks every
// 0.2), one polyline and legend entry per model: the curve of its first run
// in `runs` (the first seed's).
std::string RenderPrCurvesSvg(const Evaluation& evaluation);

}  // namespace pfad::fraud
