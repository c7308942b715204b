#include "pfad/fraud/graph/truth.h"

#include <arrow/api.h>
#include <parquet/arrow/reader.h>

namespace pfad::fraud {

storage::ObjectUri BesideMinute(const storage::ObjectUri& minute, std::string_view suffix) {
  std::string name = minute.Basename();
  if (name.ends_with(events::kObjectSuffix)) name.resize(name.size() - events::kObjectSuffix.size());
  return minute.Sibling(name + std::string(suffix));
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
    PFAD_ASSIGN_OR_RAISE(auto file, store.OpenForRead(uri));
    auto reader = parquet::arrow::OpenFile(file, arrow::default_memory_pool());
    if (!reader.ok())
      return Status::Invalid(uri.ToString(), ": not readable Parquet: ", reader.status().message());
    std::shared_ptr<arrow::Table> table;
    PFAD_ASSIGN_OR_RAISE(table, (*reader)->ReadTable());
    auto labels = events::LabelsFromTable(*table);
    if (!labels.ok()) return Status::Invalid(uri.ToString(), ": ", labels.status().message());
    for (const auto& label : *labels) {
      index.by_kind[static_cast<int>(label.kind)].try_emplace(label.entity_id.ToString(), label.scenario);
    }
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
