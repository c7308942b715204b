#include "pfad/warehouse/clickhouse_sink.h"

#include <algorithm>
#include <chrono>

#include "pfad/common/log.h"
#include "pfad/warehouse/table.h"

namespace pfad::warehouse {

ClickHouseSink::ClickHouseSink(ClickHouseClient client, events::MinuteCalendar calendar, int64_t batch_rows)
    : client_(std::move(client)),
      calendar_(std::move(calendar)),
      batch_rows_(std::max<int64_t>(1, batch_rows)) {}

std::string ClickHouseSink::Name() const {
  return client_.base_url() + client_.database() + "." + std::string(kTableName);
}

Status ClickHouseSink::Check() { return EnsureTable(client_); }

Status ClickHouseSink::Insert(std::span<const events::Event> events, std::string_view minute_name) {
  const std::string sql = InsertSql(client_.database());
  for (size_t at = 0; at < events.size(); at += static_cast<size_t>(batch_rows_)) {
    const auto batch = events.subspan(at, std::min(events.size() - at, static_cast<size_t>(batch_rows_)));
    buffer_.clear();
    AppendRowBinary(batch, minute_name, buffer_);
    PFAD_RETURN_NOT_OK(client_.Execute(sql, buffer_).status());
  }
  if (buffer_.capacity() > (64u << 20)) std::string().swap(buffer_);
  return Status::OK();
}

void ClickHouseSink::Prepare(uint64_t window_id, std::span<const events::Event> events) {
  if (events.empty() || broken_.contains(window_id)) return;
  const std::string minute = calendar_.MinuteName(events.front().event_timestamp_ms);
  if (Status st = Insert(events, minute); !st.ok()) {
    // Not lost: Store sends the whole window again.
    Logger("warehouse")
        ->warn("inserting minute={} ahead failed (it is sent whole when it closes): {}", minute,
               st.ToString());
    ahead_.erase(window_id);
    broken_[window_id] = true;
    return;
  }
  ahead_[window_id] += static_cast<int64_t>(events.size());
}

void ClickHouseSink::Discard(uint64_t window_id) {
  ahead_.erase(window_id);
  broken_.erase(window_id);
}

Result<ingest::StoredMinute> ClickHouseSink::Store(const ingest::MinuteWindow& window, int64_t prepared) {
  const auto start = std::chrono::steady_clock::now();
  int64_t ahead = 0;
  if (auto it = ahead_.find(window.id); it != ahead_.end()) ahead = it->second;
  // Rows inserted ahead are skipped only when they are exactly the window's first
  // `prepared` events; otherwise everything goes again (duplicates collapse).
  const int64_t skip = (!broken_.contains(window.id) && ahead == prepared) ? ahead : 0;
  const auto events =
      std::span<const events::Event>(window.events)
          .subspan(static_cast<size_t>(std::min<int64_t>(skip, static_cast<int64_t>(window.events.size()))));
  const std::string minute = window.minute.Name();
  PFAD_RETURN_NOT_OK(Insert(events, minute));
  ahead_.erase(window.id);
  broken_.erase(window.id);
  ingest::StoredMinute stored;  // no object: the announcement names objects only
  stored.minute = minute;
  stored.rows = static_cast<int64_t>(window.events.size());
  stored.added = stored.rows;
  stored.encoded_ahead = skip;
  stored.store_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  return stored;
}

}  // namespace pfad::warehouse
