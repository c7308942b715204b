// The event's wire form (docs/DESIGN.md, "Kafka topics"): Avro binary encoding of the
// schema in schemas/user_interactions.avsc, framed in the Confluent wire format
// (0x00, 4-byte big-endian schema id, Avro body).
//
// Encoding is written out for this one schema (no generic datum walk): it is
// the producer's hot path. The field order is checked against the .avsc by
// the unit tests, and the bytes against fastavro by the integration tests.
#pragma once

#include "pfad/common/status.h"
#include "pfad/events/event.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace pfad::events {

// The Avro schema text, embedded at build time from schemas/user_interactions.avsc.
std::string_view EventAvroSchema();

// Appends the Avro binary body of `event` to `out`.
void AppendAvro(const Event& event, std::string& out);
// Decodes a body written with exactly this schema; Invalid on truncated or bad data.
Result<Event> DecodeAvro(std::string_view body);

inline constexpr size_t kConfluentHeaderSize = 5;
// Appends the Confluent frame header (magic 0x00 + schema id) to `out`.
void AppendConfluentHeader(int32_t schema_id, std::string& out);
// Splits a Confluent frame into schema id and body; Invalid on a bad header.
Result<std::pair<int32_t, std::string_view>> SplitConfluentFrame(std::string_view frame);

// The event as one JSON object line (field names of the schema; UUIDs as text,
// enums as symbols, timestamp as epoch ms, nulls as null). For previews and tests.
std::string ToJsonLine(const Event& event);

}  // namespace pfad::events
