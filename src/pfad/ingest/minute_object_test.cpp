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

TEST_F(MinuteObjectTest, AConditionalWriteLosesToAConcurrentWriter) {
  const auto uri = Uri("x.bin");
  ASSERT_TRUE(store_->PutIfVersion(uri, "one", "").ok());
  auto v1 = store_->GetVersioned(uri).ValueOrDie();
  EXPECT_TRUE(v1.exists);
  EXPECT_EQ(v1.bytes, "one");
  EXPECT_TRUE(store_->PutIfVersion(uri, "two", "").IsAlreadyExists());  // must not exist: it does
  ASSERT_TRUE(store_->PutIfVersion(uri, "two", v1.version).ok());
  EXPECT_TRUE(store_->PutIfVersion(uri, "three", v1.version).IsAlreadyExists());  // stale version
  EXPECT_EQ(store_->GetVersioned(uri).ValueOrDie().bytes, "two");
  EXPECT_FALSE(store_->GetVersioned(Uri("absent.bin")).ValueOrDie().exists);
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
