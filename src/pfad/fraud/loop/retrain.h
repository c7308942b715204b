// The analyst loop's last step (docs/FRAUD.md section 9): `pfad fraud retrain` trains a
// challenger on the last hours of minutes and labels, judges it and the model in use (the
// champion) on the most recent labelled hour held out, and promotes the challenger only when its
// PR-AUC is at least the champion's plus a margin. Every candidate gets a registry record.
//
// Crash safety: the candidate file, the promoted model file and the registry are each written
// whole and renamed into place (storage::ObjectStore::Put), so a retrain killed at any point
// leaves the previous model and registry as they were, or the new ones complete.
#pragma once

#include "pfad/common/clock.h"
#include "pfad/common/status.h"
#include "pfad/fraud/models/fraud_model.h"
#include "pfad/storage/object_store.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace pfad::fraud {

struct RetrainOptions {
  storage::ObjectUri minutes;                // directory or prefix of minute objects
  std::optional<storage::ObjectUri> labels;  // the labels store; unset: "<minutes>/labels"
  std::string model_file;                    // the champion, which `pfad run` loads; local path
  int hours = 6;                             // the last N hours of minutes: training + held out
  int holdout_minutes = 60;                  // the most recent minutes, held out for judging
  double margin = 0.0;                       // promote when challenger >= champion + margin
  TrainOptions train;                        // what to train (model kind, window, rounds, ...)
  storage::StorageConfig storage;            // to reach the minutes and the labels
};

// One candidate, as the registry keeps it (docs/FRAUD.md section 9, "The model registry").
struct ModelRecord {
  int version = 0;  // 1, 2, ... per registry
  int64_t created_ms = 0;
  std::string model;           // the challenger's label ("trees_graph v1")
  std::string candidate_file;  // "<model file>.v<version>" ("" when training failed)
  std::string minutes;         // where the minutes are
  std::string train_first, train_last, holdout_first, holdout_last;  // minute names
  int train_minutes = 0, holdout_minutes = 0;
  LabelCounts train_labels, holdout_labels;
  std::optional<double> challenger_pr_auc, champion_pr_auc;  // unset: not measured (see reason)
  // The alerts' precision on the held-out minutes: of the entities each model flags (at its
  // threshold), the share labelled fraud by the labels that arrived. Unset: nothing flagged.
  std::optional<double> challenger_precision, champion_precision;
  std::string champion;  // the champion's label, "" when there was none
  bool promoted = false;
  std::string reason;  // why promoted or not, in words

  [[nodiscard]] nlohmann::ordered_json ToJson() const;
  static Result<ModelRecord> FromJson(const nlohmann::json& doc);
};

// "<model file>.registry.jsonl": one JSON record per line, oldest first.
std::string RegistryPath(const std::string& model_file);
Result<std::vector<ModelRecord>> ReadRegistry(const std::string& model_file);

// Runs one retrain and appends its record. Not promoting (no positive label, no held-out
// positives, a weaker challenger) is a record with the reason, not an error; an unreadable store
// or registry is an error.
Result<ModelRecord> Retrain(const RetrainOptions& options, const Clock& clock = DefaultClock());

// Posts a record to a dashboard's POST /models (docs/DESIGN.md, "Dashboard HTTP API"), with the
// write token when one is given. The registry file stays the record; this is for the page.
Status PostModelRecord(const std::string& dashboard_url, const std::string& token,
                       const std::string& model_file, const ModelRecord& record);

// A model judged on held-out minutes (cut into its windows; an entity's highest score counts).
struct Judgement {
  std::optional<double> pr_auc;     // mean over kinds with both classes of the average precision
  std::optional<double> precision;  // flagged entities labelled fraud / flagged entities
  int64_t flagged = 0;
};
Result<Judgement> JudgeOnHeldOut(const storage::ObjectStore& store, const FraudModel& model,
                                 const std::vector<storage::ObjectUri>& minutes, const LabelIndex& labels);

}  // namespace pfad::fraud
