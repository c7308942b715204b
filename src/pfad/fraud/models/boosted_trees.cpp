#include "pfad/fraud/models/boosted_trees.h"

#include <fmt/format.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace pfad::fraud {
namespace {

// Where the thread count travels with a serialized model (XGBoost saves
// attributes, not training parameters).
constexpr const char* kThreadsAttr = "pfad_threads";

// XGBoost failures are internal errors unless the caller maps them.
Status Check(int rc, std::string_view call) {
  if (rc == 0) return Status::OK();
  return Status::UnknownError("XGBoost ", call, " failed: ", XGBGetLastError());
}

struct DMatrixFree {
  void operator()(void* handle) const { XGDMatrixFree(handle); }
};
using DMatrix = std::unique_ptr<void, DMatrixFree>;

std::vector<const char*> CStrings(const std::vector<std::string>& names) {
  std::vector<const char*> out;
  out.reserve(names.size());
  for (const auto& name : names) out.push_back(name.c_str());
  return out;
}

// The table's columns `columns` (in that order) as a float matrix named `names`.
Result<DMatrix> MakeMatrix(const FeatureTable& table, const std::vector<size_t>& columns,
                           const std::vector<std::string>& names) {
  if (table.values.size() != table.rows() * table.cols()) {
    return Status::Invalid("the ", events::ToString(table.kind), " feature table has ", table.values.size(),
                           " values for ", table.rows(), " rows x ", table.cols(), " columns");
  }
  std::vector<float> data(table.rows() * columns.size());
  for (size_t r = 0; r < table.rows(); ++r) {
    const double* row = table.row(r);
    for (size_t c = 0; c < columns.size(); ++c)
      data[r * columns.size() + c] = static_cast<float>(row[columns[c]]);
  }
  DMatrixHandle handle = nullptr;
  PFAD_RETURN_NOT_OK(Check(XGDMatrixCreateFromMat(data.data(), table.rows(), columns.size(),
                                                  std::numeric_limits<float>::quiet_NaN(), &handle),
                           "XGDMatrixCreateFromMat"));
  DMatrix matrix(handle);
  std::vector<const char*> c_names = CStrings(names);
  PFAD_RETURN_NOT_OK(Check(XGDMatrixSetStrFeatureInfo(handle, "feature_name", c_names.data(), c_names.size()),
                           "XGDMatrixSetStrFeatureInfo"));
  return matrix;
}

Status SetParam(BoosterHandle booster, const char* name, const std::string& value) {
  if (XGBoosterSetParam(booster, name, value.c_str()) == 0) return Status::OK();
  return Status::Invalid("XGBoost rejected parameter ", name, "=", value, ": ", XGBGetLastError());
}

// XGBoost checks parameters only when training starts, as internal errors; the
// caller's mistakes are Invalid here instead.
Status Validate(const TreeParams& p) {
  if (p.rounds < 1 || p.max_depth < 1 || p.threads < 1) {
    return Status::Invalid("tree parameters: rounds (", p.rounds, "), max_depth (", p.max_depth,
                           ") and threads (", p.threads, ") must be at least 1");
  }
  if (!(p.eta > 0) || !(p.subsample > 0 && p.subsample <= 1) || !(p.colsample > 0 && p.colsample <= 1) ||
      !(p.min_child_weight >= 0)) {
    return Status::Invalid("tree parameters: eta (", p.eta, ") must be > 0, subsample (", p.subsample,
                           ") and colsample (", p.colsample, ") in (0, 1], min_child_weight (",
                           p.min_child_weight, ") >= 0");
  }
  if (p.seed > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Status::Invalid("tree parameters: seed ", p.seed,
                           " is above 2^63 - 1 (XGBoost takes a signed seed)");
  }
  return Status::OK();
}

}  // namespace

void BoostedTrees::BoosterFree::operator()(void* handle) const { XGBoosterFree(handle); }

