#include "pfad/fraud/window.h"

#include <arrow/api.h>
#include <arrow/filesystem/filesystem.h>
#include <parquet/arrow/reader.h>

#include <algorithm>
#include <unordered_map>

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

// The values of a dictionary (string-like, not itself a dictionary).
Result<std::vector<std::string>> DictionaryValues(const arrow::Array& dictionary, std::string_view column) {
  std::vector<std::string> values;
  const auto collect = [&](const auto& strings) {
    for (int64_t i = 0; i < strings.length(); ++i) values.emplace_back(strings.IsNull(i) ? "" : strings.GetView(i));
  };
  switch (dictionary.type_id()) {
    case arrow::Type::STRING:
    case arrow::Type::BINARY: collect(static_cast<const arrow::BinaryArray&>(dictionary)); break;
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY: collect(static_cast<const arrow::LargeBinaryArray&>(dictionary)); break;
    case arrow::Type::STRING_VIEW:
    case arrow::Type::BINARY_VIEW: collect(static_cast<const arrow::BinaryViewArray&>(dictionary)); break;
    default:
      return Status::Invalid("column '", column, "' has dictionary values of type ", dictionary.type()->ToString(),
                             ", expected strings");
  }
  return values;
}

// Calls fn(row, value) for every row of a string-like or dictionary-of-string
// column; null rows give an empty value.
template <typename Fn>
Status ForEachString(const arrow::Array& array, std::string_view column, Fn&& fn) {
  const auto per_row = [&](const auto& strings) {
    for (int64_t i = 0; i < strings.length(); ++i) fn(i, strings.IsNull(i) ? std::string_view() : strings.GetView(i));
    return Status::OK();
  };
  switch (array.type_id()) {
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
      return per_row(static_cast<const arrow::BinaryArray&>(array));
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY:
      return per_row(static_cast<const arrow::LargeBinaryArray&>(array));
    case arrow::Type::STRING_VIEW:
    case arrow::Type::BINARY_VIEW:
      return per_row(static_cast<const arrow::BinaryViewArray&>(array));
    case arrow::Type::DICTIONARY: {
      const auto& dict = static_cast<const arrow::DictionaryArray&>(array);
      PFAD_ASSIGN_OR_RAISE(const auto values, DictionaryValues(*dict.dictionary(), column));
      for (int64_t i = 0; i < dict.length(); ++i) {
        fn(i, dict.IsNull(i) ? std::string_view() : std::string_view(values[static_cast<size_t>(dict.GetValueIndex(i))]));
      }
      return Status::OK();
    }
    default:
      return Status::Invalid("column '", column, "' has type ", array.type()->ToString(), ", expected a string");
  }
}

// Integer column (any integer width) as optional int64 per row.
template <typename Fn>
Status ForEachInt(const arrow::Array& array, std::string_view column, Fn&& fn) {
  const auto per_row = [&](const auto& ints) {
    for (int64_t i = 0; i < ints.length(); ++i) {
      fn(i, ints.IsNull(i) ? std::optional<int64_t>() : std::optional<int64_t>(static_cast<int64_t>(ints.Value(i))));
    }
    return Status::OK();
  };
  switch (array.type_id()) {
    case arrow::Type::INT8: return per_row(static_cast<const arrow::Int8Array&>(array));
    case arrow::Type::INT16: return per_row(static_cast<const arrow::Int16Array&>(array));
    case arrow::Type::INT32: return per_row(static_cast<const arrow::Int32Array&>(array));
    case arrow::Type::INT64: return per_row(static_cast<const arrow::Int64Array&>(array));
    case arrow::Type::NA:
      for (int64_t i = 0; i < array.length(); ++i) fn(i, std::optional<int64_t>());
      return Status::OK();
    default:
      return Status::Invalid("column '", column, "' has type ", array.type()->ToString(), ", expected an integer");
  }
}

Result<std::shared_ptr<arrow::Array>> Column(const arrow::RecordBatch& batch, std::string_view name) {
  auto column = batch.GetColumnByName(std::string(name));
  if (!column) {
    return Status::Invalid("no column '", name, "': a minute object needs the columns of DESIGN.md section 2");
  }
  return column;
}

