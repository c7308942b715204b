#include "pfad/fraud/graph/window_events.h"

#include <arrow/api.h>
#include <arrow/filesystem/filesystem.h>
#include <parquet/arrow/reader.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>
#include <unordered_map>

#include "pfad/events/arrow_columns.h"
#include "pfad/events/labels.h"
#include "pfad/events/minute.h"
#include "pfad/events/schema.h"

namespace pfad::fraud {
namespace {

struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using IdMap = std::unordered_map<std::string, uint32_t, TextHash, std::equal_to<>>;

uint32_t Intern(IdMap& map, std::vector<std::string>& ids, std::string_view id) {
  if (auto it = map.find(id); it != map.end()) return it->second;
  const auto index = static_cast<uint32_t>(ids.size());
  ids.emplace_back(id);
  map.emplace(std::string(id), index);
  return index;
}

Result<std::shared_ptr<arrow::Array>> Column(const arrow::RecordBatch& batch, std::string_view name) {
  auto column = batch.GetColumnByName(std::string(name));
  if (!column) {
    return Status::Invalid("no column '", name,
                           "': a minute object needs the columns of docs/DESIGN.md, \"Minute objects\"");
  }
  return column;
}

Result<int64_t> MillisPerUnit(const arrow::DataType& type) {
  if (type.id() == arrow::Type::INT64) return 1;
  if (type.id() != arrow::Type::TIMESTAMP) {
    return Status::Invalid("column 'event_timestamp' has type ", type.ToString(), ", expected a timestamp");
  }
  switch (static_cast<const arrow::TimestampType&>(type).unit()) {
    case arrow::TimeUnit::SECOND:
      return -1000;  // multiply
    case arrow::TimeUnit::MILLI:
      return 1;
    case arrow::TimeUnit::MICRO:
      return 1000;
    case arrow::TimeUnit::NANO:
      return 1000000;
  }
  return 1;
}

// Entity ids as 16-byte UUIDs, interned with open addressing (the window's
// users and sessions are looked up once per event).
class UuidIndex {
 public:
  // The index of `id`, a new one (appending its text to `ids`) when unseen.
  uint32_t Intern(const events::Uuid& id, std::vector<std::string>& ids) {
    if (2 * (size_ + 1) > slots_.size()) Grow();
    const size_t mask = slots_.size() - 1;
    for (size_t i = Hash(id) & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.index == kEmpty) {
        slot = {id, static_cast<uint32_t>(ids.size())};
        ++size_;
        ids.push_back(id.ToString());
        return slot.index;
      }
      if (slot.id == id) return slot.index;
    }
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Slot {
    events::Uuid id;
    uint32_t index = kEmpty;
  };
  static size_t Hash(const events::Uuid& id) {
    uint64_t hi, lo;
    std::memcpy(&hi, id.bytes.data(), 8);
    std::memcpy(&lo, id.bytes.data() + 8, 8);
    uint64_t z = hi ^ (lo * 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    return static_cast<size_t>(z ^ (z >> 31));
  }
  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(std::max<size_t>(1024, old.size() * 2), Slot{});
    const size_t mask = slots_.size() - 1;
    for (const Slot& slot : old) {
      if (slot.index == kEmpty) continue;
      size_t i = Hash(slot.id) & mask;
      while (slots_[i].index != kEmpty) i = (i + 1) & mask;
      slots_[i] = slot;
    }
  }
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace

// One minute object's rows, parsed but not yet interned (parsing runs on
// several threads, interning on one).
struct ParsedRows {
  std::vector<events::Uuid> user, session, event_id;
  std::vector<int32_t> product, error_code, latency;
  std::vector<uint8_t> type, error;
  std::vector<int64_t> time;

