#include "pfad/events/schema.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "pfad/events/generator.h"

namespace pfad::events {
namespace {

TEST(EventSchema, HasTheDesignColumnsInOrder) {
  const auto schema = EventSchema();
  const std::vector<std::string> names = {"event_id",   "user_id",         "session_id",
                                          "event_type", "event_timestamp", "request_latency_ms",
                                          "status",     "error_code",      "product_id"};
  ASSERT_EQ(schema->num_fields(), 9);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(schema->field(i)->name(), names[static_cast<size_t>(i)]);
  EXPECT_TRUE(schema->GetFieldByName("event_timestamp")
                  ->type()
                  ->Equals(arrow::timestamp(arrow::TimeUnit::MILLI, "Asia/Tehran")));
  EXPECT_TRUE(schema->GetFieldByName("error_code")->nullable());
  EXPECT_TRUE(schema->GetFieldByName("product_id")->nullable());
  EXPECT_TRUE(schema->GetFieldByName("request_latency_ms")->type()->Equals(arrow::int32()));
}

TEST(EventSchema, RecordBatchCarriesEveryField) {
  EventGenerator generator({.seed = 5, .error_rate = 0.5});
  std::vector<Event> events;
  for (int i = 0; i < 100; ++i) events.push_back(generator.Next(1736922600000 + i));
  auto batch = ToRecordBatch(events).ValueOrDie();
  ASSERT_TRUE(batch->ValidateFull().ok());
  ASSERT_EQ(batch->num_rows(), 100);
  const auto& ids = static_cast<const arrow::StringArray&>(*batch->GetColumnByName("event_id"));
  const auto& types = static_cast<const arrow::StringArray&>(*batch->GetColumnByName("event_type"));
  const auto& ts = static_cast<const arrow::TimestampArray&>(*batch->GetColumnByName("event_timestamp"));
  const auto& codes = static_cast<const arrow::Int32Array&>(*batch->GetColumnByName("error_code"));
  for (int i = 0; i < 100; ++i) {
    const Event& e = events[static_cast<size_t>(i)];
    EXPECT_EQ(ids.GetView(i), e.event_id.ToString());
    EXPECT_EQ(types.GetView(i), ToString(e.event_type));
    EXPECT_EQ(ts.Value(i), e.event_timestamp_ms);
    EXPECT_EQ(codes.IsNull(i), !e.error_code.has_value());
  }
}

TEST(EventSchema, EmptyBatchIsValid) {
  auto batch = ToRecordBatch({}).ValueOrDie();
  EXPECT_EQ(batch->num_rows(), 0);
  EXPECT_TRUE(batch->schema()->Equals(*EventSchema()));
}

}  // namespace
}  // namespace pfad::events
