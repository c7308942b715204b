#include "pfad/fraud/models/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <vector>

namespace pfad::fraud {
namespace {

using Scores = std::vector<double>;
using Labels = std::vector<uint8_t>;

TEST(Metrics, HandComputedRanking) {
  const Scores scores = {0.9, 0.8, 0.7, 0.6};
  const Labels labels = {1, 0, 1, 0};
  EXPECT_NEAR(AveragePrecision(scores, labels), 0.5 * 1 + 0.5 * (2.0 / 3), 1e-12);
  EXPECT_NEAR(RocAuc(scores, labels), 0.75, 1e-12);
}

TEST(Metrics, TiedScoresAreOneThreshold) {
  const Scores scores = {0.5, 0.5, 0.5, 0.1};
  const Labels labels = {1, 0, 0, 1};
  // 0.5: recall 1/2 at precision 1/3; 0.1: recall 1 at precision 1/2.
  EXPECT_NEAR(AveragePrecision(scores, labels), 0.5 / 3 + 0.5 * 0.5, 1e-12);
  // The positive at 0.5 ties with both negatives (half each); the one at 0.1 beats none.
  EXPECT_NEAR(RocAuc(scores, labels), 1.0 / 4, 1e-12);
}

TEST(Metrics, AllEqualScores) {
  const Scores scores = {1, 1, 1, 1};
  const Labels labels = {1, 0, 1, 0};
  EXPECT_NEAR(AveragePrecision(scores, labels), 0.5, 1e-12);  // the base rate
  EXPECT_NEAR(RocAuc(scores, labels), 0.5, 1e-12);
  const OperatingPoint point = AtFalsePositiveRate(scores, labels, 0.01);
  EXPECT_TRUE(std::isinf(point.threshold));  // the tied group is all or nothing
  EXPECT_EQ(point.recall, 0);
  const PrCurve curve = PrecisionRecallCurve(scores, labels);
  ASSERT_EQ(curve.recall.size(), 1U);
  EXPECT_EQ(curve.recall[0], 1);
  EXPECT_EQ(curve.precision[0], 0.5);
}

TEST(Metrics, NoPositives) {
  const Scores scores = {0.3, 0.2, 0.1};
  const Labels labels = {0, 0, 0};
  EXPECT_EQ(AveragePrecision(scores, labels), 0);
  EXPECT_EQ(RocAuc(scores, labels), 0.5);
  EXPECT_EQ(AtFalsePositiveRate(scores, labels, 0.01).recall, 0);
  EXPECT_TRUE(PrecisionRecallCurve(scores, labels).recall.empty());
  EXPECT_EQ(AveragePrecision({}, {}), 0);
  EXPECT_EQ(RocAuc({}, {}), 0.5);
}

TEST(Metrics, PerfectRanking) {
  const Scores scores = {5, 4, 3, 2, 1};
  const Labels labels = {1, 1, 0, 0, 0};
  EXPECT_EQ(AveragePrecision(scores, labels), 1);
  EXPECT_EQ(RocAuc(scores, labels), 1);
  const OperatingPoint point = AtFalsePositiveRate(scores, labels, 0.01);
  EXPECT_EQ(point.threshold, 4);
  EXPECT_EQ(point.recall, 1);
  EXPECT_EQ(point.fpr, 0);
}

TEST(Metrics, OperatingPointTakesTheLowestThresholdWithinTheRate) {
  const Scores scores = {0.9, 0.8, 0.7, 0.6, 0.5};
  const Labels labels = {1, 1, 0, 1, 0};
  OperatingPoint point = AtFalsePositiveRate(scores, labels, 0.5);
  EXPECT_EQ(point.threshold, 0.6);
  EXPECT_EQ(point.recall, 1);
  EXPECT_EQ(point.fpr, 0.5);
  point = AtFalsePositiveRate(scores, labels, 0);
  EXPECT_EQ(point.threshold, 0.8);
  EXPECT_NEAR(point.recall, 2.0 / 3, 1e-12);
  // A tie between a positive and a negative is taken whole or not at all.
  point = AtFalsePositiveRate(Scores{0.9, 0.5, 0.5}, Labels{1, 1, 0}, 0);
  EXPECT_EQ(point.threshold, 0.9);
  EXPECT_EQ(point.recall, 0.5);
  // Nothing can be flagged when the top score is a negative.
  point = AtFalsePositiveRate(Scores{0.9, 0.1}, Labels{0, 1}, 0);
  EXPECT_TRUE(std::isinf(point.threshold));
  EXPECT_EQ(point.recall, 0);
}

TEST(Metrics, CurveIsThinnedEvenlyAndEndsAtFullRecall) {
  Scores scores;
  Labels labels;
  for (int i = 0; i < 1000; ++i) {
    scores.push_back(i);
    labels.push_back(i % 3 == 0 ? 1 : 0);
  }
  const PrCurve curve = PrecisionRecallCurve(scores, labels, 50);
  ASSERT_EQ(curve.recall.size(), 50U);
  ASSERT_EQ(curve.precision.size(), 50U);
  EXPECT_EQ(curve.recall.back(), 1);
  for (size_t i = 1; i < curve.recall.size(); ++i) EXPECT_GE(curve.recall[i], curve.recall[i - 1]);
}

// The definitions of metrics.h, computed the slow way.
double BruteAp(const Scores& s, const Labels& l) {
  std::set<double, std::greater<>> thresholds(s.begin(), s.end());
  double positives = 0;
  for (uint8_t label : l) positives += label;
  if (positives == 0) return 0;
  double ap = 0;
  double previous_recall = 0;
  for (double t : thresholds) {
    double tp = 0;
    double flagged = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] >= t) {
        ++flagged;
        tp += l[i];
      }
    }
    ap += (tp / positives - previous_recall) * (tp / flagged);
    previous_recall = tp / positives;
  }
  return ap;
}