Result<int64_t> MillisPerUnit(const arrow::DataType& type) {
  if (type.id() == arrow::Type::INT64) return 1;
  if (type.id() != arrow::Type::TIMESTAMP) {
    return Status::Invalid("column 'event_timestamp' has type ", type.ToString(), ", expected a timestamp");
  }
  switch (static_cast<const arrow::TimestampType&>(type).unit()) {
    case arrow::TimeUnit::SECOND: return -1000;  // multiply
    case arrow::TimeUnit::MILLI: return 1;
    case arrow::TimeUnit::MICRO: return 1000;
    case arrow::TimeUnit::NANO: return 1000000;
  }
  return 1;
}

}  // namespace

struct WindowBuilder::Interner {
  IdMap users, sessions;
  std::unordered_map<int32_t, int32_t> products;
};

WindowBuilder::WindowBuilder() : interner_(std::make_unique<Interner>()) {}
WindowBuilder::~WindowBuilder() = default;
WindowBuilder::WindowBuilder(WindowBuilder&&) noexcept = default;
WindowBuilder& WindowBuilder::operator=(WindowBuilder&&) noexcept = default;

void WindowBuilder::Add(std::string_view user_id, std::string_view session_id, std::optional<int32_t> product_id,
                        events::EventType type, bool error, std::optional<int32_t> error_code, int32_t latency_ms,
                        int64_t time_ms, const events::Uuid& event_id) {
  auto& e = events_;
  e.user.push_back(Intern(interner_->users, e.user_ids, user_id));
  e.session.push_back(Intern(interner_->sessions, e.session_ids, session_id));
  int32_t product = kNoValue;
  if (product_id) {
    auto [it, inserted] = interner_->products.try_emplace(*product_id, static_cast<int32_t>(e.product_ids.size()));
    if (inserted) e.product_ids.push_back(*product_id);
    product = it->second;
  }
  e.product.push_back(product);
  e.type.push_back(static_cast<uint8_t>(type));
  e.error.push_back(error ? 1 : 0);
  e.error_code.push_back(error_code.value_or(kNoValue));
  e.latency_ms.push_back(latency_ms);
  e.time_ms.push_back(time_ms);
  e.event_id.push_back(event_id);
}

void WindowBuilder::Add(const events::Event& event) {
  char user[36], session[36];
  event.user_id.Format(user);
  event.session_id.Format(session);
  Add(std::string_view(user, 36), std::string_view(session, 36), event.product_id, event.event_type,
      event.status == events::EventStatus::kError, event.error_code, event.request_latency_ms,
      event.event_timestamp_ms, event.event_id);
}

