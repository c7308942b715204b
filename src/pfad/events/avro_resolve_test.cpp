#include "pfad/events/avro_resolve.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pfad/events/avro.h"
#include "pfad/events/generator.h"

namespace pfad::events {
namespace {

using Json = nlohmann::json;

void Long(int64_t value, std::string& out) {
  uint64_t n = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7F) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}
void Str(std::string_view s, std::string& out) {
  Long(static_cast<int64_t>(s.size()), out);
  out += s;
}

Json ReaderSchema() { return Json::parse(EventAvroSchema()); }

std::vector<Event> SomeEvents() {
  EventGenerator generator({.seed = 7, .error_rate = 0.5});
  std::vector<Event> out;
  for (int i = 0; i < 50; ++i) out.push_back(generator.Next(1'736'922'600'000 + i));
  return out;
}

TEST(AvroResolve, TheEventSchemaItselfTakesTheFastPath) {
  auto decoder = WriterSchemaDecoder::Make(EventAvroSchema()).ValueOrDie();
  EXPECT_TRUE(decoder->identical());
  auto docs_changed = ReaderSchema();
  docs_changed["doc"] = "another text";
  EXPECT_TRUE(WriterSchemaDecoder::Make(docs_changed.dump()).ValueOrDie()->identical());
  for (const Event& e : SomeEvents()) {
    std::string body;
    AppendAvro(e, body);
    EXPECT_EQ(decoder->Decode(body).ValueOrDie(), e);
  }
}

TEST(AvroResolve, WriterWithAnAddedFieldOfEveryKindIsSkipped) {
  // v2 adds fields after event_id (so every later field is read through the
  // plan) and at the end; each kind of Avro type must be skipped correctly.
  auto writer = ReaderSchema();
  auto& fields = writer["fields"];
  fields.insert(fields.begin() + 1, Json{{"name", "channel"}, {"type", "string"}, {"default", "web"}});
  fields.insert(
      fields.begin() + 2,
      Json{{"name", "tags"}, {"type", {{"type", "array"}, {"items", "string"}}}, {"default", Json::array()}});
  fields.push_back(
      Json{{"name", "attrs"}, {"type", {{"type", "map"}, {"values", "long"}}}, {"default", Json::object()}});
  fields.push_back(Json{{"name", "geo"},
                        {"type",
                         {{"type", "record"},
                          {"name", "Geo"},
                          {"fields",
                           {{{"name", "lat"}, {"type", "double"}},
                            {{"name", "ok"}, {"type", "boolean"}},
                            {{"name", "f"}, {"type", "float"}}}}}}});
  fields.push_back(Json{{"name", "h"}, {"type", {{"type", "fixed"}, {"name", "H"}, {"size", 4}}}});
  fields.push_back(Json{{"name", "maybe"}, {"type", {"null", "bytes"}}, {"default", nullptr}});
  auto decoder = WriterSchemaDecoder::Make(writer.dump()).ValueOrDie();
  EXPECT_FALSE(decoder->identical());
  for (const Event& e : SomeEvents()) {
    std::string reader_body;
    AppendAvro(e, reader_body);
    const std::string id_part = reader_body.substr(0, 37);  // event_id: length byte + 36 chars
    std::string body = id_part;
    Str("app", body);                                               // channel
    Long(2, body), Str("a", body), Str("bc", body), Long(0, body);  // tags: one block of 2, end
    body += reader_body.substr(37);                                 // the rest of the event
    Long(-1, body), Long(3, body), Str("k", body), Long(5, body),
        Long(0, body);  // attrs: block with byte size
    body += std::string(8, '\x01'), body.push_back('\x01'), body += std::string(4, '\x02');  // geo
    body += "abcd";                                                                          // h
    Long(1, body), Str("xyz", body);  // maybe: bytes branch
    EXPECT_EQ(decoder->Decode(body).ValueOrDie(), e);
  }
}

TEST(AvroResolve, WriterWithoutTheDefaultedFieldsReadsThemAsNull) {
  auto writer = ReaderSchema();
  writer["fields"].erase(8);  // product_id
  writer["fields"].erase(7);  // error_code
  auto decoder = WriterSchemaDecoder::Make(writer.dump()).ValueOrDie();
  Event without = SomeEvents()[0];
  without.error_code.reset();
  without.product_id.reset();
  std::string expected_body;
  AppendAvro(without, expected_body);
  expected_body.resize(expected_body.size() - 2);  // drop the two null branches
  EXPECT_EQ(decoder->Decode(expected_body).ValueOrDie(), without);
}

TEST(AvroResolve, EnumsAreMatchedBySymbolAndIntIsPromotedToLong) {
  auto writer = ReaderSchema();
  writer["fields"][3]["type"]["symbols"] = {"SEARCH",      "PAYMENT",      "CHECKOUT",
                                            "ADD_TO_CART", "VIEW_PRODUCT", "WISHLIST"};
  writer["fields"][4]["type"] = "int";
  writer["fields"][7]["type"] = "int";  // plain int read into ["null","int"]
  auto decoder = WriterSchemaDecoder::Make(writer.dump()).ValueOrDie();
  const Event e = SomeEvents()[3];
  const auto body_with_type = [&](int64_t writer_index, int64_t timestamp) {
    std::string body, reader_body;
    AppendAvro(e, reader_body);
    body = reader_body.substr(0, 3 * 37);
    Long(writer_index, body);
    Long(timestamp, body);
    Long(e.request_latency_ms, body);
    Long(static_cast<int64_t>(e.status), body);
    Long(401, body);  // error_code as plain int
    Long(0, body);    // product_id null
    return body;
  };
  auto decoded = decoder->Decode(body_with_type(1, 1'000)).ValueOrDie();  // writer's PAYMENT
  EXPECT_EQ(decoded.event_type, EventType::kPayment);
  EXPECT_EQ(decoded.event_timestamp_ms, 1'000);
  EXPECT_EQ(decoded.error_code, 401);
  EXPECT_EQ(decoded.product_id, std::nullopt);
  // A symbol the event schema does not know fails that message only.
  const auto unknown = decoder->Decode(body_with_type(5, 1'000));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("WISHLIST"), std::string::npos);
}

TEST(AvroResolve, UnreadableWriterSchemasAreRefusedWithTheField) {
  auto no_user = ReaderSchema();
  no_user["fields"].erase(1);
  auto st = WriterSchemaDecoder::Make(no_user.dump()).status();
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("user_id"), std::string::npos) << st.message();

  auto wrong_type = ReaderSchema();
  wrong_type["fields"][5]["type"] = "string";
  st = WriterSchemaDecoder::Make(wrong_type.dump()).status();
  EXPECT_NE(st.message().find("request_latency_ms"), std::string::npos) << st.message();

  EXPECT_FALSE(WriterSchemaDecoder::Make("not json").ok());
  EXPECT_FALSE(WriterSchemaDecoder::Make(R"("string")").ok());
  EXPECT_FALSE(
      WriterSchemaDecoder::Make(R"({"type":"record","name":"r","fields":[{"name":"a","type":"Nope"}]})")
          .ok());
}

TEST(AvroResolve, TruncatedAndTrailingBodiesAreInvalid) {
  auto writer = ReaderSchema();
  writer["fields"].push_back(Json{{"name", "extra"}, {"type", "long"}, {"default", 0}});
  auto decoder = WriterSchemaDecoder::Make(writer.dump()).ValueOrDie();
  std::string body;
  AppendAvro(SomeEvents()[0], body);
  EXPECT_TRUE(decoder->Decode(body).status().IsInvalid());  // extra missing: truncated
  Long(9, body);
  EXPECT_TRUE(decoder->Decode(body).ok());
  body.push_back('\0');
  EXPECT_TRUE(decoder->Decode(body).status().IsInvalid());
}

// Found in review while writing the writer-schema fuzz target (which reproduces both):
// a writer-only field whose record holds itself recursed until the stack overflowed,
// and an array of 2^62 nulls (no bytes each) was counted item by item, forever.
TEST(AvroResolve, RecursiveWriterTypeIsRefusedPerMessage) {
  auto writer = ReaderSchema();
  writer["fields"].push_back(Json{
      {"name", "loop"},
      {"type", {{"type", "record"}, {"name", "Loop"}, {"fields", {{{"name", "next"}, {"type", "Loop"}}}}}}});
  auto decoder = WriterSchemaDecoder::Make(writer.dump()).ValueOrDie();
  std::string body;
  AppendAvro(SomeEvents().front(), body);
  const Status st = decoder->Decode(body).status();
  EXPECT_TRUE(st.IsInvalid()) << st.ToString();
  EXPECT_NE(st.message().find("nested deeper"), std::string::npos) << st.ToString();
}

TEST(AvroResolve, HugeBlockOfNullItemsIsSkippedAtOnce) {
  auto writer = ReaderSchema();
  writer["fields"].push_back(Json{{"name", "nothing"}, {"type", {{"type", "array"}, {"items", "null"}}}});
  auto decoder = WriterSchemaDecoder::Make(writer.dump()).ValueOrDie();
  const Event e = SomeEvents().front();
  std::string body;
  AppendAvro(e, body);
  Long(int64_t{1} << 62, body), Long(0, body);  // one block of 2^62 nulls, then the end
  EXPECT_EQ(decoder->Decode(body).ValueOrDie(), e);
}

TEST(AvroResolve, DeeplyNestedWriterSchemaIsRefused) {
  Json type = "long";
  for (int i = 0; i < 100; ++i) type = Json{{"type", "array"}, {"items", type}};
  auto writer = ReaderSchema();
  writer["fields"].push_back(Json{{"name", "deep"}, {"type", type}});
  const Status st = WriterSchemaDecoder::Make(writer.dump()).status();
  EXPECT_TRUE(st.IsInvalid()) << st.ToString();
  EXPECT_NE(st.message().find("nested deeper"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace pfad::events
