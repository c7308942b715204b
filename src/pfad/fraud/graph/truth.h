// The ground truth of a window: the scenario of every labelled user and
// session, from the `<minute>.labels.parquet` objects beside the minutes
// (docs/DESIGN.md, "Fraud labels"), for training and evaluation only.
#pragma once

#include "pfad/events/labels.h"
#include "pfad/storage/object_store.h"

#include <string>
#include <unordered_map>
#include <vector>

namespace pfad::fraud {

struct LabelIndex {
  std::unordered_map<std::string, events::Scenario> by_kind[2];
  bool scenarios = true;  // false: positives only, no scenario slices (interactions)
  [[nodiscard]] const std::unordered_map<std::string, events::Scenario>& of(events::EntityKind k) const {
    return by_kind[static_cast<int>(k)];
  }
};

// "YYYY-MM-DD_HH-MM": a minute object's name without ".parquet".
std::string MinuteStem(const storage::ObjectUri& minute);

// "<dir>/YYYY-MM-DD_HH-MM.labels.parquet" (or .scores.parquet) beside a minute object.
storage::ObjectUri BesideMinute(const storage::ObjectUri& minute, std::string_view suffix);

// Invalid, naming the object, when a minute has no labels object beside it or
// the labels are not the columns of docs/DESIGN.md, "Fraud labels".
Result<LabelIndex> ReadLabels(const storage::ObjectStore& store,
                              const std::vector<storage::ObjectUri>& minutes);

// Training's labels (docs/FRAUD.md section 9): those beside the minutes where there are any
// (`pfad gen`), then the labels store under `labels_prefix` for the minutes' time range (the
// topic's labels and the verdicts), the latest `labelled_at` of an entity standing. Entities
// without a label are negatives. Invalid when neither holds a label for these minutes.
struct LabelCounts {
  int64_t beside = 0;            // rows read beside the minutes
  int64_t from_store = 0;        // rows read from the store (one per ref)
  int64_t positive[2] = {0, 0};  // entities labelled fraud, per kind, after the latest stands
  int64_t negative[2] = {0, 0};
};
Result<LabelIndex> ReadTrainingLabels(const storage::ObjectStore& store,
                                      const std::vector<storage::ObjectUri>& minutes,
                                      const storage::ObjectUri& labels_prefix, LabelCounts* counts = nullptr);

// 1 for entities labelled with a fraud scenario, 0 otherwise (look-alikes and
// ordinary traffic), per id.
std::vector<uint8_t> FraudFlags(const std::vector<std::string>& ids,
                                const std::unordered_map<std::string, events::Scenario>& labels);

}  // namespace pfad::fraud
