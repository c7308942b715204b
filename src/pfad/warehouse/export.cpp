#include "pfad/warehouse/export.h"

#include <fmt/format.h>

#include <chrono>

#include "pfad/ingest/minute_object.h"
#include "pfad/warehouse/table.h"

namespace pfad::warehouse {
namespace {

int64_t MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

Result<ExportResult> ExportMinute(const ClickHouseClient& client, const events::Minute& minute,
                                  std::shared_ptr<storage::ObjectStore> store, const storage::ObjectUri& to,
                                  int64_t row_group_rows) {
  ExportResult result;
  result.minute = minute.Name();
  auto start = std::chrono::steady_clock::now();
  PFAD_ASSIGN_OR_RAISE(const std::string exists,
                       client.Execute(fmt::format("EXISTS TABLE {}.{}", client.database(), kTableName)));
  if (!exists.starts_with('1')) return result;  // nothing ingested into this database yet
  PFAD_ASSIGN_OR_RAISE(const std::string rows, client.Execute(SelectMinuteSql(client.database(), minute)));
  PFAD_ASSIGN_OR_RAISE(const auto events, ParseRowBinary(rows));
  result.query_ms = MillisSince(start);
  result.rows = static_cast<int64_t>(events.size());
  if (events.empty()) return result;
  start = std::chrono::steady_clock::now();
  const ingest::MinuteObjectWriter writer(std::move(store), to, row_group_rows);
  PFAD_ASSIGN_OR_RAISE(const auto stored, writer.Write(minute, events));
  result.object = stored.object;
  result.write_ms = MillisSince(start);
  return result;
}

}  // namespace pfad::warehouse
