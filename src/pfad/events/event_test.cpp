#include "pfad/events/event.h"

#include <gtest/gtest.h>

namespace pfad::events {
namespace {

TEST(Uuid, FormatsAndParsesCanonicalText) {
  const std::string text = "123e4567-e89b-42d3-a456-426614174000";
  auto uuid = Uuid::Parse(text);
  ASSERT_TRUE(uuid.ok());
  EXPECT_EQ(uuid->bytes[0], 0x12);
  EXPECT_EQ(uuid->bytes[15], 0x00);
  EXPECT_EQ(uuid->ToString(), text);
  EXPECT_EQ(Uuid::Parse("123E4567-E89B-42D3-A456-426614174000")->ToString(), text);
}

TEST(Uuid, RejectsMalformedText) {
  for (const char* text : {"", "123e4567e89b42d3a456426614174000", "123e4567-e89b-42d3-a456-42661417400g",
                           "123e4567-e89b-42d3-a456-4266141740000", "123e4567+e89b-42d3-a456-426614174000",
                           "z23e4567-e89b-42d3-a456-426614174000",
                           "\xff"
                           "23e4567-e89b-42d3-a456-42661417400",
                           "123e4567-e89b-42d3-a456-4266141740 0"}) {
    EXPECT_TRUE(Uuid::Parse(text).status().IsInvalid()) << text;
  }
}

TEST(Uuid, EveryByteValueRoundTrips) {
  for (int v = 0; v < 256; ++v) {
    Uuid uuid;
    for (size_t i = 0; i < uuid.bytes.size(); ++i)
      uuid.bytes[i] = static_cast<uint8_t>(v + static_cast<int>(i));
    auto back = Uuid::Parse(uuid.ToString());
    ASSERT_TRUE(back.ok()) << uuid.ToString();
    EXPECT_EQ(back->bytes, uuid.bytes);
  }
}

TEST(Uuid, V4SetsVersionAndVariant) {
  const Uuid uuid = Uuid::V4(~0ULL, ~0ULL);
  const std::string text = uuid.ToString();
  EXPECT_EQ(text[14], '4');
  EXPECT_TRUE(text[19] == '8' || text[19] == '9' || text[19] == 'a' || text[19] == 'b') << text;
  EXPECT_EQ(Uuid::V4(0, 0).ToString(), "00000000-0000-4000-8000-000000000000");
}

TEST(EventEnums, RoundTripTheAvroSymbols) {
  for (int i = 0; i < kEventTypeCount; ++i) {
    const auto type = static_cast<EventType>(i);
    EXPECT_EQ(ParseEventType(ToString(type)), type);
  }
  EXPECT_EQ(ToString(EventType::kViewProduct), "VIEW_PRODUCT");
  EXPECT_EQ(ToString(EventType::kSearch), "SEARCH");
  EXPECT_EQ(ParseEventStatus("ERROR"), EventStatus::kError);
  EXPECT_EQ(ParseEventStatus("error"), std::nullopt);
  EXPECT_EQ(ParseEventType("BUY"), std::nullopt);
}

}  // namespace
}  // namespace pfad::events
