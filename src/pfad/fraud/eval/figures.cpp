// Judge of figures.h: the ranking metrics of the whole test set, then each
// slice's against the same 1 % FPR operating point.
#include "pfad/fraud/eval/figures.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pfad::fraud {
namespace {

// As the metrics rank it: NaN below every other score.
double RankingKey(double score) {
  return std::isnan(score) ? -std::numeric_limits<double>::infinity() : score;
}

double Ratio(size_t num, size_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

}  // namespace

ModelFigures Judge(std::string model, events::EntityKind kind, uint64_t seed, std::span<const double> scores,
                   const TestTruth& truth) {
  const std::span<const uint8_t> labels = truth.labels;
  const size_t n = std::min(scores.size(), labels.size());
  ModelFigures figures;
  figures.model = std::move(model);
  figures.kind = kind;
  figures.seed = seed;
  figures.test_entities = n;
  figures.test_positives = static_cast<size_t>(std::count_if(
      labels.begin(), labels.begin() + static_cast<ptrdiff_t>(n), [](uint8_t label) { return label != 0; }));
  figures.pr_auc = AveragePrecision(scores, labels);
  figures.roc_auc = RocAuc(scores, labels);
  const OperatingPoint point = AtFalsePositiveRate(scores, labels, 0.01);
  figures.recall_at_1fpr = point.recall;
  figures.curve = PrecisionRecallCurve(scores, labels);

  const auto slice_of = [&](size_t i) { return i < truth.slice.size() ? truth.slice[i] : -1; };
  for (size_t s = 0; s < truth.slice_names.size(); ++s) {
    SliceFigures slice;
    slice.name = truth.slice_names[s];
    slice.fraud = s < truth.slice_is_fraud.size() ? truth.slice_is_fraud[s] : true;
    std::vector<double> sub_scores;
    std::vector<uint8_t> sub_labels;
    size_t counted = 0;  // fraud slices: the slice's positives; look-alikes: all its entities
    size_t flagged = 0;
    for (size_t i = 0; i < n; ++i) {
      const bool member = slice_of(i) == static_cast<int>(s);
      if (member) ++slice.entities;
      if (slice.fraud) {
        if ((member && labels[i] != 0) || labels[i] == 0) {
          sub_scores.push_back(scores[i]);
          sub_labels.push_back(labels[i]);
        }
        if (!member || labels[i] == 0) continue;
      } else if (!member) {
        continue;
      }
      ++counted;
      if (RankingKey(scores[i]) >= point.threshold) ++flagged;
    }
    if (slice.fraud) slice.pr_auc = AveragePrecision(sub_scores, sub_labels);
    slice.recall_at_1fpr = Ratio(flagged, counted);
    figures.slices.push_back(std::move(slice));
  }
  return figures;
}

}  // namespace pfad::fraud
