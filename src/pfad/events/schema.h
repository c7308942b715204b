// The per-minute Parquet object's columns (docs/DESIGN.md, "Minute objects"): the one Arrow
// schema every stage writes and every reader checks against.
#pragma once

#include "pfad/common/status.h"
#include "pfad/events/event.h"

#include <arrow/type_fwd.h>

#include <memory>
#include <span>
#include <string_view>

namespace parquet {
class WriterProperties;
class ArrowWriterProperties;
}  // namespace parquet

namespace pfad::events {

namespace column {
inline constexpr std::string_view kEventId = "event_id";
inline constexpr std::string_view kUserId = "user_id";
inline constexpr std::string_view kSessionId = "session_id";
inline constexpr std::string_view kEventType = "event_type";
inline constexpr std::string_view kEventTimestamp = "event_timestamp";
inline constexpr std::string_view kRequestLatencyMs = "request_latency_ms";
inline constexpr std::string_view kStatus = "status";
inline constexpr std::string_view kErrorCode = "error_code";
inline constexpr std::string_view kProductId = "product_id";
}  // namespace column

// event_id, user_id, session_id, event_type, status: string;
// event_timestamp: timestamp[ms, tz=Asia/Tehran]; request_latency_ms: int32;
// error_code, product_id: nullable int32.
std::shared_ptr<arrow::Schema> EventSchema();

// One record batch (EventSchema) holding the given events, in order.
Result<std::shared_ptr<arrow::RecordBatch>> ToRecordBatch(std::span<const Event> events);

// Writer settings for minute objects: snappy, dictionary encoding for the
// low-cardinality columns only, the Arrow schema stored for exact round trips.
std::shared_ptr<parquet::WriterProperties> MinuteWriterProperties();
std::shared_ptr<parquet::ArrowWriterProperties> MinuteArrowWriterProperties();

}  // namespace pfad::events
