// OpenMinuteWindow, ComputeWindowFeatures and WriteFeatureTables on a local
// store with generated minutes (what `pfad fraud features`, `eval` and `train` run).
#include "pfad/fraud/graph/window_features.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "pfad/events/minute.h"
#include "pfad/fraud/graph/window_events.h"
#include "pfad/fraud/testing.h"
#include "pfad/gen/minute_writer.h"
#include "pfad/storage/local_store_fixture.h"

namespace pfad::fraud {
namespace {

class WindowFeaturesTest : public storage::LocalStoreFixture {
 protected:
  void Generate(int64_t minutes, const std::string& dir, int64_t rows = 500,
                int64_t row_group_rows = 1 << 20) {
    const auto calendar = events::MinuteCalendar::Open().ValueOrDie();
    gen::SyntheticMinutes spec{.first = calendar.Parse("2026-11-01 10:00").ValueOrDie(),
                               .minutes = minutes,
                               .rows = rows,
                               .generator = {.seed = 4},
                               .fraud_share = 0.1,  // labels beside the minutes: not minute objects
                               .row_group_rows = row_group_rows};
    ASSERT_TRUE(gen::WriteSyntheticMinutes({.target = Uri(dir), .store = store_}, calendar, spec).ok());
  }
};

// One object is parsed on every core, a share of its row groups each (the live
// window reads one object a minute): the events are those of the object read whole.
TEST_F(WindowFeaturesTest, AnObjectOfManyRowGroupsReadsAsOneOfOne) {
  Generate(1, "many", 5000, 700);  // 8 row groups
  Generate(1, "one", 5000);
  ASSERT_OK_AND_ASSIGN(const auto many, ListMinuteObjects(*store_, Uri("many")));
  ASSERT_OK_AND_ASSIGN(const auto one, ListMinuteObjects(*store_, Uri("one")));
  ASSERT_OK_AND_ASSIGN(const auto a, ReadWindow(*store_, many));
  ASSERT_OK_AND_ASSIGN(const auto b, ReadWindow(*store_, one));
  ASSERT_EQ(a.size(), 5000u);
  EXPECT_EQ(a.user_ids, b.user_ids);
  EXPECT_EQ(a.session_ids, b.session_ids);
  EXPECT_EQ(a.product_ids, b.product_ids);
  EXPECT_EQ(a.user, b.user);
  EXPECT_EQ(a.session, b.session);
  EXPECT_EQ(a.product, b.product);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.error_code, b.error_code);
  EXPECT_EQ(a.latency_ms, b.latency_ms);
  EXPECT_EQ(a.time_ms, b.time_ms);
  EXPECT_TRUE(a.event_id == b.event_id);
}

TEST_F(WindowFeaturesTest, OpenMinuteWindowKeepsTheLastMinutesInOrder) {
  Generate(3, "w");
  auto all = OpenMinuteWindow(Uri("w"), storage::StorageConfig{}, 0);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_NE(all->store, nullptr);
  ASSERT_EQ(all->minutes.size(), 3u);
  EXPECT_EQ(all->minutes[0].Basename(), "2026-11-01_10-00.parquet");
  auto last = OpenMinuteWindow(Uri("w"), storage::StorageConfig{}, 2);
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_EQ(last->minutes.size(), 2u);
  EXPECT_EQ(last->minutes[0].Basename(), "2026-11-01_10-01.parquet");
  EXPECT_EQ(last->minutes[1].Basename(), "2026-11-01_10-02.parquet");
  auto more = OpenMinuteWindow(Uri("w"), storage::StorageConfig{}, 10);
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_EQ(more->minutes.size(), 3u);
}

TEST_F(WindowFeaturesTest, OpenMinuteWindowWithoutMinuteObjectsIsInvalid) {
  std::filesystem::create_directories(dir_ / "empty");
  const auto w = OpenMinuteWindow(Uri("empty"), storage::StorageConfig{}, 0);
  ASSERT_TRUE(w.status().IsInvalid()) << w.status();
  EXPECT_EQ(w.status().message(), Uri("empty").ToString() + ": no minute objects (YYYY-MM-DD_HH-MM.parquet)");
}

TEST_F(WindowFeaturesTest, ComputesUserAndSessionTablesAndTimesThem) {
  Generate(2, "w");
  auto window = OpenMinuteWindow(Uri("w"), storage::StorageConfig{}, 0);
  ASSERT_TRUE(window.ok()) << window.status();
  const ManualClock clock(5000);
  auto features = ComputeWindowFeatures(*window, clock);
  ASSERT_TRUE(features.ok()) << features.status();
  ASSERT_EQ(features->tables.size(), 2u);
  EXPECT_EQ(features->tables[0].kind, events::EntityKind::kUser);
  EXPECT_EQ(features->tables[1].kind, events::EntityKind::kSession);
  EXPECT_GT(features->tables[0].rows(), 0u);
  EXPECT_GT(features->tables[1].rows(), 0u);
  ASSERT_TRUE(features->timing.has_value());
  EXPECT_EQ(features->timing->events, 1000u);
  EXPECT_EQ(features->timing->read_ms, 0);  // the manual clock did not move
  EXPECT_EQ(features->timing->features_ms, 0);
}

TEST_F(WindowFeaturesTest, WritesEachTableSortedByIdIntoANewDirectory) {
  Generate(1, "w");
  auto window = OpenMinuteWindow(Uri("w"), storage::StorageConfig{}, 0);
  ASSERT_TRUE(window.ok()) << window.status();
  auto features = ComputeWindowFeatures(*window);
  ASSERT_TRUE(features.ok()) << features.status();
  std::vector<WrittenFeatureTable> written;
  const Status st = WriteFeatureTables(Uri("out/features"), storage::StorageConfig{}, features->tables,
                                       [&](const WrittenFeatureTable& t) { written.push_back(t); });
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[0].uri.ToString(), Uri("out/features/user_features.parquet").ToString());
  EXPECT_EQ(written[1].uri.ToString(), Uri("out/features/session_features.parquet").ToString());
  EXPECT_EQ(written[0].rows, features->tables[0].rows());
  EXPECT_EQ(written[0].cols, features->tables[0].cols());
  for (const auto& t : written) {
    auto info = store_->Stat(t.uri);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_TRUE(info->exists) << t.uri.ToString();
  }
}

}  // namespace
}  // namespace pfad::fraud
