#include "pfad/events/schema.h"

#include <arrow/api.h>
#include <parquet/properties.h>

#include "pfad/events/minute.h"

namespace pfad::events {

std::shared_ptr<arrow::Schema> EventSchema() {
  static const auto schema = arrow::schema({
      arrow::field(std::string(column::kEventId), arrow::utf8(), false),
      arrow::field(std::string(column::kUserId), arrow::utf8(), false),
      arrow::field(std::string(column::kSessionId), arrow::utf8(), false),
      arrow::field(std::string(column::kEventType), arrow::utf8(), false),
      arrow::field(std::string(column::kEventTimestamp),
                   arrow::timestamp(arrow::TimeUnit::MILLI, std::string(kPipelineTimeZone)), false),
      arrow::field(std::string(column::kRequestLatencyMs), arrow::int32(), false),
      arrow::field(std::string(column::kStatus), arrow::utf8(), false),
      arrow::field(std::string(column::kErrorCode), arrow::int32(), true),
      arrow::field(std::string(column::kProductId), arrow::int32(), true),
  });
  return schema;
}

namespace {
Status AppendUuids(arrow::StringBuilder& builder, std::span<const Event> events, Uuid Event::* member) {
  PFAD_RETURN_NOT_OK(builder.Reserve(static_cast<int64_t>(events.size())));
  PFAD_RETURN_NOT_OK(builder.ReserveData(static_cast<int64_t>(events.size()) * 36));
  char text[36];
  for (const Event& e : events) {
    (e.*member).Format(text);
    builder.UnsafeAppend(text, 36);
  }
  return Status::OK();
}

Status AppendOptional(arrow::Int32Builder& builder, std::span<const Event> events,
                      std::optional<int32_t> Event::* member) {
  PFAD_RETURN_NOT_OK(builder.Reserve(static_cast<int64_t>(events.size())));
  for (const Event& e : events) {
    if (const auto& v = e.*member) {
      builder.UnsafeAppend(*v);
    } else {
      builder.UnsafeAppendNull();
    }
  }
  return Status::OK();
}
}  // namespace

Result<std::shared_ptr<arrow::RecordBatch>> ToRecordBatch(std::span<const Event> events) {
  const auto schema = EventSchema();
  arrow::StringBuilder event_id, user_id, session_id, event_type, status;
  arrow::TimestampBuilder timestamp(schema->field(4)->type(), arrow::default_memory_pool());
  arrow::Int32Builder latency, error_code, product_id;

  PFAD_RETURN_NOT_OK(AppendUuids(event_id, events, &Event::event_id));
  PFAD_RETURN_NOT_OK(AppendUuids(user_id, events, &Event::user_id));
  PFAD_RETURN_NOT_OK(AppendUuids(session_id, events, &Event::session_id));
  const auto n = static_cast<int64_t>(events.size());
  PFAD_RETURN_NOT_OK(event_type.Reserve(n));
  PFAD_RETURN_NOT_OK(status.Reserve(n));
  PFAD_RETURN_NOT_OK(timestamp.Reserve(n));
  PFAD_RETURN_NOT_OK(latency.Reserve(n));
  for (const Event& e : events) {
    PFAD_RETURN_NOT_OK(event_type.Append(ToString(e.event_type)));
    PFAD_RETURN_NOT_OK(status.Append(ToString(e.status)));
    timestamp.UnsafeAppend(e.event_timestamp_ms);
    latency.UnsafeAppend(e.request_latency_ms);
  }
  PFAD_RETURN_NOT_OK(AppendOptional(error_code, events, &Event::error_code));
  PFAD_RETURN_NOT_OK(AppendOptional(product_id, events, &Event::product_id));

  std::vector<std::shared_ptr<arrow::Array>> columns(9);
  PFAD_RETURN_NOT_OK(event_id.Finish(&columns[0]));
  PFAD_RETURN_NOT_OK(user_id.Finish(&columns[1]));
  PFAD_RETURN_NOT_OK(session_id.Finish(&columns[2]));
  PFAD_RETURN_NOT_OK(event_type.Finish(&columns[3]));
  PFAD_RETURN_NOT_OK(timestamp.Finish(&columns[4]));
  PFAD_RETURN_NOT_OK(latency.Finish(&columns[5]));
  PFAD_RETURN_NOT_OK(status.Finish(&columns[6]));
  PFAD_RETURN_NOT_OK(error_code.Finish(&columns[7]));
  PFAD_RETURN_NOT_OK(product_id.Finish(&columns[8]));
  return arrow::RecordBatch::Make(schema, n, std::move(columns));
}

std::shared_ptr<parquet::WriterProperties> MinuteWriterProperties() {
  return parquet::WriterProperties::Builder()
      .compression(parquet::Compression::SNAPPY)
      ->disable_dictionary()
      ->enable_dictionary(std::string(column::kEventType))
      ->enable_dictionary(std::string(column::kStatus))
      ->enable_dictionary(std::string(column::kErrorCode))
      ->enable_dictionary(std::string(column::kProductId))
      ->build();
}

std::shared_ptr<parquet::ArrowWriterProperties> MinuteArrowWriterProperties() {
  // Columns are encoded in parallel: a minute object is on the path from minute end to report.
  return parquet::ArrowWriterProperties::Builder().store_schema()->set_use_threads(true)->build();
}

}  // namespace pfad::events
