#include "pfad/schedule/outbox.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

namespace pfad::schedule {
namespace {

// A dashboard that answers `status` (or nothing, when unreachable) and records what it took.
struct FakeDashboard {
  bool reachable = false;
  long status = 200;
  int attempts = 0;
  std::vector<std::string> taken;  // "path body"

  DashboardSender Sender() {
    return [this](const std::string& path, const std::string& body) -> Result<long> {
      ++attempts;
      if (!reachable) return Status::IOError("connection refused");
      if (status == 200) taken.push_back(path + " " + body);
      return status;
    };
  }
};

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::filesystem::temp_directory_path() /
          ("pfad-outbox-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    Cleanup();
  }
  void TearDown() override { Cleanup(); }
  void Cleanup() {
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(db_.string() + s);
  }
  std::unique_ptr<DashboardOutbox> Open() {
    return DashboardOutbox::Open(
               db_.string(), dashboard_.Sender(), clock_,
               {.first_backoff = std::chrono::seconds(1), .max_backoff = std::chrono::seconds(8)})
        .ValueOrDie();
  }

  std::filesystem::path db_;
  FakeDashboard dashboard_;
  ManualClock clock_{1'000'000};
};

TEST_F(OutboxTest, KeepsEverythingWhileTheDashboardIsDownAndDeliversInOrderWhenItIsBack) {
  auto outbox = Open();
  ASSERT_TRUE(outbox->Add("/report", "r1").ok());
  ASSERT_TRUE(outbox->Add("/runs", "run1").ok());
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 2);
  EXPECT_EQ(dashboard_.attempts, 1);  // stops at the first failure

  // Backing off: nothing is tried before the backoff has passed, and it doubles up to the cap.
  std::vector<int64_t> waits;
  for (int i = 0; i < 6; ++i) {
    const int before = dashboard_.attempts;
    int64_t waited = 0;
    while (true) {
      ASSERT_EQ(outbox->DeliverDue().ValueOrDie(), 2);
      if (dashboard_.attempts > before) break;
      clock_.Advance(500);
      waited += 500;
    }
    waits.push_back(waited);
  }
  EXPECT_EQ(waits, (std::vector<int64_t>{1000, 2000, 4000, 8000, 8000, 8000}));

  ASSERT_TRUE(outbox->Add("/report", "r2").ok());
  dashboard_.reachable = true;
  clock_.Advance(8000);
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 0);
  EXPECT_EQ(dashboard_.taken, (std::vector<std::string>{"/report r1", "/runs run1", "/report r2"}));

  // Back to the first backoff after a success.
  dashboard_.reachable = false;
  ASSERT_TRUE(outbox->Add("/report", "r3").ok());
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 1);
  clock_.Advance(1000);
  const int before = dashboard_.attempts;
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 1);
  EXPECT_EQ(dashboard_.attempts, before + 1);
}

TEST_F(OutboxTest, ServerErrorsAreRetriedAndARefusedMessageIsDroppedNotRetriedForever) {
  auto outbox = Open();
  dashboard_.reachable = true;
  dashboard_.status = 503;
  ASSERT_TRUE(outbox->Add("/report", "bad").ok());
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 1);
  EXPECT_TRUE(dashboard_.taken.empty());
  dashboard_.status = 422;
  clock_.Advance(1000);
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 0);  // refused: dropped, not blocking what comes after
  dashboard_.status = 200;
  ASSERT_TRUE(outbox->Add("/report", "later").ok());
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 0);
  EXPECT_EQ(dashboard_.taken, (std::vector<std::string>{"/report later"}));
}

TEST_F(OutboxTest, WhatWasNotDeliveredSurvivesARestart) {
  {
    auto outbox = Open();
    ASSERT_TRUE(outbox->Add("/report", "r1").ok());
    ASSERT_TRUE(outbox->Add("/report", "r2").ok());
    EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 2);
  }
  dashboard_.reachable = true;
  auto outbox = Open();
  EXPECT_EQ(outbox->Pending().ValueOrDie(), 2);
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 0);
  EXPECT_EQ(dashboard_.taken, (std::vector<std::string>{"/report r1", "/report r2"}));
}

