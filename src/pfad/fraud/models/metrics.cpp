// The ranking metrics of metrics.h. Every metric walks the scores
// in descending order one group of tied scores at a time, so a tie is one
// threshold everywhere.
#include "pfad/fraud/models/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace pfad::fraud {
namespace {

// Cumulative counts after each group of tied scores, highest score first.
struct Step {
  double score = 0;
  size_t tp = 0;  // positives with score >= this one
  size_t fp = 0;  // negatives with score >= this one
};

struct Ranking {
  std::vector<Step> steps;
  size_t positives = 0;
  size_t negatives = 0;
};

// NaN ranks lowest: it must not break the sort's ordering.
double Key(double score) { return std::isnan(score) ? -std::numeric_limits<double>::infinity() : score; }

Ranking Rank(std::span<const double> scores, std::span<const uint8_t> labels) {
  const size_t n = std::min(scores.size(), labels.size());
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return Key(scores[a]) > Key(scores[b]); });
  Ranking ranking;
  for (size_t i = 0; i < n; ++i) {
    const size_t index = order[i];
    const double score = Key(scores[index]);
    if (ranking.steps.empty() || ranking.steps.back().score != score) {
      ranking.steps.push_back({score, ranking.positives, ranking.negatives});
    }
    if (labels[index] != 0) {
      ++ranking.positives;
      ++ranking.steps.back().tp;
    } else {
      ++ranking.negatives;
      ++ranking.steps.back().fp;
    }
  }
  return ranking;
}

double Ratio(size_t num, size_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

}  // namespace

double AveragePrecision(std::span<const double> scores, std::span<const uint8_t> labels) {
  const Ranking ranking = Rank(scores, labels);
  if (ranking.positives == 0) return 0;
  double ap = 0;
  size_t previous_tp = 0;
  for (const Step& step : ranking.steps) {
    ap += Ratio(step.tp - previous_tp, ranking.positives) * Ratio(step.tp, step.tp + step.fp);
    previous_tp = step.tp;
  }
  return ap;
}

double RocAuc(std::span<const double> scores, std::span<const uint8_t> labels) {
  const Ranking ranking = Rank(scores, labels);
  if (ranking.positives == 0 || ranking.negatives == 0) return 0.5;
  // Each positive wins against the negatives scored lower and half-wins against tied ones.
  double wins = 0;
  size_t previous_tp = 0;
  size_t previous_fp = 0;
  for (const Step& step : ranking.steps) {
    const double group_positives = static_cast<double>(step.tp - previous_tp);
    const double group_negatives = static_cast<double>(step.fp - previous_fp);
    const double lower_negatives = static_cast<double>(ranking.negatives - step.fp);
    wins += group_positives * (lower_negatives + 0.5 * group_negatives);
    previous_tp = step.tp;
    previous_fp = step.fp;
  }
  return wins / (static_cast<double>(ranking.positives) * static_cast<double>(ranking.negatives));
}

OperatingPoint AtFalsePositiveRate(std::span<const double> scores, std::span<const uint8_t> labels,
                                   double max_fpr) {
  const Ranking ranking = Rank(scores, labels);
  OperatingPoint point;
  point.threshold = std::numeric_limits<double>::infinity();
  for (const Step& step : ranking.steps) {
    const double fpr = Ratio(step.fp, ranking.negatives);
    if (fpr > max_fpr) break;  // the rate only grows as the threshold falls
    point = {step.score, Ratio(step.tp, ranking.positives), fpr};
  }
  return point;
}

PrCurve PrecisionRecallCurve(std::span<const double> scores, std::span<const uint8_t> labels,
                             size_t max_points) {
  const Ranking ranking = Rank(scores, labels);
  PrCurve curve;
  const size_t k = ranking.steps.size();
  if (ranking.positives == 0 || k == 0 || max_points == 0) return curve;
  const size_t points = std::min(k, max_points);
  for (size_t i = 0; i < points; ++i) {
    // Evenly spaced over the thresholds, always ending at the lowest one (recall 1).
    const size_t index = points == 1 ? k - 1 : (i * (k - 1) + (points - 1) / 2) / (points - 1);
    const Step& step = ranking.steps[index];
    curve.recall.push_back(Ratio(step.tp, ranking.positives));
    curve.precision.push_back(Ratio(step.tp, step.tp + step.fp));
  }
  return curve;
}

}  // namespace pfad::fraud