Status WindowBuilder::AddBatch(const arrow::RecordBatch& batch) {
  namespace col = events::column;
  const auto n = static_cast<size_t>(batch.num_rows());
  PFAD_ASSIGN_OR_RAISE(auto event_ids, Column(batch, col::kEventId));
  PFAD_ASSIGN_OR_RAISE(auto user_ids, Column(batch, col::kUserId));
  PFAD_ASSIGN_OR_RAISE(auto session_ids, Column(batch, col::kSessionId));
  PFAD_ASSIGN_OR_RAISE(auto types, Column(batch, col::kEventType));
  PFAD_ASSIGN_OR_RAISE(auto times, Column(batch, col::kEventTimestamp));
  PFAD_ASSIGN_OR_RAISE(auto latencies, Column(batch, col::kRequestLatencyMs));
  PFAD_ASSIGN_OR_RAISE(auto statuses, Column(batch, col::kStatus));
  PFAD_ASSIGN_OR_RAISE(auto error_codes, Column(batch, col::kErrorCode));
  PFAD_ASSIGN_OR_RAISE(auto products, Column(batch, col::kProductId));

  std::vector<events::Uuid> ids(n);
  std::vector<std::string_view> users(n), sessions(n);
  std::vector<uint8_t> type(n), error(n);
  std::vector<std::optional<int64_t>> codes(n), product(n), latency(n);
  std::vector<int64_t> time(n);
  Status row_status = Status::OK();
  const auto fail = [&](int64_t row, std::string_view column, std::string_view value) {
    if (row_status.ok()) {
      row_status = Status::Invalid("row ", row, ": column '", column, "' has '", value, "'");
    }
  };
  PFAD_RETURN_NOT_OK(ForEachString(*event_ids, col::kEventId, [&](int64_t i, std::string_view v) {
    auto id = events::Uuid::Parse(v);
    if (id.ok()) ids[static_cast<size_t>(i)] = *id; else fail(i, col::kEventId, v);
  }));
  PFAD_RETURN_NOT_OK(ForEachString(*user_ids, col::kUserId, [&](int64_t i, std::string_view v) {
    users[static_cast<size_t>(i)] = v;
  }));
  PFAD_RETURN_NOT_OK(ForEachString(*session_ids, col::kSessionId, [&](int64_t i, std::string_view v) {
    sessions[static_cast<size_t>(i)] = v;
  }));
  PFAD_RETURN_NOT_OK(ForEachString(*types, col::kEventType, [&](int64_t i, std::string_view v) {
    auto t = events::ParseEventType(v);
    if (t) type[static_cast<size_t>(i)] = static_cast<uint8_t>(*t); else fail(i, col::kEventType, v);
  }));
  PFAD_RETURN_NOT_OK(ForEachString(*statuses, col::kStatus, [&](int64_t i, std::string_view v) {
    auto s = events::ParseEventStatus(v);
    if (s) error[static_cast<size_t>(i)] = *s == events::EventStatus::kError; else fail(i, col::kStatus, v);
  }));
  PFAD_RETURN_NOT_OK(ForEachInt(*error_codes, col::kErrorCode, [&](int64_t i, auto v) { codes[static_cast<size_t>(i)] = v; }));
  PFAD_RETURN_NOT_OK(ForEachInt(*products, col::kProductId, [&](int64_t i, auto v) { product[static_cast<size_t>(i)] = v; }));
  PFAD_RETURN_NOT_OK(ForEachInt(*latencies, col::kRequestLatencyMs, [&](int64_t i, auto v) { latency[static_cast<size_t>(i)] = v; }));
  PFAD_ASSIGN_OR_RAISE(const int64_t unit, MillisPerUnit(*times->type()));
  {
    const auto* raw = times->data()->GetValues<int64_t>(1);
    for (size_t i = 0; i < n; ++i) {
      if (times->IsNull(static_cast<int64_t>(i))) {
        fail(static_cast<int64_t>(i), col::kEventTimestamp, "null");
        continue;
      }
      time[i] = unit < 0 ? raw[i] * -unit : raw[i] / unit;
    }
  }
  PFAD_RETURN_NOT_OK(row_status);
  for (size_t i = 0; i < n; ++i) {
    const auto narrow = [](const std::optional<int64_t>& v) {
      return v ? std::optional<int32_t>(static_cast<int32_t>(*v)) : std::nullopt;
    };
    Add(users[i], sessions[i], narrow(product[i]), static_cast<events::EventType>(type[i]), error[i] != 0,
        narrow(codes[i]), static_cast<int32_t>(latency[i].value_or(0)), time[i], ids[i]);
  }
  return Status::OK();
}

WindowEvents WindowBuilder::Finish() {
  WindowEvents out = std::move(events_);
  events_ = WindowEvents();
  interner_ = std::make_unique<Interner>();
  return out;
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
    return Status::IOError(dir_or_prefix.ToString(), ": cannot list the minute objects: ", infos.status().message());
  }
  std::vector<std::string> names;
  for (const auto& info : *infos) {
    if (info.type() != arrow::fs::FileType::File) continue;
    std::string name = info.base_name();
    if (!name.ends_with(events::kObjectSuffix) || name.ends_with(events::kLabelsSuffix) ||
        name.ends_with(events::kScoresSuffix)) {
      continue;
    }
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());  // YYYY-MM-DD_HH-MM sorts in minute order
  std::vector<storage::ObjectUri> out;
  out.reserve(names.size());
  for (const auto& name : names) out.push_back(dir_or_prefix.Child(name));
  return out;
}

Result<WindowEvents> ReadWindow(const storage::ObjectStore& store, const std::vector<storage::ObjectUri>& objects) {
  WindowBuilder builder;
  for (const auto& object : objects) {
    PFAD_ASSIGN_OR_RAISE(auto file, store.OpenForRead(object));
    auto opened = parquet::arrow::OpenFile(file, arrow::default_memory_pool());
    if (!opened.ok()) {
      return Status::Invalid(object.ToString(), ": not a readable Parquet minute object: ", opened.status().message());
    }
    std::unique_ptr<parquet::arrow::FileReader> owned = *std::move(opened);
    PFAD_ASSIGN_OR_RAISE(auto batches, owned->GetRecordBatchReader());
    while (true) {
      PFAD_ASSIGN_OR_RAISE(auto batch, batches->Next());
      if (!batch) break;
      if (Status st = builder.AddBatch(*batch); !st.ok()) {
        return Status::Invalid(object.ToString(), ": ", st.message());
      }
    }
  }
  return builder.Finish();
}

}  // namespace pfad::fraud