TEST_F(OutboxTest, DrainGivesUpAfterItsTimeoutAndSaysHowManyAreLeft) {
  auto outbox = Open();
  ASSERT_TRUE(outbox->Add("/report", "r1").ok());
  const int64_t start = clock_.NowMillis();
  EXPECT_EQ(outbox->Drain(std::chrono::seconds(20), std::chrono::milliseconds(250)).ValueOrDie(), 1);
  EXPECT_GE(clock_.NowMillis() - start, 20'000);
  EXPECT_EQ(dashboard_.attempts, 5);  // at 0, 1, 3, 7 and 15 s (backoff 1, 2, 4, 8 s)
}

// A dashboard down for a simulated day: a report and a run record every minute
// (1440 minutes), each report queued twice (a late-event rerun of its minute).
// Compaction keeps one report per minute, the size cap holds the outbox at its
// bound throughout, the gauges and drop counters say so, and once the
// dashboard is back it gets the newest messages, in order.
TEST_F(OutboxTest, ADayWithTheDashboardDownStaysWithinTheBound) {
  auto metrics = std::make_shared<ScheduleMetrics>();
  auto outbox = DashboardOutbox::Open(db_.string(), dashboard_.Sender(), clock_,
                                      {.first_backoff = std::chrono::seconds(1),
                                       .max_backoff = std::chrono::seconds(30),
                                       .max_messages = 600,
                                       .max_age = std::chrono::hours(6)},
                                      metrics)
                    .ValueOrDie();
  constexpr int kMinutes = 1440;
  int64_t most = 0;
  for (int m = 0; m < kMinutes; ++m) {
    const std::string name = "m" + std::to_string(m);
    const int64_t end = clock_.NowMillis();
    ASSERT_TRUE(outbox->Add("/report", "first " + name, name, end).ok());
    ASSERT_TRUE(outbox->Add("/report", "rerun " + name, name, end).ok());
    ASSERT_TRUE(outbox->Add("/runs", "run " + name, name).ok());
    clock_.Advance(60'000);
    ASSERT_TRUE(outbox->DeliverDue().ok());
    most = std::max(most, metrics->outbox_messages.load());
  }
  EXPECT_EQ(most, 600);
  EXPECT_EQ(outbox->Pending().ValueOrDie(), 600);
  EXPECT_EQ(metrics->outbox_compacted.load(), kMinutes);               // each first report replaced
  EXPECT_EQ(metrics->outbox_dropped_size.load(), 2 * kMinutes - 600);  // the oldest beyond the cap
  EXPECT_EQ(metrics->outbox_dropped_age.load(), 0);  // 600 messages = 300 minutes, younger than 6 h
  EXPECT_LE(metrics->outbox_oldest_age_seconds.Value(), 300 * 60);
  EXPECT_EQ(metrics->outbox_dashboard_up.load(), 0);

  dashboard_.reachable = true;
  clock_.Advance(30'000);
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 0);
  ASSERT_EQ(dashboard_.taken.size(), 600u);
  EXPECT_EQ(dashboard_.taken.front(), "/report rerun m1140");  // the newest 300 minutes, oldest first
  EXPECT_EQ(dashboard_.taken.back(), "/runs run m1439");
  EXPECT_EQ(metrics->outbox_delivered.load(), 600);
  EXPECT_EQ(metrics->outbox_messages.load(), 0);
  EXPECT_EQ(metrics->outbox_dashboard_up.load(), 1);
  // Freshness: the newest report waited 30 s + its minute; the oldest kept one, 300 minutes more.
  EXPECT_EQ(metrics->last_report_minute_end.Value(), static_cast<double>(1'000'000 + 1439 * 60'000) / 1e3);
}

TEST_F(OutboxTest, TheAgeCapDropsWhatIsTooOldEvenWithoutNewMessages) {
  auto metrics = std::make_shared<ScheduleMetrics>();
  auto outbox = DashboardOutbox::Open(db_.string(), dashboard_.Sender(), clock_,
                                      {.max_messages = 1000, .max_age = std::chrono::hours(1)}, metrics)
                    .ValueOrDie();
  ASSERT_TRUE(outbox->Add("/report", "old", "m0", clock_.NowMillis()).ok());
  clock_.Advance(30 * 60'000);
  ASSERT_TRUE(outbox->Add("/report", "newer", "m30", clock_.NowMillis()).ok());
  EXPECT_EQ(outbox->Pending().ValueOrDie(), 2);
  EXPECT_EQ(metrics->outbox_oldest_age_seconds.Value(), 30 * 60);
  clock_.Advance(31 * 60'000);
  EXPECT_EQ(outbox->Pending().ValueOrDie(), 1);
  EXPECT_EQ(metrics->outbox_dropped_age.load(), 1);
  EXPECT_EQ(metrics->outbox_oldest_age_seconds.Value(), 31 * 60);
}

TEST_F(OutboxTest, AnOutboxFromBeforeTheBoundsIsMigratedAndKeepsItsMessages) {
  {
    auto db =
        SqliteDb::Open(db_.string(), "old",
                       "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL, "
                       "body TEXT NOT NULL); INSERT INTO outbox (path, body) VALUES ('/report', 'legacy')")
            .ValueOrDie();
  }
  auto outbox = Open();
  EXPECT_EQ(outbox->Pending().ValueOrDie(), 1);
  ASSERT_TRUE(outbox->Add("/report", "new", "m1", clock_.NowMillis()).ok());
  dashboard_.reachable = true;
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 0);
  EXPECT_EQ(dashboard_.taken, (std::vector<std::string>{"/report legacy", "/report new"}));
}

}  // namespace
}  // namespace pfad::schedule