Result<BoostedTrees> BoostedTrees::Train(const FeatureTable& table, std::span<const uint8_t> labels,
                                         const TreeParams& params) {
  PFAD_RETURN_NOT_OK(Validate(params));
  if (table.rows() == 0 || table.cols() == 0) {
    return Status::Invalid("cannot train boosted trees on an empty ", events::ToString(table.kind),
                           " feature table (", table.rows(), " rows, ", table.cols(), " columns)");
  }
  if (labels.size() != table.rows()) {
    return Status::Invalid("boosted trees: ", labels.size(), " labels for ", table.rows(), " ",
                           events::ToString(table.kind), " rows; give one label per row");
  }
  std::vector<size_t> columns(table.cols());
  for (size_t c = 0; c < columns.size(); ++c) columns[c] = c;
  PFAD_ASSIGN_OR_RAISE(DMatrix train, MakeMatrix(table, columns, table.names));
  std::vector<float> float_labels(labels.begin(), labels.end());
  PFAD_RETURN_NOT_OK(
      Check(XGDMatrixSetFloatInfo(train.get(), "label", float_labels.data(), float_labels.size()),
            "XGDMatrixSetFloatInfo"));

  BoosterHandle handle = nullptr;
  DMatrixHandle cache[] = {train.get()};
  PFAD_RETURN_NOT_OK(Check(XGBoosterCreate(cache, 1, &handle), "XGBoosterCreate"));
  Booster booster(handle);
  const std::pair<const char*, std::string> settings[] = {
      {"objective", "binary:logistic"},
      {"tree_method", "hist"},
      {"verbosity", "0"},
      {"max_depth", std::to_string(params.max_depth)},
      {"eta", fmt::format("{}", params.eta)},
      {"subsample", fmt::format("{}", params.subsample)},
      {"colsample_bytree", fmt::format("{}", params.colsample)},
      {"min_child_weight", fmt::format("{}", params.min_child_weight)},
      {"nthread", std::to_string(params.threads)},
      {"seed", std::to_string(params.seed)},
  };
  for (const auto& [name, value] : settings) PFAD_RETURN_NOT_OK(SetParam(handle, name, value));
  for (int round = 0; round < params.rounds; ++round) {
    PFAD_RETURN_NOT_OK(Check(XGBoosterUpdateOneIter(handle, round, train.get()), "XGBoosterUpdateOneIter"));
  }
  std::vector<const char*> c_names = CStrings(table.names);
  PFAD_RETURN_NOT_OK(Check(XGBoosterSetStrFeatureInfo(handle, "feature_name", c_names.data(), c_names.size()),
                           "XGBoosterSetStrFeatureInfo"));
  PFAD_RETURN_NOT_OK(Check(XGBoosterSetAttr(handle, kThreadsAttr, std::to_string(params.threads).c_str()),
                           "XGBoosterSetAttr"));
  return BoostedTrees(std::move(booster), table.names);
}

Result<BoostedTrees> BoostedTrees::Deserialize(std::string_view bytes) {
  BoosterHandle handle = nullptr;
  PFAD_RETURN_NOT_OK(Check(XGBoosterCreate(nullptr, 0, &handle), "XGBoosterCreate"));
  Booster booster(handle);
  if (XGBoosterLoadModelFromBuffer(handle, bytes.data(), bytes.size()) != 0) {
    return Status::Invalid("not a boosted-trees model (", bytes.size(), " bytes): ", XGBGetLastError());
  }
  bst_ulong count = 0;
  const char** c_names = nullptr;
  PFAD_RETURN_NOT_OK(Check(XGBoosterGetStrFeatureInfo(handle, "feature_name", &count, &c_names),
                           "XGBoosterGetStrFeatureInfo"));
  if (count == 0) {
    return Status::Invalid(
        "boosted-trees model has no feature names: it was not written by BoostedTrees::Serialize");
  }
  std::vector<std::string> names(c_names, c_names + count);
  const char* threads = nullptr;
  int found = 0;
  PFAD_RETURN_NOT_OK(Check(XGBoosterGetAttr(handle, kThreadsAttr, &threads, &found), "XGBoosterGetAttr"));
  PFAD_RETURN_NOT_OK(SetParam(handle, "nthread", found != 0 ? std::string(threads) : std::string("2")));
  PFAD_RETURN_NOT_OK(SetParam(handle, "verbosity", "0"));
  return BoostedTrees(std::move(booster), std::move(names));
}

