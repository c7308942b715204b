#include "pfad/labels/label_store.h"

#include <gtest/gtest.h>

#include "pfad/storage/local_store_fixture.h"

namespace pfad::labels {
namespace {

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kT0 = 1736922600000;  // 2025-01-15 06:30 UTC

events::LabelRecord Record(uint64_t id, int64_t first_ms, events::Scenario scenario, int64_t labelled_at,
                           std::string ref) {
  return {{.kind = events::EntityKind::kSession,
           .entity_id = events::Uuid::V4(id, 7),
           .scenario = scenario,
           .first_ms = first_ms,
           .last_ms = first_ms + 60'000},
          "kafka",
          labelled_at,
          std::move(ref)};
}

class LabelStoreTest : public storage::LocalStoreFixture {};

TEST(LabelDay, IsTheUtcDay) {
  EXPECT_EQ(LabelDay(kT0), "2025-01-15");
  EXPECT_EQ(LabelDay(kT0 + 18 * 3'600'000), "2025-01-16");
  EXPECT_EQ(LabelDay(0), "1970-01-01");
  EXPECT_EQ(LabelDay(-1), "1969-12-31");
}

TEST_F(LabelStoreTest, WritesOneObjectPerDayAndReadsTheRange) {
  const auto prefix = Uri("labels");
  const std::vector<events::LabelRecord> records{
      Record(1, kT0, events::Scenario::kFraud, kT0 + 10, "t/0/1"),
      Record(2, kT0 + kDay, events::Scenario::kNotFraud, kT0 + kDay + 10, "t/0/2"),
      Record(3, kT0 + 5 * kDay, events::Scenario::kBot, kT0 + 5 * kDay, "t/0/3"),
  };
  auto written = WriteLabelRecords(*store_, prefix, "kafka-t-p0-o1", records);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  ASSERT_EQ(written->size(), 3u);
  EXPECT_EQ((*written)[0].ToString(), prefix.Child("2025-01-15").Child("kafka-t-p0-o1.parquet").ToString());

  auto all = ReadLabelRecords(*store_, prefix, kT0 - kDay, kT0 + 10 * kDay);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, records);
  auto first_two = ReadLabelRecords(*store_, prefix, kT0, kT0 + kDay + 1);
  ASSERT_TRUE(first_two.ok());
  ASSERT_EQ(first_two->size(), 2u);
  // Entity active before the range's start, ending inside it, still counts.
  auto overlap = ReadLabelRecords(*store_, prefix, kT0 + 30'000, kT0 + 40'000);
  ASSERT_TRUE(overlap.ok());
  ASSERT_EQ(overlap->size(), 1u);
  EXPECT_EQ(overlap->front().ref, "t/0/1");

  auto stems = ListLabelStems(*store_, prefix);
  ASSERT_TRUE(stems.ok());
  EXPECT_EQ(*stems, std::vector<std::string>{"kafka-t-p0-o1"});
}

TEST_F(LabelStoreTest, ARefWrittenTwiceCountsOnceAndTheLatestLabelIsLast) {
  const auto prefix = Uri("labels");
  const auto a = Record(1, kT0, events::Scenario::kFraud, kT0 + 500, "t/0/1");
  const auto b = Record(1, kT0, events::Scenario::kNotFraud, kT0 + 900, "review/1");
  ASSERT_TRUE(WriteLabelRecords(*store_, prefix, "kafka-t-p0-o1", std::vector{a}).ok());
  // A crash after writing, before committing the offset: the batch comes again, larger.
  ASSERT_TRUE(WriteLabelRecords(*store_, prefix, "kafka-t-p0-o1-again", std::vector{a}).ok());
  ASSERT_TRUE(WriteLabelRecords(*store_, prefix, "review-1", std::vector{b}).ok());
  auto read = ReadLabelRecords(*store_, prefix, kT0, kT0 + 1);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0], a);
  EXPECT_EQ((*read)[1], b);
}

TEST_F(LabelStoreTest, AMissingPrefixIsNoLabelsAndACorruptObjectIsNamed) {
  auto none = ReadLabelRecords(*store_, Uri("nothing-here"), kT0, kT0 + 1);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
  const auto prefix = Uri("labels");
  ASSERT_TRUE(store_->Put(prefix.Child("2025-01-15").Child("bad.parquet"), "not parquet").ok());
  auto bad = ReadLabelRecords(*store_, prefix, kT0, kT0 + 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.parquet"), std::string::npos);
}

}  // namespace
}  // namespace pfad::labels
