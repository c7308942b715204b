#include "pfad/analyze/analyze.h"

#include <arrow/api.h>
#include <parquet/arrow/reader.h>
#include <parquet/exception.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/schema.h>

#include <array>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "pfad/common/log.h"
#include "pfad/events/arrow_columns.h"
#include "pfad/events/schema.h"

namespace pfad::analyze {
namespace {

using storage::ObjectUri;
constexpr std::string_view kParquetSuffix = ".parquet";
constexpr std::string_view kNullKey = "null";  // what the reference job's json.dumps makes of a null group

// Status slots: 0 SUCCESS, 1 ERROR, 2 anything else (counted in totals only).
constexpr uint8_t kSuccess = 0, kError = 1, kOtherStatus = 2;

uint8_t StatusSlot(std::string_view s) {
  if (s == "SUCCESS") return kSuccess;
  if (s == "ERROR") return kError;
  return kOtherStatus;
}

// One thread's counts, keyed by event type slot.
class Tally {
 public:
  uint16_t TypeSlot(std::string_view name) {
    for (size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) return static_cast<uint16_t>(i);
    }
    names_.emplace_back(name);
    counts_.push_back({0, 0, 0});
    return static_cast<uint16_t>(names_.size() - 1);
  }

  Status AddBatch(const arrow::Array& types, const arrow::Array& statuses) {
    const int64_t n = types.length();
    type_codes_.resize(static_cast<size_t>(n));
    status_codes_.resize(static_cast<size_t>(n));
    PFAD_RETURN_NOT_OK(Encode<uint16_t>(
        types, events::column::kEventType, type_codes_.data(),
        [this](std::string_view s) { return TypeSlot(s); }, [this] { return TypeSlot(kNullKey); }));
    PFAD_RETURN_NOT_OK(Encode<uint8_t>(statuses, events::column::kStatus, status_codes_.data(), StatusSlot,
                                       [] { return kOtherStatus; }));
    for (int64_t i = 0; i < n; ++i) {
      ++counts_[type_codes_[static_cast<size_t>(i)]][status_codes_[static_cast<size_t>(i)]];
    }
    return Status::OK();
  }

  void MergeInto(EventCounts& out) const {
    for (size_t i = 0; i < names_.size(); ++i) {
      const auto& c = counts_[i];
      // Dictionaries may hold values no row uses; a group exists only with rows.
      if (c[kSuccess] + c[kError] + c[kOtherStatus] == 0) continue;
      AddGroup(out, names_[i], "SUCCESS", c[kSuccess]);
      AddGroup(out, names_[i], "ERROR", c[kError]);
      AddGroup(out, names_[i], std::nullopt, c[kOtherStatus]);
    }
  }

 private:
  // Maps each row of a string-like or dictionary column to a small code.
  template <typename Code, typename Lookup, typename NullCode>
  static Status Encode(const arrow::Array& array, std::string_view column, Code* out, Lookup&& lookup,
                       NullCode&& null_code) {
    const int64_t n = array.length();
    if (array.type_id() == arrow::Type::DICTIONARY) {
      const auto& dict_array = static_cast<const arrow::DictionaryArray&>(array);
      const auto& dictionary = *dict_array.dictionary();
      std::vector<Code> dict_codes(static_cast<size_t>(dictionary.length()));
      PFAD_RETURN_NOT_OK(Encode<Code>(dictionary, column, dict_codes.data(), lookup, null_code));
      const Code nulls = null_code();
      const auto& indices = *dict_array.indices();
      const bool has_nulls = indices.null_count() != 0;
      // Parquet's reader does not check a corrupt file's indices against its dictionary.
      return VisitIndices(indices, [&](auto* idx) {
        for (int64_t i = 0; i < n; ++i) {
          if (has_nulls && indices.IsNull(i)) {
            out[i] = nulls;
            continue;
          }
          const auto k = static_cast<uint64_t>(idx[i]);  // a negative index becomes too large
          if (k >= dict_codes.size()) {
            return Status::Invalid("column '", column, "' has dictionary index ",
                                   static_cast<int64_t>(idx[i]), " in a dictionary of ", dict_codes.size(),
                                   " values");
          }
          out[i] = dict_codes[k];
        }
        return Status::OK();
      });
    }
    const Code nulls = null_code();
    std::string_view last;
    Code last_code = nulls;
    bool have_last = false;
    return events::ForEachStringRow(array, column, [&](int64_t i, std::optional<std::string_view> v) {
      if (!v) {
        out[i] = nulls;
        return;
      }
      if (!have_last || *v != last) {
        last = *v;
        last_code = lookup(*v);
        have_last = true;
      }
      out[i] = last_code;
    });
  }

