// Gradient-boosted trees (XGBoost, docs/FRAUD.md section 3: the trees_* models)
// over a FeatureTable: binary logistic objective, histogram tree method.
//
// A model remembers the names of the columns it was trained on; Predict finds
// them by name in the table it is given (extra columns are ignored, a missing
// one is Invalid), so feature tables may order or extend their columns freely.
// Feature values are handed to XGBoost as float; NaN means missing.
//
// Determinism: the same table, labels and TreeParams (seed and threads
// included) give the same model and the same predictions.
//
// Serialize gives XGBoost's own UBJSON model (feature names included, plus the
// thread count as a booster attribute); Deserialize reads it back, and the
// restored model predicts exactly as the original.
//
// XGBoost's C API stays inside this module: handles are owned by RAII types,
// every call's error code is checked and its XGBGetLastError text returned in
// the Status. Train, Predict and Importance on one object must not run
// concurrently (the booster keeps per-call output buffers).
#pragma once

#include "pfad/common/status.h"
#include "pfad/fraud/graph/feature_table.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pfad::fraud {

struct TreeParams {
  int rounds = 200;  // boosting rounds (trees)
  int max_depth = 6;
  double eta = 0.1;        // learning rate
  double subsample = 0.8;  // rows sampled per tree
  double colsample = 0.8;  // columns sampled per tree
  double min_child_weight = 1;
  // XGBoost's nthread. 1 by default: the models are small, and OpenMP threads
  // that spin-wait slow down badly on a busy 2-core machine.
  int threads = 1;
  uint64_t seed = 0;  // row/column sampling; at most 2^63 - 1 (XGBoost's is signed)
};

class BoostedTrees {
 public:
  // Invalid when a parameter is out of range (rounds, max_depth, threads >= 1;
  // eta > 0; subsample, colsample in (0, 1]; min_child_weight >= 0), the table
  // is empty or ragged, or labels.size() differs from its rows; an XGBoost
  // failure otherwise carries XGBoost's message.
  static Result<BoostedTrees> Train(const FeatureTable& table, std::span<const uint8_t> labels,
                                    const TreeParams& params);
  static Result<BoostedTrees> Deserialize(std::string_view bytes);

  // One probability of fraud per row of `table`, in row order.
  Result<std::vector<double>> Predict(const FeatureTable& table) const;
  // Per row, each feature's additive share of the row's log-odds (XGBoost's
  // SHAP contributions), in feature_names() order; the bias is left out.
  Result<std::vector<std::vector<double>>> Contributions(const FeatureTable& table) const;
  Result<std::string> Serialize() const;
  // The training table's column names, in the model's order.
  const std::vector<std::string>& feature_names() const { return names_; }
  // Total gain of every feature over all splits (0 for features never used),
  // highest first; ties in the training column order.
  Result<std::vector<std::pair<std::string, double>>> Importance() const;

  // No trees: every use is Invalid (what a GNN model part holds).
  BoostedTrees() = default;
  BoostedTrees(BoostedTrees&&) noexcept = default;
  BoostedTrees& operator=(BoostedTrees&&) noexcept = default;
  ~BoostedTrees() = default;

 private:
  struct BoosterFree {
    void operator()(void* handle) const;
  };
  using Booster = std::unique_ptr<void, BoosterFree>;

  // The table's column index of each model feature; Invalid naming a missing one.
  Result<std::vector<size_t>> ColumnsOf(const FeatureTable& table) const;

  BoostedTrees(Booster booster, std::vector<std::string> names)
      : booster_(std::move(booster)), names_(std::move(names)) {}

  Booster booster_;
  std::vector<std::string> names_;
};

}  // namespace pfad::fraud