  Status Append(const arrow::RecordBatch& batch);
};

Status ParsedRows::Append(const arrow::RecordBatch& batch) {
  namespace col = events::column;
  const auto n = static_cast<size_t>(batch.num_rows());
  const size_t at = user.size();
  PFAD_ASSIGN_OR_RAISE(auto event_ids, Column(batch, col::kEventId));
  PFAD_ASSIGN_OR_RAISE(auto user_ids, Column(batch, col::kUserId));
  PFAD_ASSIGN_OR_RAISE(auto session_ids, Column(batch, col::kSessionId));
  PFAD_ASSIGN_OR_RAISE(auto types, Column(batch, col::kEventType));
  PFAD_ASSIGN_OR_RAISE(auto times, Column(batch, col::kEventTimestamp));
  PFAD_ASSIGN_OR_RAISE(auto latencies, Column(batch, col::kRequestLatencyMs));
  PFAD_ASSIGN_OR_RAISE(auto statuses, Column(batch, col::kStatus));
  PFAD_ASSIGN_OR_RAISE(auto error_codes, Column(batch, col::kErrorCode));
  PFAD_ASSIGN_OR_RAISE(auto products, Column(batch, col::kProductId));
  for (auto* v : {&user, &session, &event_id}) v->resize(at + n);
  for (auto* v : {&product, &error_code, &latency}) v->resize(at + n);
  type.resize(at + n);
  error.resize(at + n);
  time.resize(at + n);

  Status row_status = Status::OK();
  const auto fail = [&](int64_t row, std::string_view column, std::string_view value) {
    if (row_status.ok())
      row_status = Status::Invalid("row ", row, ": column '", column, "' has '", value, "'");
  };
  const auto uuids = [&](const arrow::Array& array, std::string_view name, std::vector<events::Uuid>& out) {
    return events::ForEachString(array, name, [&](int64_t i, std::optional<std::string_view> v) {
      auto id = events::Uuid::Parse(v.value_or("null"));
      if (id.ok())
        out[at + static_cast<size_t>(i)] = *id;
      else
        fail(i, name, v.value_or("null"));
    });
  };
  PFAD_RETURN_NOT_OK(uuids(*event_ids, col::kEventId, event_id));
  PFAD_RETURN_NOT_OK(uuids(*user_ids, col::kUserId, user));
  PFAD_RETURN_NOT_OK(uuids(*session_ids, col::kSessionId, session));
  PFAD_RETURN_NOT_OK(
      events::ForEachString(*types, col::kEventType, [&](int64_t i, std::optional<std::string_view> v) {
        auto t = events::ParseEventType(v.value_or(""));
        if (t)
          type[at + static_cast<size_t>(i)] = static_cast<uint8_t>(*t);
        else
          fail(i, col::kEventType, v.value_or("null"));
      }));
  PFAD_RETURN_NOT_OK(
      events::ForEachString(*statuses, col::kStatus, [&](int64_t i, std::optional<std::string_view> v) {
        auto st = events::ParseEventStatus(v.value_or(""));
        if (st)
          error[at + static_cast<size_t>(i)] = *st == events::EventStatus::kError;
        else
          fail(i, col::kStatus, v.value_or("null"));
      }));
  const auto ints = [&](const arrow::Array& array, std::string_view name, std::vector<int32_t>& out,
                        int32_t null) {
    return events::ForEachInt(array, name, [&](int64_t i, std::optional<int64_t> v) {
      out[at + static_cast<size_t>(i)] = v ? static_cast<int32_t>(*v) : null;
    });
  };
  PFAD_RETURN_NOT_OK(ints(*error_codes, col::kErrorCode, error_code, kNoValue));
  PFAD_RETURN_NOT_OK(ints(*products, col::kProductId, product, kNoValue));
  PFAD_RETURN_NOT_OK(ints(*latencies, col::kRequestLatencyMs, latency, 0));
  PFAD_ASSIGN_OR_RAISE(const int64_t unit, MillisPerUnit(*times->type()));
  const auto* raw = times->data()->GetValues<int64_t>(1);
  for (size_t i = 0; i < n; ++i) {
    if (times->IsNull(static_cast<int64_t>(i))) {
      fail(static_cast<int64_t>(i), col::kEventTimestamp, "null");
      continue;
    }
    time[at + i] = unit < 0 ? raw[i] * -unit : raw[i] / unit;
  }
  return row_status;
}

namespace {

// Part `part` of `parts` of an object: a contiguous share of its row groups (all
// of them when parts is 1), so that one object can be parsed on several threads.
Result<ParsedRows> ParseObject(const storage::ObjectStore& store, const storage::ObjectUri& object, int part,
                               int parts) {
  PFAD_ASSIGN_OR_RAISE(auto file, store.OpenForRead(object));
  auto opened = parquet::arrow::OpenFile(file, arrow::default_memory_pool());
  if (!opened.ok()) {
    return Status::Invalid(object.ToString(),
                           ": not a readable Parquet minute object: ", opened.status().message());
  }
  std::unique_ptr<parquet::arrow::FileReader> reader = *std::move(opened);
  reader->set_use_threads(false);  // the files (or their parts) are read in parallel instead
  const int groups = reader->num_row_groups();
  std::vector<int> mine;
  for (int g = groups * part / parts; g < groups * (part + 1) / parts; ++g) mine.push_back(g);
  if (mine.empty()) return ParsedRows{};
  PFAD_ASSIGN_OR_RAISE(auto batches, reader->GetRecordBatchReader(mine));
  ParsedRows rows;
  while (true) {
    PFAD_ASSIGN_OR_RAISE(auto batch, batches->Next());
    if (!batch) break;
    if (Status st = rows.Append(*batch); !st.ok())
      return Status::Invalid(object.ToString(), ": ", st.message());
  }
  return rows;
}

}  // namespace

struct WindowBuilder::Interner {
  IdMap users, sessions;                // ids given as text
  UuidIndex user_uuids, session_uuids;  // ids given as UUIDs
  // Product ids in [0, kDense) are looked up in an array (the generator's are
  // 1-10000), others in a map.
  static constexpr int32_t kDense = 1 << 16;
  std::vector<int32_t> dense_products = std::vector<int32_t>(kDense, kNoValue);
  std::unordered_map<int32_t, int32_t> products;

