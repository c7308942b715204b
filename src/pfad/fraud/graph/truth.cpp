#include "pfad/fraud/graph/truth.h"

#include <arrow/api.h>

#include "pfad/labels/label_store.h"

namespace pfad::fraud {
namespace {

Result<std::vector<events::FraudLabel>> ReadLabelsObject(const storage::ObjectStore& store,
                                                         const storage::ObjectUri& uri) {
  PFAD_ASSIGN_OR_RAISE(const auto table, labels::ReadLabelsTable(store, uri));
  auto labels = events::LabelsFromTable(*table);
  if (!labels.ok()) return Status::Invalid(uri.ToString(), ": ", labels.status().message());
  return labels;
}

}  // namespace

std::string MinuteStem(const storage::ObjectUri& minute) {
  std::string name = minute.Basename();
  if (name.ends_with(events::kObjectSuffix)) name.resize(name.size() - events::kObjectSuffix.size());
  return name;
}

storage::ObjectUri BesideMinute(const storage::ObjectUri& minute, std::string_view suffix) {
  return minute.Sibling(MinuteStem(minute) + std::string(suffix));
}

Result<LabelIndex> ReadLabels(const storage::ObjectStore& store,
                              const std::vector<storage::ObjectUri>& minutes) {
  LabelIndex index;
  for (const auto& minute : minutes) {
    const auto uri = BesideMinute(minute, events::kLabelsSuffix);
    PFAD_ASSIGN_OR_RAISE(auto info, store.Stat(uri));
    if (!info.exists) {
      return Status::Invalid(uri.ToString(),
                             ": no labels beside the minute object; training and evaluation need "
                             "the labels that generating with fraud actors writes (docs/FRAUD.md)");
    }
    PFAD_ASSIGN_OR_RAISE(auto labels, ReadLabelsObject(store, uri));
    for (const auto& label : labels) {
      index.by_kind[static_cast<int>(label.kind)].try_emplace(label.entity_id.ToString(), label.scenario);
    }
  }
  return index;
}

Result<LabelIndex> ReadTrainingLabels(const storage::ObjectStore& store,
                                      const std::vector<storage::ObjectUri>& minutes,
                                      const storage::ObjectUri& labels_prefix, LabelCounts* counts) {
  LabelCounts local;
  LabelCounts& c = counts ? *counts : local;
  c = LabelCounts{};
  LabelIndex index;
  const auto put = [&](const events::FraudLabel& label) {
    index.by_kind[static_cast<int>(label.kind)].insert_or_assign(label.entity_id.ToString(), label.scenario);
  };
  PFAD_ASSIGN_OR_RAISE(const auto calendar, events::MinuteCalendar::Open());
  int64_t from_ms = INT64_MAX, to_ms = INT64_MIN, beside_objects = 0;
  for (const auto& minute : minutes) {
    if (auto m = calendar.Parse(MinuteStem(minute)); m.ok()) {
      from_ms = std::min(from_ms, m->start_ms);
      to_ms = std::max(to_ms, m->end_ms);
    }
    const auto uri = BesideMinute(minute, events::kLabelsSuffix);
    PFAD_ASSIGN_OR_RAISE(auto info, store.Stat(uri));
    if (!info.exists) continue;
    PFAD_ASSIGN_OR_RAISE(auto labels, ReadLabelsObject(store, uri));
    ++beside_objects;  // an empty one says "labelled: no fraud here"
    c.beside += static_cast<int64_t>(labels.size());
    for (const auto& label : labels) put(label);
  }
  if (from_ms <= to_ms) {
    // The store's labels come after: a verdict or chargeback overrules the generator's.
    PFAD_ASSIGN_OR_RAISE(const auto records, labels::ReadLabelRecords(store, labels_prefix, from_ms, to_ms));
    c.from_store = static_cast<int64_t>(records.size());
    for (const auto& r : records) put(r.label);
  }
  if (beside_objects + c.from_store == 0) {
    return Status::Invalid("no labels for these minutes: none beside them (", events::kLabelsSuffix,
                           ") and none under ", labels_prefix.ToString(),
                           " (pfad labels consume fills it from the labels topic and the review verdicts; "
                           "docs/FRAUD.md section 9)");
  }
  for (int k = 0; k < 2; ++k) {
    for (const auto& [id, scenario] : index.by_kind[k])
      ++(events::IsFraud(scenario) ? c.positive[k] : c.negative[k]);
  }
  return index;
}

std::vector<uint8_t> FraudFlags(const std::vector<std::string>& ids,
                                const std::unordered_map<std::string, events::Scenario>& labels) {
  std::vector<uint8_t> out(ids.size(), 0);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (auto it = labels.find(ids[i]); it != labels.end()) out[i] = events::IsFraud(it->second);
  }
  return out;
}

}  // namespace pfad::fraud
