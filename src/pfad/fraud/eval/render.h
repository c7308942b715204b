// How `pfad fraud eval` shows an evaluation (docs/FRAUD.md section 3): a
// Markdown table, JSON and the PR curves as SVG.
#pragma once

#include "pfad/fraud/eval/figures.h"

#include <string>

namespace pfad::fraud {

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
