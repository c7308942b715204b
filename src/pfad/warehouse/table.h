// The warehouse table <db>.user_interactions (docs/DESIGN.md, "ClickHouse table") and its
// binary row format: the one place that spells its columns.
//
// Columns: the event's fields ("Event schema") in their order, with the timestamp
// stored three ways, because ClickHouse 18.16 has no DateTime64:
//   event_id, user_id, session_id   UUID
//   event_type                      Enum8 (the Avro enum's symbols, same order)
//   event_timestamp_ms              UInt64, epoch ms UTC (the exact value)
//   event_time                      DateTime('UTC'), whole seconds (partitioning, SQL)
//   event_minute                    String "YYYY-MM-DD_HH-MM", the Asia/Tehran minute
//   request_latency_ms              Int32
//   status                          Enum8
//   error_code, product_id          Nullable(Int32)
// Engine ReplacingMergeTree, PARTITION BY toYYYYMMDD(event_time), ORDER BY
// (event_minute, event_id). The sorting key is the dedup key: event_minute
// is a function of the event's own timestamp, so a row inserted twice (a
// crash re-read, a late-event rewrite of its minute) has the same key and the
// same partition, and `SELECT ... FINAL` shows it once. Background merges
// remove the duplicates in storage later; counts must read FINAL.
//
// Features relied on, present in 18.16 and every later server: UUID, Enum8,
// Nullable, DateTime with a time zone argument, ReplacingMergeTree with a
// custom PARTITION BY, FINAL, INSERT/SELECT ... FORMAT RowBinary over HTTP,
// CREATE ... IF NOT EXISTS. Nothing newer (no DateTime64, query parameters,
// LowCardinality, insert_deduplication_token, Parquet format).
#pragma once

#include "pfad/common/status.h"
#include "pfad/events/event.h"
#include "pfad/events/minute.h"
#include "pfad/warehouse/clickhouse_client.h"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pfad::warehouse {

inline constexpr std::string_view kTableName = "user_interactions";

// CREATE DATABASE / CREATE TABLE statements (IF NOT EXISTS) for `database`.
std::string CreateDatabaseSql(std::string_view database);
std::string CreateTableSql(std::string_view database);
// Creates the database and table when missing.
[[nodiscard]] Status EnsureTable(const ClickHouseClient& client);

// "INSERT INTO <db>.user_interactions (<all columns>) FORMAT RowBinary".
std::string InsertSql(std::string_view database);
// Appends `events`, all of minute `minute_name`, as RowBinary rows of InsertSql.
void AppendRowBinary(std::span<const events::Event> events, std::string_view minute_name, std::string& out);

// The events of one minute, deduplicated (FINAL), as RowBinary rows that
// ParseRowBinary reads: the event's fields only.
std::string SelectMinuteSql(std::string_view database, const events::Minute& minute);
[[nodiscard]] Result<std::vector<events::Event>> ParseRowBinary(std::string_view rows);

}  // namespace pfad::warehouse