  template <typename Fn>
  static Status VisitIndices(const arrow::Array& indices, Fn&& fn) {
    switch (indices.type_id()) {
      case arrow::Type::INT8:
        return fn(indices.data()->GetValues<int8_t>(1));
      case arrow::Type::UINT8:
        return fn(indices.data()->GetValues<uint8_t>(1));
      case arrow::Type::INT16:
        return fn(indices.data()->GetValues<int16_t>(1));
      case arrow::Type::UINT16:
        return fn(indices.data()->GetValues<uint16_t>(1));
      case arrow::Type::INT32:
        return fn(indices.data()->GetValues<int32_t>(1));
      case arrow::Type::UINT32:
        return fn(indices.data()->GetValues<uint32_t>(1));
      case arrow::Type::INT64:
        return fn(indices.data()->GetValues<int64_t>(1));
      case arrow::Type::UINT64:
        return fn(indices.data()->GetValues<uint64_t>(1));
      default:
        return Status::Invalid("unsupported dictionary index type ", indices.type()->ToString());
    }
  }

  std::vector<std::string> names_;
  std::vector<std::array<int64_t, 3>> counts_;
  std::vector<uint16_t> type_codes_;
  std::vector<uint8_t> status_codes_;
};

// Runs a parquet call, turning its exceptions into a Status.
template <typename Fn>
auto CatchParquet(Fn&& fn) -> Result<decltype(fn())> {
  try {
    return fn();
  } catch (const parquet::ParquetStatusException& e) {
    return e.status();
  } catch (const parquet::ParquetException& e) {
    return Status::Invalid(e.what());
  }
}

Status CountRowGroups(const std::shared_ptr<arrow::io::RandomAccessFile>& file,
                      const std::shared_ptr<parquet::FileMetaData>& metadata, const std::vector<int>& columns,
                      const AnalyzeOptions& options, std::atomic<int>& next_row_group, Tally& tally) {
  parquet::ArrowReaderProperties props;
  props.set_use_threads(false);  // we parallelise over row groups ourselves
  props.set_pre_buffer(true);    // coalesce the two column chunks into few reads (S3)
  props.set_batch_size(options.batch_rows);
  for (int c : columns) props.set_read_dictionary(c, true);
  PFAD_ASSIGN_OR_RAISE(auto parquet_reader, CatchParquet([&] {
                         return parquet::ParquetFileReader::Open(file, parquet::default_reader_properties(),
                                                                 metadata);
                       }));
  PFAD_ASSIGN_OR_RAISE(auto reader, parquet::arrow::FileReader::Make(arrow::default_memory_pool(),
                                                                     std::move(parquet_reader), props));
  const int row_groups = metadata->num_row_groups();
  for (int rg = next_row_group.fetch_add(1); rg < row_groups; rg = next_row_group.fetch_add(1)) {
    PFAD_ASSIGN_OR_RAISE(auto batches, reader->GetRecordBatchReader({rg}, columns));
    while (true) {
      PFAD_ASSIGN_OR_RAISE(auto batch, batches->Next());
      if (!batch) break;
      const auto types = batch->GetColumnByName(std::string(events::column::kEventType));
      const auto statuses = batch->GetColumnByName(std::string(events::column::kStatus));
      if (!types || !statuses) return Status::Invalid("row group ", rg, " lacks event_type/status");
      PFAD_RETURN_NOT_OK(tally.AddBatch(*types, *statuses));
    }
  }
  return Status::OK();
}

}  // namespace

