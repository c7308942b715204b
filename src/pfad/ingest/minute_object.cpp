#include "pfad/ingest/minute_object.h"

#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include <cstring>
#include <span>
#include <unordered_set>

#include "pfad/common/log.h"
#include "pfad/events/schema.h"

namespace pfad::ingest {
namespace {

struct UuidHash {
  size_t operator()(const events::Uuid& id) const noexcept {
    uint64_t a = 0;
    uint64_t b = 0;
    std::memcpy(&a, id.bytes.data(), 8);
    std::memcpy(&b, id.bytes.data() + 8, 8);
    return static_cast<size_t>(a ^ (b * 0x9E3779B97F4A7C15ULL));
  }
};
using UuidSet = std::unordered_set<events::Uuid, UuidHash>;

// The events whose id `seen` does not hold yet (first occurrence wins); `events`
// itself when that is all of them, else a filtered copy in `storage`.
std::span<const events::Event> KeepUnseen(std::span<const events::Event> events, UuidSet& seen,
                                          std::vector<events::Event>& storage) {
  size_t i = 0;
  while (i < events.size() && seen.insert(events[i].event_id).second) ++i;
  if (i == events.size()) return events;
  storage.assign(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(i));
  for (++i; i < events.size(); ++i) {
    if (seen.insert(events[i].event_id).second) storage.push_back(events[i]);
  }
  return storage;
}

Result<std::shared_ptr<arrow::Table>> ReadStored(const storage::ObjectUri& uri, std::string bytes) {
  auto input = std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(std::move(bytes)));
  auto reader = parquet::arrow::OpenFile(input, arrow::default_memory_pool());
  if (!reader.ok()) return Status::IOError(uri.ToString(), ": the stored object is not readable Parquet: ",
                                           reader.status().message());
  PFAD_ASSIGN_OR_RAISE(auto table, (*reader)->ReadTable());
  if (!table->schema()->Equals(*events::EventSchema(), /*check_metadata=*/false)) {
    return Status::IOError(uri.ToString(), ": the stored object has columns ", table->schema()->ToString(),
                           ", not the minute-object schema; move it away so ingest can write the minute");
  }
  return table;
}

}  // namespace

MinuteObjectWriter::MinuteObjectWriter(std::shared_ptr<storage::ObjectStore> store, storage::ObjectUri sink,
                                       int64_t row_group_rows)
    : store_(std::move(store)), sink_(std::move(sink)), row_group_rows_(row_group_rows) {}

storage::ObjectUri MinuteObjectWriter::ObjectFor(const events::Minute& minute) const {
  return sink_.Child(minute.Name() + ".parquet");
}

Result<StoredMinute> MinuteObjectWriter::Write(const events::Minute& minute,
                                               std::span<const events::Event> events) const {
  StoredMinute out{.object = ObjectFor(minute), .minute = minute.Name()};
  constexpr int kMaxConflicts = 20;
  for (int attempt = 1;; ++attempt) {
    PFAD_ASSIGN_OR_RAISE(auto stored, store_->GetVersioned(out.object));
    std::shared_ptr<arrow::Table> existing;
    UuidSet ids;
    if (stored.exists) {
      PFAD_ASSIGN_OR_RAISE(existing, ReadStored(out.object, std::move(stored.bytes)));
      ids.reserve(static_cast<size_t>(existing->num_rows()) + events.size());
      for (const auto& chunk : existing->column(0)->chunks()) {
        const auto& strings = static_cast<const arrow::StringArray&>(*chunk);
        for (int64_t i = 0; i < strings.length(); ++i) {
          if (auto id = events::Uuid::Parse(strings.GetView(i)); id.ok()) ids.insert(*id);
        }
      }
    } else {
      ids.reserve(events.size());
    }
    // Only events the object lacks, each once (a window may hold a re-delivered message twice).
    std::vector<events::Event> filtered;
    const std::span<const events::Event> fresh = KeepUnseen(events, ids, filtered);
    ids = UuidSet();
    out.update = stored.exists;
    out.added = static_cast<int64_t>(fresh.size());
    out.rows = (existing ? existing->num_rows() : 0) + out.added;
    if (stored.exists && fresh.empty()) return out;  // nothing new: leave the object as it is

    PFAD_ASSIGN_OR_RAISE(auto sink, arrow::io::BufferOutputStream::Create(1 << 20));
    PFAD_ASSIGN_OR_RAISE(auto writer,
                         parquet::arrow::FileWriter::Open(*events::EventSchema(), arrow::default_memory_pool(), sink,
                                                          events::MinuteWriterProperties(),
                                                          events::MinuteArrowWriterProperties()));
    if (existing) PFAD_RETURN_NOT_OK(writer->WriteTable(*existing, row_group_rows_));
    existing.reset();
    for (size_t at = 0; at < fresh.size(); at += static_cast<size_t>(row_group_rows_)) {
      const auto chunk = fresh.subspan(at, std::min(fresh.size() - at, static_cast<size_t>(row_group_rows_)));
      PFAD_ASSIGN_OR_RAISE(auto batch, events::ToRecordBatch(chunk));
      PFAD_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches({batch}));
      PFAD_RETURN_NOT_OK(writer->WriteTable(*table, row_group_rows_));
    }
    PFAD_RETURN_NOT_OK(writer->Close());
    PFAD_ASSIGN_OR_RAISE(auto buffer, sink->Finish());

    const Status put = store_->PutIfVersion(
        out.object, std::string_view(reinterpret_cast<const char*>(buffer->data()), static_cast<size_t>(buffer->size())),
        stored.version);
    if (put.ok()) return out;
    if (!put.IsAlreadyExists() || attempt >= kMaxConflicts) return put;
    Logger("ingest")->info("object={} changed by another writer; merging again (attempt {})", out.object.ToString(),
                           attempt);
  }
}

}  // namespace pfad::ingest
