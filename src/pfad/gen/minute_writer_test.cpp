#include "pfad/gen/minute_writer.h"

#include <arrow/api.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>

#include <filesystem>
#include <map>

#include "pfad/events/labels.h"
#include "pfad/storage/local_store_fixture.h"

namespace pfad::gen {
namespace {

using storage::ObjectUri;

std::shared_ptr<arrow::Table> ReadTable(const storage::ObjectStore& store, const ObjectUri& uri) {
  auto file = store.OpenForRead(uri).ValueOrDie();
  auto reader = parquet::arrow::OpenFile(file, arrow::default_memory_pool()).ValueOrDie();
  return reader->ReadTable().ValueOrDie()->CombineChunks().ValueOrDie();
}

events::Minute TenOClock() {
  return events::MinuteCalendar::Open().ValueOrDie().Parse("2025-01-15 10:00").ValueOrDie();
}

TEST(LabelsObject, BesideTheMinuteOrUnderTheLabelsTarget) {
  const auto minute = TenOClock();
  const auto dir = *ObjectUri::Parse("s3://b/p");
  EXPECT_EQ(LabelsObject(MinuteObject(dir, minute), std::nullopt, minute).ToString(),
            "s3://b/p/2025-01-15_10-00.labels.parquet");
  EXPECT_EQ(LabelsObject(*ObjectUri::Parse("out/x.parquet"), std::nullopt, minute).ToString(),
            "out/x.labels.parquet");
  EXPECT_EQ(LabelsObject(*ObjectUri::Parse("out/x.parquet"), *ObjectUri::Parse("lab"), minute).ToString(),
            "lab/2025-01-15_10-00.labels.parquet");
  EXPECT_EQ(
      LabelsObject(*ObjectUri::Parse("out/x.parquet"), *ObjectUri::Parse("l.parquet"), minute).ToString(),
      "l.parquet");
}

class WriteSyntheticMinutesTest : public storage::LocalStoreFixture {};

TEST_F(WriteSyntheticMinutesTest, EachMinuteGetsTheLabelsOfItsOwnEvents) {
  const auto calendar = events::MinuteCalendar::Open().ValueOrDie();
  SyntheticMinutes spec{.first = TenOClock(),
                        .minutes = 3,
                        .rows = 20'000,
                        .generator = {.seed = 3},
                        .fraud_share = 0.2,
                        .row_group_rows = 7000};
  auto written = WriteSyntheticMinutes({.target = Uri("out"), .store = store_}, calendar, spec);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  ASSERT_EQ(written->size(), 3U);
  size_t labelled = 0;
  for (const WrittenMinute& m : *written) {
    ASSERT_TRUE(m.labels.has_value());
    const auto events = ReadTable(*store_, m.events);
    ASSERT_EQ(events->num_rows(), 20'000);
    // Per entity: first and last timestamp among this minute's events.
    std::map<std::string, std::pair<int64_t, int64_t>> span;
    const auto& ts =
        static_cast<const arrow::TimestampArray&>(*events->GetColumnByName("event_timestamp")->chunk(0));
    for (const auto& [column, kind] : {std::pair{"user_id", "user:"}, std::pair{"session_id", "session:"}}) {
      const auto& ids = static_cast<const arrow::StringArray&>(*events->GetColumnByName(column)->chunk(0));
      for (int64_t i = 0; i < ids.length(); ++i) {
        auto [it, fresh] = span.try_emplace(kind + std::string(ids.GetView(i)), ts.Value(i), ts.Value(i));
        it->second.second = ts.Value(i);
      }
    }
    auto labels = events::LabelsFromTable(*ReadTable(*store_, *m.labels));
    ASSERT_TRUE(labels.ok()) << labels.status().ToString();
    for (const auto& l : *labels) {
      const auto key = std::string(events::ToString(l.kind)) + ":" + l.entity_id.ToString();
      ASSERT_TRUE(span.contains(key)) << key;
      EXPECT_EQ(span[key], std::make_pair(l.first_ms, l.last_ms)) << key;
    }
    labelled += labels->size();
  }
  EXPECT_GT(labelled, 0U);
}

TEST_F(WriteSyntheticMinutesTest, SeveralMinutesNeedADirectory) {
  const auto calendar = events::MinuteCalendar::Open().ValueOrDie();
  SyntheticMinutes spec{.first = TenOClock(), .minutes = 2, .rows = 10};
  EXPECT_TRUE(WriteSyntheticMinutes({.target = Uri("one.parquet"), .store = store_}, calendar, spec)
                  .status()
                  .IsInvalid());
}

TEST_F(WriteSyntheticMinutesTest, OpenSyntheticTargetsOpensTheStoresARunWritesTo) {
  const auto calendar = events::MinuteCalendar::Open().ValueOrDie();
  auto beside = OpenSyntheticTargets(Uri("out"), std::nullopt, TenOClock(), storage::StorageConfig{});
  ASSERT_TRUE(beside.ok()) << beside.status().ToString();
  EXPECT_EQ(beside->target.ToString(), Uri("out").ToString());
  ASSERT_NE(beside->store, nullptr);
  EXPECT_FALSE(beside->labels.has_value());
  EXPECT_EQ(beside->labels_store, nullptr);

  auto apart = OpenSyntheticTargets(Uri("out"), Uri("labels"), TenOClock(), storage::StorageConfig{});
  ASSERT_TRUE(apart.ok()) << apart.status().ToString();
  ASSERT_TRUE(apart->labels.has_value());
  EXPECT_EQ(apart->labels->ToString(), Uri("labels").ToString());
  ASSERT_NE(apart->labels_store, nullptr);
  // A run writes through them: the events under out/, the labels under labels/.
  SyntheticMinutes spec{.first = TenOClock(), .rows = 500, .generator = {.seed = 1}, .fraud_share = 0.2};
  auto written = WriteSyntheticMinutes(*apart, calendar, spec);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  ASSERT_EQ(written->size(), 1U);
  EXPECT_EQ(written->front().events.ToString(), Uri("out/2025-01-15_10-00.parquet").ToString());
  ASSERT_TRUE(written->front().labels.has_value());
  EXPECT_EQ(written->front().labels->ToString(), Uri("labels/2025-01-15_10-00.labels.parquet").ToString());
  EXPECT_TRUE(std::filesystem::exists(dir_ / "labels" / "2025-01-15_10-00.labels.parquet"));
}

}  // namespace
}  // namespace pfad::gen