Result<EventCounts> CountEvents(const std::shared_ptr<arrow::io::RandomAccessFile>& file,
                                const AnalyzeOptions& options) {
  PFAD_ASSIGN_OR_RAISE(auto metadata, CatchParquet([&] { return parquet::ReadMetaData(file); }));
  const parquet::SchemaDescriptor& schema = *metadata->schema();
  std::vector<int> columns;
  for (const auto name : {events::column::kEventType, events::column::kStatus}) {
    const int index = schema.ColumnIndex(std::string(name));
    if (index < 0)
      return Status::Invalid("missing column '", name, "' (a minute file needs event_type and status)");
    columns.push_back(index);
  }
  const int row_groups = metadata->num_row_groups();
  const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  const int threads = std::max(1, std::min(options.threads > 0 ? options.threads : cores, row_groups));

  std::atomic<int> next_row_group{0};
  std::vector<Tally> tallies(static_cast<size_t>(threads));
  std::vector<Status> results(static_cast<size_t>(threads));
  const auto work = [&](size_t t) {
    results[t] = CountRowGroups(file, metadata, columns, options, next_row_group, tallies[t]);
    if (!results[t].ok()) next_row_group.store(row_groups);  // stop the others early
  };
  if (threads == 1) {
    work(0);
  } else {
    std::vector<std::jthread> pool;
    for (size_t t = 0; t < tallies.size(); ++t) pool.emplace_back(work, t);
  }
  for (const auto& st : results) PFAD_RETURN_NOT_OK(st);
  EventCounts counts;
  for (const auto& tally : tallies) tally.MergeInto(counts);
  return counts;
}

Result<EventCounts> LocalEventCounter::Count(const storage::ObjectStore& store, const ObjectUri& uri,
                                             const storage::ObjectInfo& info) const {
  auto counts = [&]() -> Result<EventCounts> {
    PFAD_ASSIGN_OR_RAISE(auto file, store.OpenForRead(uri, info.size));
    return CountEvents(file, options_);
  }();
  if (counts.ok()) return counts;
  // Tell a storage failure from a bad object: if the store still answers,
  // the object itself is at fault.
  if (auto probe = store.Stat(uri); !probe.ok()) return probe.status();
  return Status::Invalid(uri.ToString(), ": not a readable minute file: ", counts.status().message());
}

std::string ReportStem(const ObjectUri& input) {
  std::string base = input.Basename();
  if (base.ends_with(kParquetSuffix)) base.resize(base.size() - kParquetSuffix.size());
  return base;
}

ObjectUri ReportLocation(const ObjectUri& input, const std::optional<ObjectUri>& out) {
  const std::string name = ReportStem(input) + ".json";
  if (!out) return input.Sibling(name);
  if (out->Basename().ends_with(".json")) return *out;
  return out->Child(name);
}

Result<AnalyzeOutcome> AnalyzeMinute(const storage::ObjectStore& input_store,
                                     const storage::ObjectStore& output_store, const AnalyzeRequest& request,
                                     const Clock& clock) {
  const ObjectUri& input = request.input;
  const std::string base = input.Basename();
  if (base.empty() || base == kParquetSuffix) {
    return Status::Invalid(input.ToString(), ": names no object (expected .../YYYY-MM-DD_HH-MM.parquet)");
  }
  const std::string stem = ReportStem(input);
  const ObjectUri target = ReportLocation(input, request.output);
  auto log = Logger("analyze");

  Report report = NoDataReport{stem};
  if (base.ends_with(kParquetSuffix)) {
    PFAD_ASSIGN_OR_RAISE(auto info, input_store.Stat(input));
    // Absent object: "no data" only if its bucket/directory exists.
    if (!info.exists) PFAD_RETURN_NOT_OK(input_store.CheckContainer(input));
    if (info.is_directory) {
      return Status::Invalid(input.ToString(), ": is a directory, not a Parquet object");
    }
    if (info.exists) {
      const double start = clock.MonotonicSeconds();
      Result<EventCounts> counts = request.engine
                                       ? request.engine->Count(input_store, input, info)
                                       : LocalEventCounter(request.options).Count(input_store, input, info);
      PFAD_RETURN_NOT_OK(counts.status());
      MinuteReport minute;
      minute.counts = *std::move(counts);
      minute.process_time = clock.MonotonicSeconds() - start;
      minute.file_name = stem + ".json";
      report = std::move(minute);
    } else {
      log->info("no object at {}: writing a no-data report", input.ToString());
    }
  }
  PFAD_RETURN_NOT_OK(output_store.Put(target, ToJson(report)));
  return AnalyzeOutcome{std::move(report), target};
}

Result<AnalyzeStores> OpenAnalyzeStores(const AnalyzeRequest& request,
                                        const storage::StorageConfig& storage) {
  AnalyzeStores stores;
  PFAD_ASSIGN_OR_RAISE(stores.input, storage::ObjectStore::Open(request.input, storage));
  stores.output = stores.input;
  if (request.output && request.output->is_s3() != request.input.is_s3()) {
    PFAD_ASSIGN_OR_RAISE(stores.output, storage::ObjectStore::Open(*request.output, storage));
  }
  return stores;
}

}  // namespace pfad::analyze
