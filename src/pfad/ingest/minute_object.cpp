#include "pfad/ingest/minute_object.h"

#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include "pfad/common/log.h"
#include "pfad/events/schema.h"

namespace pfad::ingest {
namespace {

int64_t MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
      .count();
}

// A set of event ids with open addressing: one flat table, no allocation per
// id (a node-based set spent a quarter of a second on a million-event minute).
class UuidSet {
 public:
  void reserve(size_t n) {
    size_t capacity = 16;
    while (capacity < 2 * n) capacity *= 2;
    if (capacity > slots_.size()) Rehash(capacity);
  }

  // True when `id` was not in the set yet.
  bool insert(const events::Uuid& id) {
    if (IsEmptySlot(id)) return !std::exchange(has_nil_, true);
    if (2 * (size_ + 1) > slots_.size()) Rehash(std::max<size_t>(16, 2 * slots_.size()));
    return Place(id);
  }

 private:
  static bool IsEmptySlot(const events::Uuid& id) {
    return std::all_of(id.bytes.begin(), id.bytes.end(), [](uint8_t b) { return b == 0; });
  }
  static uint64_t Hash(const events::Uuid& id) {
    uint64_t a = 0;
    uint64_t b = 0;
    std::memcpy(&a, id.bytes.data(), 8);
    std::memcpy(&b, id.bytes.data() + 8, 8);
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ULL)) * 0xBF58476D1CE4E5B9ULL;
    return h ^ (h >> 31);
  }
  bool Place(const events::Uuid& id) {
    const size_t mask = slots_.size() - 1;
    for (size_t i = Hash(id) & mask;; i = (i + 1) & mask) {
      if (IsEmptySlot(slots_[i])) {
        slots_[i] = id;
        ++size_;
        return true;
      }
      if (slots_[i].bytes == id.bytes) return false;
    }
  }
  void Rehash(size_t capacity) {
    std::vector<events::Uuid> old(capacity);
    old.swap(slots_);
    size_ = 0;
    for (const auto& id : old) {
      if (!IsEmptySlot(id)) Place(id);
    }
  }

  std::vector<events::Uuid> slots_;  // all-zero bytes = empty; the nil id itself is has_nil_
  size_t size_ = 0;
  bool has_nil_ = false;
};

// The events whose id `seen` does not hold yet (first occurrence wins); `events`
// itself when that is all of them, else a filtered copy in `storage`.
std::span<const events::Event> KeepUnseen(std::span<const events::Event> events, UuidSet& seen,
                                          std::vector<events::Event>& storage) {
  size_t i = 0;
  while (i < events.size() && seen.insert(events[i].event_id)) ++i;
  if (i == events.size()) return events;
  storage.assign(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(i));
  for (++i; i < events.size(); ++i) {
    if (seen.insert(events[i].event_id)) storage.push_back(events[i]);
  }
  return storage;
}

struct ParquetEncoder {
  std::shared_ptr<arrow::io::BufferOutputStream> sink;
  std::unique_ptr<parquet::arrow::FileWriter> writer;
};

Result<ParquetEncoder> OpenEncoder() {
  ParquetEncoder encoder;
  PFAD_ASSIGN_OR_RAISE(encoder.sink, arrow::io::BufferOutputStream::Create(1 << 20));
  PFAD_ASSIGN_OR_RAISE(encoder.writer,
                       parquet::arrow::FileWriter::Open(*events::EventSchema(), arrow::default_memory_pool(),
                                                        encoder.sink, events::MinuteWriterProperties(),
                                                        events::MinuteArrowWriterProperties()));
  return encoder;
}

// Appends `events` as row groups of at most `row_group_rows`.
Status EncodeRowGroups(parquet::arrow::FileWriter& writer, std::span<const events::Event> events,
                       int64_t row_group_rows) {
  const auto step = static_cast<size_t>(row_group_rows);
  for (size_t at = 0; at < events.size(); at += step) {
    PFAD_ASSIGN_OR_RAISE(auto batch,
                         events::ToRecordBatch(events.subspan(at, std::min(events.size() - at, step))));
    PFAD_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches({batch}));
    PFAD_RETURN_NOT_OK(writer.WriteTable(*table, row_group_rows));
  }
  return Status::OK();
}

// Encodes `fresh` after what `encoder` already holds, closes the file and stores
// it if the object is still at `version`; the encode and store times go to `out`.
Status EncodeAndStore(ParquetEncoder& encoder, std::span<const events::Event> fresh, int64_t row_group_rows,
                      const storage::ObjectStore& store, const std::string& version, StoredMinute& out) {
  auto started = std::chrono::steady_clock::now();
  PFAD_RETURN_NOT_OK(EncodeRowGroups(*encoder.writer, fresh, row_group_rows));
  PFAD_RETURN_NOT_OK(encoder.writer->Close());
  PFAD_ASSIGN_OR_RAISE(auto buffer, encoder.sink->Finish());
  out.encode_ms = MillisSince(started);
  started = std::chrono::steady_clock::now();
  const Status put = store.PutIfVersion(
      out.object,
      std::string_view(reinterpret_cast<const char*>(buffer->data()), static_cast<size_t>(buffer->size())),
      version);
  out.store_ms = MillisSince(started);
  return put;
}

