#include "pfad/events/avro.h"

#include <fmt/format.h>

#include "pfad/events/avro_reader.h"

namespace pfad::events {
namespace {

// The body is written through a raw pointer into space reserved up front (the
// producer encodes every event, so this is on its hot path).
char* PutLong(int64_t value, char* out) {
  uint64_t n = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);  // zigzag
  while (n >= 0x80) {
    *out++ = static_cast<char>((n & 0x7F) | 0x80);
    n >>= 7;
  }
  *out++ = static_cast<char>(n);
  return out;
}

char* PutUuidString(const Uuid& uuid, char* out) {
  out = PutLong(36, out);
  uuid.Format(out);
  return out + 36;
}

char* PutOptionalInt(const std::optional<int32_t>& value, char* out) {
  // Union ["null", "int"]: branch index, then the value.
  if (!value) return PutLong(0, out);
  return PutLong(*value, PutLong(1, out));
}

// 3 strings of 1 + 36 bytes, 6 longs/ints and 2 union branches, each at most 10 bytes.
constexpr size_t kMaxBody = 3 * 37 + 8 * 10;

}  // namespace

void AppendAvro(const Event& e, std::string& out) {
  const size_t at = out.size();
  out.resize(at + kMaxBody);
  char* p = out.data() + at;
  p = PutUuidString(e.event_id, p);
  p = PutUuidString(e.user_id, p);
  p = PutUuidString(e.session_id, p);
  p = PutLong(static_cast<int64_t>(e.event_type), p);
  p = PutLong(e.event_timestamp_ms, p);
  p = PutLong(e.request_latency_ms, p);
  p = PutLong(static_cast<int64_t>(e.status), p);
  p = PutOptionalInt(e.error_code, p);
  p = PutOptionalInt(e.product_id, p);
  out.resize(static_cast<size_t>(p - out.data()));
}

Result<Event> DecodeAvro(std::string_view body) {
  AvroReader r(body);
  Event e;
  for (Uuid* id : {&e.event_id, &e.user_id, &e.session_id}) {
    PFAD_ASSIGN_OR_RAISE(auto text, r.Bytes());
    PFAD_ASSIGN_OR_RAISE(*id, Uuid::Parse(text));
  }
  PFAD_ASSIGN_OR_RAISE(int64_t type, r.Long());
  if (type < 0 || type >= kEventTypeCount) return Status::Invalid("bad EventType index ", type);
  e.event_type = static_cast<EventType>(type);
  PFAD_ASSIGN_OR_RAISE(e.event_timestamp_ms, r.Long());
  PFAD_ASSIGN_OR_RAISE(e.request_latency_ms, r.Int());
  PFAD_ASSIGN_OR_RAISE(int64_t status, r.Long());
  if (status < 0 || status > 1) return Status::Invalid("bad StatusType index ", status);
  e.status = static_cast<EventStatus>(status);
  PFAD_ASSIGN_OR_RAISE(e.error_code, r.OptionalInt("error_code"));
  PFAD_ASSIGN_OR_RAISE(e.product_id, r.OptionalInt("product_id"));
  if (!r.AtEnd()) return Status::Invalid("trailing bytes after the Avro body");
  return e;
}

void AppendConfluentHeader(int32_t schema_id, std::string& out) {
  const auto id = static_cast<uint32_t>(schema_id);
  out.push_back('\0');
  out.push_back(static_cast<char>(id >> 24));
  out.push_back(static_cast<char>(id >> 16));
  out.push_back(static_cast<char>(id >> 8));
  out.push_back(static_cast<char>(id));
}

Result<std::pair<int32_t, std::string_view>> SplitConfluentFrame(std::string_view frame) {
  if (frame.size() < kConfluentHeaderSize)
    return Status::Invalid("message shorter than the Confluent header");
  if (frame[0] != '\0')
    return Status::Invalid("bad magic byte ", static_cast<int>(static_cast<uint8_t>(frame[0])));
  uint32_t id = 0;
  for (size_t i = 1; i < kConfluentHeaderSize; ++i) id = id << 8 | static_cast<uint8_t>(frame[i]);
  return std::pair{static_cast<int32_t>(id), frame.substr(kConfluentHeaderSize)};
}

std::string ToJsonLine(const Event& e) {
  const auto optional = [](const std::optional<int32_t>& v) {
    return v ? std::to_string(*v) : std::string("null");
  };
  return fmt::format(
      R"({{"event_id":"{}","user_id":"{}","session_id":"{}","event_type":"{}","event_timestamp":{},)"
      R"("request_latency_ms":{},"status":"{}","error_code":{},"product_id":{}}})",
      e.event_id.ToString(), e.user_id.ToString(), e.session_id.ToString(), ToString(e.event_type),
      e.event_timestamp_ms, e.request_latency_ms, ToString(e.status), optional(e.error_code),
      optional(e.product_id));
}

}  // namespace pfad::events
