// The export step of the warehouse path (docs/DESIGN.md, "Warehouse export"): one Asia/Tehran
// minute from ClickHouse to its Parquet object ("Minute objects"), written by the same
// MinuteObjectWriter the ingester uses (so the same columns, types, row groups,
// atomic conditional write, and merge by event_id with an object already
// there). The rows are read deduplicated (FINAL). A minute with no rows, or
// no table yet, writes no object, so the analysis answers "No data for ...".
#pragma once

#include "pfad/common/status.h"
#include "pfad/events/minute.h"
#include "pfad/storage/object_store.h"
#include "pfad/warehouse/clickhouse_client.h"

#include <cstdint>
#include <memory>
#include <optional>

namespace pfad::warehouse {

struct ExportResult {
  std::string minute;                        // "YYYY-MM-DD_HH-MM"
  int64_t rows = 0;                          // rows ClickHouse holds for the minute
  std::optional<storage::ObjectUri> object;  // set when an object was written
  int64_t query_ms = 0;                      // query and transfer
  int64_t write_ms = 0;                      // Parquet encoding and upload
};

// `to` is the directory or bucket/prefix of the minute objects.
[[nodiscard]] Result<ExportResult> ExportMinute(const ClickHouseClient& client, const events::Minute& minute,
                                                std::shared_ptr<storage::ObjectStore> store,
                                                const storage::ObjectUri& to,
                                                int64_t row_group_rows = 262'144);

}  // namespace pfad::warehouse
