// The ranking metrics of a model's scores against 0/1 labels (docs/FRAUD.md
// section 3): average precision, ROC AUC, the operating point at a false-positive
// rate and the precision-recall curve. Training sets its thresholds with them
// (fraud_model.cpp); `pfad fraud eval` judges every model with them (eval/figures.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
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

}  // namespace pfad::fraud