double BruteAuc(const Scores& s, const Labels& l) {
  double wins = 0;
  double pairs = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    for (size_t j = 0; j < s.size(); ++j) {
      if (l[i] != 1 || l[j] != 0) continue;
      ++pairs;
      wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
    }
  }
  return pairs == 0 ? 0.5 : wins / pairs;
}

double BruteThreshold(const Scores& s, const Labels& l, double max_fpr) {
  double negatives = 0;
  for (uint8_t label : l) negatives += 1 - label;
  double best = std::numeric_limits<double>::infinity();
  for (double t : s) {
    double fp = 0;
    for (size_t i = 0; i < s.size(); ++i) fp += s[i] >= t && l[i] == 0 ? 1 : 0;
    if (fp / negatives <= max_fpr) best = std::min(best, t);
  }
  return best;
}

TEST(Metrics, AgreeWithBruteForceOnRandomTiedScores) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> uniform(0, 1);
  for (int round = 0; round < 20; ++round) {
    Scores scores;
    Labels labels;
    for (int i = 0; i < 300; ++i) {
      const uint8_t label = uniform(rng) < 0.3 ? 1 : 0;
      labels.push_back(label);
      scores.push_back(std::floor((uniform(rng) + 0.3 * label) * 20) / 20);  // many ties
    }
    EXPECT_NEAR(AveragePrecision(scores, labels), BruteAp(scores, labels), 1e-12);
    EXPECT_NEAR(RocAuc(scores, labels), BruteAuc(scores, labels), 1e-12);
    for (double max_fpr : {0.0, 0.01, 0.1, 0.5}) {
      const OperatingPoint point = AtFalsePositiveRate(scores, labels, max_fpr);
      EXPECT_EQ(point.threshold, BruteThreshold(scores, labels, max_fpr)) << max_fpr;
      EXPECT_LE(point.fpr, max_fpr);
    }
  }
}

}  // namespace
}  // namespace pfad::fraud