Result<std::vector<std::vector<double>>> BoostedTrees::Contributions(const FeatureTable& table) const {
  if (!booster_) return Status::Invalid("no trees to use (an empty BoostedTrees, as a GNN model part holds)");
  PFAD_ASSIGN_OR_RAISE(const auto columns, ColumnsOf(table));
  if (table.rows() == 0) return std::vector<std::vector<double>>{};
  PFAD_ASSIGN_OR_RAISE(DMatrix matrix, MakeMatrix(table, columns, names_));
  bst_ulong length = 0;
  const float* result = nullptr;
  constexpr int kContributions = 4;  // XGBoost's option_mask bit for pred_contribs
  PFAD_RETURN_NOT_OK(
      Check(XGBoosterPredict(booster_.get(), matrix.get(), kContributions, 0, 0, &length, &result),
            "XGBoosterPredict"));
  const size_t width = names_.size() + 1;  // features, then the bias
  if (length != table.rows() * width) {
    return Status::UnknownError("XGBoost gave ", length, " contributions for ", table.rows(), " rows of ",
                                names_.size(), " features");
  }
  std::vector<std::vector<double>> out(table.rows());
  for (size_t r = 0; r < table.rows(); ++r)
    out[r].assign(result + r * width, result + r * width + names_.size());
  return out;
}

Result<std::vector<size_t>> BoostedTrees::ColumnsOf(const FeatureTable& table) const {
  std::vector<size_t> columns;
  columns.reserve(names_.size());
  for (const auto& name : names_) {
    const int column = table.Column(name);
    if (column < 0) {
      return Status::Invalid(
          "the ", events::ToString(table.kind), " feature table has no column '", name,
          "' that the boosted-trees model was trained on; compute the same features as for training");
    }
    columns.push_back(static_cast<size_t>(column));
  }
  return columns;
}

Result<std::vector<double>> BoostedTrees::Predict(const FeatureTable& table) const {
  if (!booster_) return Status::Invalid("no trees to use (an empty BoostedTrees, as a GNN model part holds)");
  PFAD_ASSIGN_OR_RAISE(const auto columns, ColumnsOf(table));
  if (table.rows() == 0) return std::vector<double>{};
  // A fresh DMatrix per call, freed on return: XGBoost caches predictions per DMatrix.
  PFAD_ASSIGN_OR_RAISE(DMatrix matrix, MakeMatrix(table, columns, names_));
  bst_ulong length = 0;
  const float* result = nullptr;
  PFAD_RETURN_NOT_OK(
      Check(XGBoosterPredict(booster_.get(), matrix.get(), 0, 0, 0, &length, &result), "XGBoosterPredict"));
  if (length != table.rows()) {
    return Status::UnknownError("XGBoost predicted ", length, " values for ", table.rows(), " rows");
  }
  return std::vector<double>(result, result + length);
}

Result<std::string> BoostedTrees::Serialize() const {
  if (!booster_) return Status::Invalid("no trees to use (an empty BoostedTrees, as a GNN model part holds)");
  bst_ulong length = 0;
  const char* data = nullptr;
  PFAD_RETURN_NOT_OK(Check(XGBoosterSaveModelToBuffer(booster_.get(), R"({"format": "ubj"})", &length, &data),
                           "XGBoosterSaveModelToBuffer"));
  return std::string(data, length);
}

Result<std::vector<std::pair<std::string, double>>> BoostedTrees::Importance() const {
  if (!booster_) return Status::Invalid("no trees to use (an empty BoostedTrees, as a GNN model part holds)");
  bst_ulong count = 0;
  const char** features = nullptr;
  bst_ulong dim = 0;
  const bst_ulong* shape = nullptr;
  const float* scores = nullptr;
  PFAD_RETURN_NOT_OK(Check(XGBoosterFeatureScore(booster_.get(), R"({"importance_type": "total_gain"})",
                                                 &count, &features, &dim, &shape, &scores),
                           "XGBoosterFeatureScore"));
  std::vector<std::pair<std::string, double>> importance;
  importance.reserve(names_.size());
  for (const auto& name : names_) importance.emplace_back(name, 0.0);
  for (bst_ulong i = 0; i < count; ++i) {
    const auto it = std::find(names_.begin(), names_.end(), features[i]);
    if (it != names_.end()) importance[static_cast<size_t>(it - names_.begin())].second = scores[i];
  }
  std::stable_sort(importance.begin(), importance.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return importance;
}

}  // namespace pfad::fraud