  int32_t Product(std::optional<int32_t> id, std::vector<int32_t>& ids) {
    if (!id) return kNoValue;
    int32_t* slot = nullptr;
    if (*id >= 0 && *id < kDense) {
      slot = &dense_products[static_cast<size_t>(*id)];
    } else {
      slot = &products.try_emplace(*id, kNoValue).first->second;
    }
    if (*slot == kNoValue) {
      *slot = static_cast<int32_t>(ids.size());
      ids.push_back(*id);
    }
    return *slot;
  }
};

WindowBuilder::WindowBuilder() : interner_(std::make_unique<Interner>()) {}
WindowBuilder::~WindowBuilder() = default;
WindowBuilder::WindowBuilder(WindowBuilder&&) noexcept = default;
WindowBuilder& WindowBuilder::operator=(WindowBuilder&&) noexcept = default;

void WindowBuilder::Append(uint32_t user, uint32_t session, std::optional<int32_t> product_id,
                           events::EventType type, bool error, std::optional<int32_t> error_code,
                           int32_t latency_ms, int64_t time_ms, const events::Uuid& event_id) {
  auto& e = events_;
  e.user.push_back(user);
  e.session.push_back(session);
  e.product.push_back(interner_->Product(product_id, e.product_ids));
  e.type.push_back(static_cast<uint8_t>(type));
  e.error.push_back(error ? 1 : 0);
  e.error_code.push_back(error_code.value_or(kNoValue));
  e.latency_ms.push_back(latency_ms);
  e.time_ms.push_back(time_ms);
  e.event_id.push_back(event_id);
}

void WindowBuilder::Add(std::string_view user_id, std::string_view session_id,
                        std::optional<int32_t> product_id, events::EventType type, bool error,
                        std::optional<int32_t> error_code, int32_t latency_ms, int64_t time_ms,
                        const events::Uuid& event_id) {
  Append(Intern(interner_->users, events_.user_ids, user_id),
         Intern(interner_->sessions, events_.session_ids, session_id), product_id, type, error, error_code,
         latency_ms, time_ms, event_id);
}

void WindowBuilder::Add(const events::Event& event) {
  Append(interner_->user_uuids.Intern(event.user_id, events_.user_ids),
         interner_->session_uuids.Intern(event.session_id, events_.session_ids), event.product_id,
         event.event_type, event.status == events::EventStatus::kError, event.error_code,
         event.request_latency_ms, event.event_timestamp_ms, event.event_id);
}

void WindowBuilder::AddRows(const ParsedRows& rows) {
  auto& e = events_;
  const size_t n = rows.user.size();
  e.user.reserve(e.user.size() + n);
  e.session.reserve(e.session.size() + n);
  for (size_t i = 0; i < n; ++i) {
    e.user.push_back(interner_->user_uuids.Intern(rows.user[i], e.user_ids));
    e.session.push_back(interner_->session_uuids.Intern(rows.session[i], e.session_ids));
    e.product.push_back(interner_->Product(
        rows.product[i] == kNoValue ? std::nullopt : std::optional<int32_t>(rows.product[i]), e.product_ids));
  }
  e.type.insert(e.type.end(), rows.type.begin(), rows.type.end());
  e.error.insert(e.error.end(), rows.error.begin(), rows.error.end());
  e.error_code.insert(e.error_code.end(), rows.error_code.begin(), rows.error_code.end());
  e.latency_ms.insert(e.latency_ms.end(), rows.latency.begin(), rows.latency.end());
  e.time_ms.insert(e.time_ms.end(), rows.time.begin(), rows.time.end());
  e.event_id.insert(e.event_id.end(), rows.event_id.begin(), rows.event_id.end());
}

Status WindowBuilder::AddBatch(const arrow::RecordBatch& batch) {
  ParsedRows rows;
  PFAD_RETURN_NOT_OK(rows.Append(batch));
  AddRows(rows);
  return Status::OK();
}

WindowEvents WindowBuilder::Finish() {
  WindowEvents out = std::move(events_);
  events_ = WindowEvents();
  interner_ = std::make_unique<Interner>();
  return out;
}

// "YYYY-MM-DD_HH-MM.parquet" and nothing else.
bool IsMinuteObjectName(std::string_view name) {
  constexpr std::string_view kShape = "dddd-dd-dd_dd-dd";
  if (name.size() != kShape.size() + events::kObjectSuffix.size() || !name.ends_with(events::kObjectSuffix)) {
    return false;
  }
  for (size_t i = 0; i < kShape.size(); ++i) {
    const bool digit = name[i] >= '0' && name[i] <= '9';
    if (kShape[i] == 'd' ? !digit : name[i] != kShape[i]) return false;
  }
  return true;
}

Result<std::vector<storage::ObjectUri>> ListMinuteObjects(const storage::ObjectStore& store,
                                                          const storage::ObjectUri& dir_or_prefix) {
  const std::string base = dir_or_prefix.Basename();
  if (base.ends_with(events::kObjectSuffix)) return std::vector<storage::ObjectUri>{dir_or_prefix};
  arrow::fs::FileSelector selector;
  selector.base_dir = dir_or_prefix.FsPath();
  selector.recursive = false;
  auto infos = store.filesystem()->GetFileInfo(selector);
  if (!infos.ok()) {
    return Status::IOError(dir_or_prefix.ToString(),
                           ": cannot list the minute objects: ", infos.status().message());
  }
  std::vector<std::string> names;
  for (const auto& info : *infos) {
    if (info.type() != arrow::fs::FileType::File) continue;
    std::string name = info.base_name();
    if (!IsMinuteObjectName(name)) continue;  // labels, scores, anything else
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());  // YYYY-MM-DD_HH-MM sorts in minute order
  std::vector<storage::ObjectUri> out;
  out.reserve(names.size());
  for (const auto& name : names) out.push_back(dir_or_prefix.Child(name));
  return out;
}

Result<WindowEvents> ReadWindow(const storage::ObjectStore& store,
                                const std::vector<storage::ObjectUri>& objects) {
  // Parse the objects on every core (decoding dominates), then intern their ids
  // in object order on this thread, so indices do not depend on timing. With
  // fewer objects than cores (the live window reads one a minute) each object is
  // split by row groups instead.
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const int parts = objects.size() >= cores ? 1 : static_cast<int>(cores);
  const size_t pieces = objects.size() * static_cast<size_t>(parts);
  std::vector<Result<ParsedRows>> parsed(pieces, Status::Invalid("not read"));
  std::atomic<size_t> next{0};
  const auto work = [&] {
    for (size_t i = next++; i < pieces; i = next++) {
      parsed[i] =
          ParseObject(store, objects[i / static_cast<size_t>(parts)], static_cast<int>(i % parts), parts);
    }
  };
  {
    std::vector<std::jthread> threads;
    const size_t helpers = std::min(cores, pieces);
    for (size_t t = 1; t < helpers; ++t) threads.emplace_back(work);
    work();
  }
  WindowBuilder builder;
  for (auto& rows : parsed) {
    PFAD_RETURN_NOT_OK(rows.status());
    builder.AddRows(*rows);
    rows = Status::Invalid("consumed");  // free each object's rows once interned
  }
  return builder.Finish();
}

}  // namespace pfad::fraud
