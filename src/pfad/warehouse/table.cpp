#include "pfad/warehouse/table.h"

#include <fmt/format.h>

#include <bit>
#include <cstring>

namespace pfad::warehouse {
namespace {

static_assert(std::endian::native == std::endian::little,
              "RowBinary is little-endian; this writes native order");

// The inserted columns, in the order AppendRowBinary writes them.
constexpr std::string_view kColumns =
    "event_id, user_id, session_id, event_type, event_timestamp_ms, event_time, event_minute, "
    "request_latency_ms, status, error_code, product_id";
// The selected columns, in the order ParseRowBinary reads them.
constexpr std::string_view kEventColumns =
    "event_id, user_id, session_id, event_type, event_timestamp_ms, request_latency_ms, status, error_code, "
    "product_id";

template <typename T>
void Put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

// ClickHouse's UUID in RowBinary: the two 64-bit halves of the canonical
// (big-endian) form, each as a little-endian UInt64.
void PutUuid(std::string& out, const events::Uuid& id) {
  char bytes[16];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<char>(id.bytes[7 - i]);
    bytes[8 + i] = static_cast<char>(id.bytes[15 - i]);
  }
  out.append(bytes, 16);
}

void PutNullableInt32(std::string& out, const std::optional<int32_t>& value) {
  out.push_back(value ? '\0' : '\1');
  if (value) Put<int32_t>(out, *value);
}

class RowReader {
 public:
  explicit RowReader(std::string_view rows) : rows_(rows) {}
  [[nodiscard]] bool done() const { return at_ == rows_.size(); }

  template <typename T>
  bool Get(T& value) {
    if (rows_.size() - at_ < sizeof(T)) return false;
    std::memcpy(&value, rows_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return true;
  }
  bool GetUuid(events::Uuid& id) {
    if (rows_.size() - at_ < 16) return false;
    for (int i = 0; i < 8; ++i) {
      id.bytes[7 - i] = static_cast<uint8_t>(rows_[at_ + i]);
      id.bytes[15 - i] = static_cast<uint8_t>(rows_[at_ + 8 + i]);
    }
    at_ += 16;
    return true;
  }
  bool GetNullableInt32(std::optional<int32_t>& value) {
    uint8_t is_null = 0;
    if (!Get(is_null)) return false;
    if (is_null != 0) {
      value.reset();
      return true;
    }
    int32_t v = 0;
    if (!Get(v)) return false;
    value = v;
    return true;
  }

 private:
  std::string_view rows_;
  size_t at_ = 0;
};

}  // namespace

std::string CreateDatabaseSql(std::string_view database) {
  return fmt::format("CREATE DATABASE IF NOT EXISTS {}", database);
}

std::string CreateTableSql(std::string_view database) {
  return fmt::format(
      "CREATE TABLE IF NOT EXISTS {}.{} (\n"
      "  event_id UUID,\n"
      "  user_id UUID,\n"
      "  session_id UUID,\n"
      "  event_type Enum8('VIEW_PRODUCT' = 0, 'ADD_TO_CART' = 1, 'CHECKOUT' = 2, 'PAYMENT' = 3, 'SEARCH' = "
      "4),\n"
      "  event_timestamp_ms UInt64,\n"
      "  event_time DateTime('UTC'),\n"
      "  event_minute String,\n"
      "  request_latency_ms Int32,\n"
      "  status Enum8('SUCCESS' = 0, 'ERROR' = 1),\n"
      "  error_code Nullable(Int32),\n"
      "  product_id Nullable(Int32)\n"
      ") ENGINE = ReplacingMergeTree()\n"
      "PARTITION BY toYYYYMMDD(event_time)\n"
      "ORDER BY (event_minute, event_id)",
      database, kTableName);
}

Status EnsureTable(const ClickHouseClient& client) {
  PFAD_RETURN_NOT_OK(client.Execute(CreateDatabaseSql(client.database())).status());
  return client.Execute(CreateTableSql(client.database())).status();
}

std::string InsertSql(std::string_view database) {
  return fmt::format("INSERT INTO {}.{} ({}) FORMAT RowBinary", database, kTableName, kColumns);
}

void AppendRowBinary(std::span<const events::Event> events, std::string_view minute_name, std::string& out) {
  // event_minute as RowBinary String: LEB128 length, then the bytes (< 128 here).
  std::string minute;
  minute.push_back(static_cast<char>(minute_name.size()));
  minute.append(minute_name);
  out.reserve(out.size() + events.size() * (3 * 16 + 1 + 8 + 4 + minute.size() + 4 + 1 + 10));
  for (const auto& e : events) {
    PutUuid(out, e.event_id);
    PutUuid(out, e.user_id);
    PutUuid(out, e.session_id);
    Put<int8_t>(out, static_cast<int8_t>(e.event_type));
    Put<uint64_t>(out, static_cast<uint64_t>(e.event_timestamp_ms));
    Put<uint32_t>(out, static_cast<uint32_t>(e.event_timestamp_ms < 0 ? 0 : e.event_timestamp_ms / 1000));
    out.append(minute);
    Put<int32_t>(out, e.request_latency_ms);
    Put<int8_t>(out, static_cast<int8_t>(e.status));
    PutNullableInt32(out, e.error_code);
    PutNullableInt32(out, e.product_id);
  }
}

std::string SelectMinuteSql(std::string_view database, const events::Minute& minute) {
  // The minute name is our own "YYYY-MM-DD_HH-MM" (digits, '-', '_'): safe to inline
  // (18.16 has no query parameters). The time range keeps a minute that occurs
  // twice (a clock change) to the instants MinuteCalendar gives it.
  return fmt::format(
      "SELECT {} FROM {}.{} FINAL WHERE event_minute = '{}' AND event_timestamp_ms >= {} AND "
      "event_timestamp_ms < {} "
      "FORMAT RowBinary",
      kEventColumns, database, kTableName, minute.Name(), minute.start_ms, minute.end_ms);
}

Result<std::vector<events::Event>> ParseRowBinary(std::string_view rows) {
  std::vector<events::Event> out;
  out.reserve(rows.size() / 64);
  RowReader in(rows);
  while (!in.done()) {
    events::Event e;
    int8_t type = 0;
    int8_t status = 0;
    uint64_t ts = 0;
    const bool ok = in.GetUuid(e.event_id) && in.GetUuid(e.user_id) && in.GetUuid(e.session_id) &&
                    in.Get(type) && in.Get(ts) && in.Get(e.request_latency_ms) && in.Get(status) &&
                    in.GetNullableInt32(e.error_code) && in.GetNullableInt32(e.product_id);
    if (!ok)
      return Status::Invalid("ClickHouse answer ends inside row ", out.size() + 1, " (truncated RowBinary)");
    if (type < 0 || type >= events::kEventTypeCount || status < 0 || status > 1) {
      return Status::Invalid("ClickHouse row ", out.size() + 1, " has an unknown event_type or status value");
    }
    e.event_type = static_cast<events::EventType>(type);
    e.status = static_cast<events::EventStatus>(status);
    e.event_timestamp_ms = static_cast<int64_t>(ts);
    out.push_back(e);
  }
  return out;
}

}  // namespace pfad::warehouse
