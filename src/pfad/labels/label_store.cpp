#include "pfad/labels/label_store.h"

#include <arrow/api.h>
#include <arrow/filesystem/filesystem.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <unordered_set>

namespace pfad::labels {
namespace {

constexpr std::string_view kParquet = ".parquet";
constexpr int64_t kDayMs = 86'400'000;

// Names in `dir` (files or directories), sorted; none when it does not exist.
Result<std::vector<arrow::fs::FileInfo>> ListDir(const storage::ObjectStore& store,
                                                 const storage::ObjectUri& dir) {
  arrow::fs::FileSelector selector;
  selector.base_dir = dir.FsPath();
  selector.allow_not_found = true;
  auto infos = store.filesystem()->GetFileInfo(selector);
  if (!infos.ok())
    return Status::IOError(dir.ToString(), ": cannot list the labels: ", infos.status().message());
  std::sort(infos->begin(), infos->end(),
            [](const auto& a, const auto& b) { return a.base_name() < b.base_name(); });
  return std::move(*infos);
}

bool IsDayName(std::string_view name) {
  return name.size() == 10 && name[4] == '-' && name[7] == '-' &&
         std::all_of(name.begin(), name.end(), [](char c) { return (c >= '0' && c <= '9') || c == '-'; });
}

// S3 has no directories: a "day" is a common prefix, which Arrow lists as a directory.
bool IsDayDir(const arrow::fs::FileInfo& info) {
  return info.type() == arrow::fs::FileType::Directory && IsDayName(info.base_name());
}

bool IsLabelObject(const arrow::fs::FileInfo& info) {
  return info.type() == arrow::fs::FileType::File && info.base_name().ends_with(kParquet);
}

Result<std::vector<events::LabelRecord>> ReadObject(const storage::ObjectStore& store,
                                                    const storage::ObjectUri& uri) {
  PFAD_ASSIGN_OR_RAISE(const auto table, ReadLabelsTable(store, uri));
  auto records = events::LabelRecordsFromTable(*table);
  if (!records.ok()) return Status::Invalid(uri.ToString(), ": ", records.status().message());
  return records;
}

}  // namespace

Result<std::shared_ptr<arrow::Table>> ReadLabelsTable(const storage::ObjectStore& store,
                                                      const storage::ObjectUri& uri) {
  PFAD_ASSIGN_OR_RAISE(auto file, store.OpenForRead(uri));
  auto reader = parquet::arrow::OpenFile(file, arrow::default_memory_pool());
  if (!reader.ok())
    return Status::Invalid(uri.ToString(), ": not readable Parquet: ", reader.status().message());
  std::shared_ptr<arrow::Table> table;
  PFAD_ASSIGN_OR_RAISE(table, (*reader)->ReadTable());
  return table;
}

std::string LabelDay(int64_t epoch_ms) {
  const std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000 - (epoch_ms % 1000 < 0 ? 1 : 0));
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
  return text;
}

storage::ObjectUri DefaultLabelsPrefix(const storage::ObjectUri& minutes) {
  if (minutes.Basename().ends_with(kParquet)) return minutes.Sibling("labels");
  return minutes.Child("labels");
}

Result<std::vector<storage::ObjectUri>> WriteLabelRecords(const storage::ObjectStore& store,
                                                          const storage::ObjectUri& prefix,
                                                          const std::string& stem,
                                                          std::span<const events::LabelRecord> records) {
  std::map<std::string, std::vector<events::LabelRecord>> by_day;
  for (const auto& r : records) by_day[LabelDay(r.label.first_ms)].push_back(r);
  std::vector<storage::ObjectUri> written;
  for (const auto& [day, rows] : by_day) {
    PFAD_ASSIGN_OR_RAISE(auto batch, events::LabelRecordsToRecordBatch(rows));
    PFAD_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(events::LabelRecordSchema(), {batch}));
    const auto uri = prefix.Child(day).Child(stem + std::string(kParquet));
    PFAD_ASSIGN_OR_RAISE(auto writer, store.OpenForWrite(uri));
    PFAD_RETURN_NOT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), writer->stream(),
                                                  std::max<int64_t>(1, table->num_rows())));
    PFAD_RETURN_NOT_OK(writer->Commit());
    written.push_back(uri);
  }
  return written;
}

Result<std::vector<events::LabelRecord>> ReadLabelRecords(const storage::ObjectStore& store,
                                                          const storage::ObjectUri& prefix, int64_t from_ms,
                                                          int64_t to_ms) {
  // An entity's activity spans at most a window: a label keyed one day earlier can still overlap.
  const std::string first_day = LabelDay(from_ms - kDayMs), last_day = LabelDay(to_ms);
  PFAD_ASSIGN_OR_RAISE(const auto days, ListDir(store, prefix));
  std::vector<events::LabelRecord> out;
  std::unordered_set<std::string> refs;
  for (const auto& day : days) {
    if (!IsDayDir(day) || day.base_name() < first_day || day.base_name() > last_day) continue;
    const auto day_uri = prefix.Child(day.base_name());
    PFAD_ASSIGN_OR_RAISE(const auto objects, ListDir(store, day_uri));
    for (const auto& object : objects) {
      if (!IsLabelObject(object)) continue;
      PFAD_ASSIGN_OR_RAISE(auto records, ReadObject(store, day_uri.Child(object.base_name())));
      for (auto& r : records) {
        if (r.label.last_ms < from_ms || r.label.first_ms > to_ms) continue;
        if (!refs.insert(r.ref).second) continue;
        out.push_back(std::move(r));
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.labelled_at != b.labelled_at ? a.labelled_at < b.labelled_at : a.ref < b.ref;
  });
  return out;
}

Result<std::vector<std::string>> ListLabelStems(const storage::ObjectStore& store,
                                                const storage::ObjectUri& prefix) {
  std::vector<std::string> stems;
  PFAD_ASSIGN_OR_RAISE(const auto days, ListDir(store, prefix));
  for (const auto& day : days) {
    if (!IsDayDir(day)) continue;
    PFAD_ASSIGN_OR_RAISE(const auto objects, ListDir(store, prefix.Child(day.base_name())));
    for (const auto& object : objects) {
      if (!IsLabelObject(object)) continue;
      const auto& name = object.base_name();
      stems.push_back(name.substr(0, name.size() - kParquet.size()));
    }
  }
  std::sort(stems.begin(), stems.end());
  stems.erase(std::unique(stems.begin(), stems.end()), stems.end());
  return stems;
}

}  // namespace pfad::labels
