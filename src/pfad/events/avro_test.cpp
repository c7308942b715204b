#include "pfad/events/avro.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pfad/events/generator.h"

namespace pfad::events {
namespace {

TEST(Avro, EmbeddedSchemaIsTheSchemaFileAndMatchesTheEncoderOrder) {
  const auto schema = nlohmann::json::parse(EventAvroSchema());
  EXPECT_EQ(schema["name"], "user_interactions");
  EXPECT_EQ(schema["namespace"], "com.ecommerce.events.v1");
  std::vector<std::string> fields;
  for (const auto& f : schema["fields"]) fields.push_back(f["name"]);
  // AppendAvro writes exactly these fields in this order.
  EXPECT_EQ(fields,
            (std::vector<std::string>{"event_id", "user_id", "session_id", "event_type", "event_timestamp",
                                      "request_latency_ms", "status", "error_code", "product_id"}));
  const auto& type_symbols = schema["fields"][3]["type"]["symbols"];
  for (int i = 0; i < kEventTypeCount; ++i) EXPECT_EQ(type_symbols[i], ToString(static_cast<EventType>(i)));
  EXPECT_EQ(schema["fields"][6]["type"]["symbols"], (nlohmann::json{"SUCCESS", "ERROR"}));
  EXPECT_EQ(schema["fields"][7]["type"], (nlohmann::json{"null", "int"}));
}

TEST(Avro, EncodesKnownBytes) {
  Event e;
  e.event_id = Uuid::V4(0, 0);
  e.user_id = Uuid::V4(0, 0);
  e.session_id = Uuid::V4(0, 0);
  e.event_type = EventType::kCheckout;  // index 2 -> zigzag 4
  e.event_timestamp_ms = -1;            // zigzag 1
  e.request_latency_ms = 64;            // zigzag 128 -> 0x80 0x01
  e.status = EventStatus::kError;       // index 1 -> 2
  e.error_code = 500;                   // branch 1 -> 2, 500 -> 1000 -> 0xE8 0x07
  std::string body;
  AppendAvro(e, body);
  ASSERT_EQ(body.size(), 3 * 37 + 1 + 1 + 2 + 1 + 3 + 1);
  EXPECT_EQ(body[0], 72);  // string length 36 -> zigzag 72
  const std::string tail = body.substr(3 * 37);
  EXPECT_EQ(tail, std::string("\x04\x01\x80\x01\x02\x02\xE8\x07\x00", 9));
}

TEST(Avro, RoundTripsGeneratedEvents) {
  EventGenerator generator({.seed = 4, .error_rate = 0.4});
  for (int i = 0; i < 2000; ++i) {
    const Event e = generator.Next(1736922600000 + i);
    std::string frame;
    AppendConfluentHeader(258, frame);
    AppendAvro(e, frame);
    auto [id, body] = SplitConfluentFrame(frame).ValueOrDie();
    EXPECT_EQ(id, 258);
    ASSERT_EQ(DecodeAvro(body).ValueOrDie(), e);
  }
}

TEST(Avro, RejectsDamagedInput) {
  EventGenerator generator({.seed = 1});
  std::string body;
  AppendAvro(generator.Next(0), body);
  for (size_t cut = 0; cut < body.size(); ++cut) {
    EXPECT_FALSE(DecodeAvro(std::string_view(body).substr(0, cut)).ok()) << cut;
  }
  EXPECT_FALSE(DecodeAvro(body + "x").ok());
  EXPECT_TRUE(SplitConfluentFrame("\x01\x00\x00\x00\x01").status().IsInvalid());
  EXPECT_TRUE(SplitConfluentFrame("\x00\x00").status().IsInvalid());
}

TEST(Avro, JsonLineHasEveryField) {
  EventGenerator generator({.seed = 2, .error_rate = 1.0});
  const Event e = generator.Next(5);
  const auto json = nlohmann::json::parse(ToJsonLine(e));
  EXPECT_EQ(json["event_id"], e.event_id.ToString());
  EXPECT_EQ(json["status"], "ERROR");
  EXPECT_EQ(json["error_code"], *e.error_code);
  EXPECT_EQ(json["event_timestamp"], 5);
  EXPECT_EQ(json.size(), 9U);
}

}  // namespace
}  // namespace pfad::events
