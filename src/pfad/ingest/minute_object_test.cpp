#include "pfad/ingest/minute_object.h"

#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>

#include <arrow/api.h>

#include <set>

#include "pfad/events/generator.h"
#include "pfad/storage/local_store_fixture.h"

namespace pfad::ingest {
namespace {

using storage::LocalStoreFixture;

class MinuteObjectTest : public LocalStoreFixture {
 protected:
  events::Minute minute_ = events::MinuteCalendar::Open().ValueOrDie().Parse("2025-01-15 10:00").ValueOrDie();

  std::vector<events::Event> Events(uint64_t seed, int n) {
    events::EventGenerator generator({.seed = seed});
    std::vector<events::Event> out;
    for (int i = 0; i < n; ++i) out.push_back(generator.Next(minute_.start_ms + i));
    return out;
  }

  std::multiset<std::string> StoredIds() {
    auto file = store_->OpenForRead(Uri("2025-01-15_10-00.parquet")).ValueOrDie();
    auto reader = parquet::arrow::OpenFile(file, arrow::default_memory_pool()).ValueOrDie();
    auto table = reader->ReadTable().ValueOrDie();
    std::multiset<std::string> ids;
    for (const auto& chunk : table->column(0)->chunks()) {
      const auto& a = static_cast<const arrow::StringArray&>(*chunk);
      for (int64_t i = 0; i < a.length(); ++i) ids.insert(std::string(a.GetView(i)));
    }
    return ids;
  }
};

TEST_F(MinuteObjectTest, WritesMergesAndNeverStoresAnEventTwice) {
  MinuteObjectWriter writer(store_, Uri(""), 7);
  auto first = Events(1, 20);
  auto stored = writer.Write(minute_, first).ValueOrDie();
  EXPECT_EQ(stored.object.Basename(), "2025-01-15_10-00.parquet");
  EXPECT_FALSE(stored.update);
  EXPECT_EQ(stored.rows, 20);

  // A re-read (same events) plus new ones, with a duplicate inside the batch.
  auto second = Events(2, 5);
  std::vector<events::Event> batch(first.begin(), first.begin() + 10);
  batch.insert(batch.end(), second.begin(), second.end());
  batch.push_back(second[0]);
  stored = writer.Write(minute_, batch).ValueOrDie();
  EXPECT_TRUE(stored.update);
  EXPECT_EQ(stored.added, 5);
  EXPECT_EQ(stored.rows, 25);

  const auto ids = StoredIds();
  EXPECT_EQ(ids.size(), 25u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 25u);

  // Nothing new: the object is left alone.
  stored = writer.Write(minute_, first).ValueOrDie();
  EXPECT_EQ(stored.added, 0);
  EXPECT_EQ(stored.rows, 25);
}

TEST_F(MinuteObjectTest, DuplicatesAreDroppedAtAnySizeTheNilIdIncluded) {
  MinuteObjectWriter writer(store_, Uri(""), 1000);
  auto batch = Events(3, 3000);
  batch[5].event_id = events::Uuid{};  // the nil id is an id like any other
  batch[6].event_id = events::Uuid{};
  batch.insert(batch.end(), batch.begin(), batch.begin() + 1000);  // a thousand re-deliveries
  const auto stored = writer.Write(minute_, batch).ValueOrDie();
  EXPECT_EQ(stored.added, 2999);
  const auto ids = StoredIds();
  EXPECT_EQ(ids.size(), 2999u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 2999u);
  EXPECT_EQ(ids.count("00000000-0000-0000-0000-000000000000"), 1u);

  // Merging into the stored object: every id is already there.
  EXPECT_EQ(writer.Write(minute_, batch).ValueOrDie().added, 0);
}

TEST_F(MinuteObjectTest, RowGroupsEncodedAheadGiveTheSameObject) {
  MinuteObjectWriter writer(store_, Uri(""), 100);
  auto window = Events(4, 350);
  window.push_back(window[10]);   // a re-delivery inside a staged chunk ...
  window.push_back(window[120]);  // ... and one of an earlier chunk in the rest
  StagedObject staged;
  ASSERT_TRUE(staged.Append(std::span(window).subspan(0, 100), 100).ok());
  ASSERT_TRUE(staged.Append(std::span(window).subspan(100, 100), 100).ok());
  EXPECT_EQ(staged.events_seen(), 200);
  const auto stored = writer.Write(minute_, window, std::move(staged)).ValueOrDie();
  EXPECT_FALSE(stored.update);
  EXPECT_EQ(stored.added, 350);
  EXPECT_EQ(stored.rows, 350);
  EXPECT_EQ(stored.encoded_ahead, 200);  // the two staged row groups; the re-deliveries came later
  auto ids = StoredIds();
  EXPECT_EQ(ids.size(), 350u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 350u);

  // The object exists now: what was encoded ahead is set aside and the write merges.
  auto more = Events(5, 150);
  std::vector<events::Event> again(window.begin(), window.begin() + 100);
  again.insert(again.end(), more.begin(), more.end());
  StagedObject ahead;
  ASSERT_TRUE(ahead.Append(std::span(again).subspan(0, 100), 100).ok());
  const auto merged = writer.Write(minute_, again, std::move(ahead)).ValueOrDie();
  EXPECT_TRUE(merged.update);
  EXPECT_EQ(merged.added, 150);
  EXPECT_EQ(merged.rows, 500);
  ids = StoredIds();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 500u);
  EXPECT_EQ(ids.size(), 500u);
}

TEST_F(MinuteObjectTest, AForeignObjectUnderTheNameIsAClearError) {
  ASSERT_TRUE(store_->Put(Uri("2025-01-15_10-00.parquet"), "not parquet").ok());
  MinuteObjectWriter writer(store_, Uri(""), 1000);
  const auto st = writer.Write(minute_, Events(1, 3)).status();
  EXPECT_TRUE(st.IsIOError());
  EXPECT_NE(st.message().find("2025-01-15_10-00.parquet"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace pfad::ingest
