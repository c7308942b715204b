// The warehouse sink of the ingester: each minute window's events go into
// <db>.user_interactions (table.h) as RowBinary inserts of at most
// `batch_rows` rows. Full row groups of an open minute are inserted ahead
// (Prepare), so closing a big minute has little left to send.
//
// Exactly once as seen by `SELECT ... FINAL`: rows are only ever added, and the
// table's ReplacingMergeTree key (event_minute, event_id) collapses a row
// inserted again, whether a crash re-read it, a late event rewrote its minute
// (the whole window is sent again), an insert was retried after its answer was
// lost, or a revoked window's prepared rows were inserted and then re-read by
// another ingester. The ingester commits offsets only after Store returned,
// so a failure here (ClickHouse down) holds the offsets back and the window is
// retried with backoff until the server answers again.
#pragma once

#include "pfad/events/minute.h"
#include "pfad/ingest/sink.h"
#include "pfad/warehouse/clickhouse_client.h"

#include <cstdint>
#include <string>
#include <unordered_map>

namespace pfad::warehouse {

class ClickHouseSink final : public ingest::MinuteSink {
 public:
  ClickHouseSink(ClickHouseClient client, events::MinuteCalendar calendar, int64_t batch_rows = 262'144);

  [[nodiscard]] std::string Name() const override;
  // Creates the database and table when missing (so also checks the login).
  [[nodiscard]] Status Check() override;
  void Prepare(uint64_t window_id, std::span<const events::Event> events) override;
  void Discard(uint64_t window_id) override;
  [[nodiscard]] Result<ingest::StoredMinute> Store(const ingest::MinuteWindow& window,
                                                   int64_t prepared) override;

 private:
  Status Insert(std::span<const events::Event> events, std::string_view minute_name);

  ClickHouseClient client_;
  events::MinuteCalendar calendar_;
  int64_t batch_rows_;
  std::string buffer_;                           // one batch's rows, reused
  std::unordered_map<uint64_t, int64_t> ahead_;  // open window -> its first events inserted ahead
  std::unordered_map<uint64_t, bool> broken_;    // windows whose insert ahead failed
};

}  // namespace pfad::warehouse