Result<std::shared_ptr<arrow::Table>> ReadStored(const storage::ObjectUri& uri, std::string bytes) {
  auto input = std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(std::move(bytes)));
  auto reader = parquet::arrow::OpenFile(input, arrow::default_memory_pool());
  if (!reader.ok())
    return Status::IOError(uri.ToString(),
                           ": the stored object is not readable Parquet: ", reader.status().message());
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
  return sink_.Child(events::ObjectName(minute));
}

Result<StoredMinute> MinuteObjectWriter::Write(const events::Minute& minute,
                                               std::span<const events::Event> events) const {
  StoredMinute out{.object = ObjectFor(minute), .minute = minute.Name()};
  constexpr int kMaxConflicts = 20;
  for (int attempt = 1;; ++attempt) {
    auto started = std::chrono::steady_clock::now();
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
    out.read_ms = MillisSince(started);
    out.update = stored.exists;
    out.added = static_cast<int64_t>(fresh.size());
    out.rows = (existing ? existing->num_rows() : 0) + out.added;
    if (stored.exists && fresh.empty()) return out;  // nothing new: leave the object as it is

    PFAD_ASSIGN_OR_RAISE(auto encoder, OpenEncoder());
    if (existing) PFAD_RETURN_NOT_OK(encoder.writer->WriteTable(*existing, row_group_rows_));
    existing.reset();
    const Status put = EncodeAndStore(encoder, fresh, row_group_rows_, *store_, stored.version, out);
    if (put.ok()) return out;
    if (!put.IsAlreadyExists() || attempt >= kMaxConflicts) return put;
    Logger("ingest")->info("object={} changed by another writer; merging again (attempt {})",
                           out.object.ToString(), attempt);
  }
}

struct StagedObject::Encoder {
  ParquetEncoder parquet;
  UuidSet ids;
  int64_t rows = 0;
};

StagedObject::StagedObject() = default;
StagedObject::~StagedObject() = default;
StagedObject::StagedObject(StagedObject&&) noexcept = default;
StagedObject& StagedObject::operator=(StagedObject&&) noexcept = default;

Status StagedObject::Append(std::span<const events::Event> events, int64_t row_group_rows) {
  if (!encoder_) {
    PFAD_ASSIGN_OR_RAISE(auto parquet, OpenEncoder());
    encoder_ = std::make_unique<Encoder>(Encoder{.parquet = std::move(parquet)});
  }
  std::vector<events::Event> filtered;
  const auto fresh = KeepUnseen(events, encoder_->ids, filtered);
  PFAD_RETURN_NOT_OK(EncodeRowGroups(*encoder_->parquet.writer, fresh, row_group_rows));
  encoder_->rows += static_cast<int64_t>(fresh.size());
  events_seen_ += static_cast<int64_t>(events.size());
  return Status::OK();
}

Result<StoredMinute> MinuteObjectWriter::Write(const events::Minute& minute,
                                               std::span<const events::Event> events,
                                               StagedObject staged) const {
  if (!staged.encoder_ || static_cast<size_t>(staged.events_seen_) > events.size())
    return Write(minute, events);
  StoredMinute out{.object = ObjectFor(minute), .minute = minute.Name()};
  auto started = std::chrono::steady_clock::now();
  PFAD_ASSIGN_OR_RAISE(auto stored, store_->GetVersioned(out.object));
  if (stored.exists) return Write(minute, events);  // late events or a re-read: merge with what is stored
  StagedObject::Encoder& staged_encoder = *staged.encoder_;
  std::vector<events::Event> filtered;
  const auto fresh =
      KeepUnseen(events.subspan(static_cast<size_t>(staged.events_seen_)), staged_encoder.ids, filtered);
  staged_encoder.ids = UuidSet();
  out.read_ms = MillisSince(started);
  out.added = out.rows = staged_encoder.rows + static_cast<int64_t>(fresh.size());
  out.encoded_ahead = staged_encoder.rows;
  const Status put =
      EncodeAndStore(staged_encoder.parquet, fresh, row_group_rows_, *store_, stored.version, out);
  if (put.ok()) return out;
  if (put.IsAlreadyExists()) return Write(minute, events);  // another writer stored it first: merge
  return put;
}

}  // namespace pfad::ingest
