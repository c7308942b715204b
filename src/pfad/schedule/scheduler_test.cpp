#include "pfad/schedule/scheduler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>

namespace pfad::schedule {
namespace {

constexpr int64_t k1000 = 1736922600000;  // 2025-01-15 10:00:00 Tehran

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::filesystem::temp_directory_path() /
          ("pfad-runs-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    Cleanup();
    store_ = RunStore::Open(db_.string()).ValueOrDie();
  }
  void TearDown() override {
    store_.reset();
    Cleanup();
  }
  void Cleanup() {
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(db_.string() + s);
  }
  std::unique_ptr<MinuteScheduler> Make(ScheduleOptions options, MinuteTask task) {
    return std::make_unique<MinuteScheduler>(options, calendar_, clock_, *store_, std::move(task));
  }
  // Names of the minutes the task saw, in order.
  MinuteTask Recording(std::vector<std::string>& seen) {
    return [this, &seen](const events::Minute& m) {
      std::lock_guard lock(mutex_);
      seen.push_back(m.Name());
      return Status::OK();
    };
  }

  std::filesystem::path db_;
  std::unique_ptr<RunStore> store_;
  events::MinuteCalendar calendar_ = events::MinuteCalendar::Open().ValueOrDie();
  ManualClock clock_{k1000 + 5'000};  // 10:00:05
  std::mutex mutex_;
};

TEST_F(SchedulerTest, RunsThePreviousMinuteOncePerMinute) {
  std::vector<std::string> seen;
  auto s = Make({}, Recording(seen));
  ASSERT_TRUE(s->Tick().ok());
  s->WaitIdle();
  EXPECT_EQ(seen, (std::vector<std::string>{"2025-01-15_09-59"}));
  clock_.Advance(30'000);  // 10:00:35: nothing new is due
  ASSERT_TRUE(s->Tick().ok());
  s->WaitIdle();
  EXPECT_EQ(seen.size(), 1U);
  clock_.Advance(30'000);  // 10:01:05: 10:00 is due
  ASSERT_TRUE(s->Tick().ok());
  s->WaitIdle();
  EXPECT_EQ(seen, (std::vector<std::string>{"2025-01-15_09-59", "2025-01-15_10-00"}));
}

TEST_F(SchedulerTest, AtMostMaxActiveRunsAtOnce) {
  std::atomic<int> running{0}, peak{0};
  std::atomic<bool> release{false};
  auto s = Make({.max_active_runs = 2, .catchup = true, .start_ms = k1000 - 10 * 60'000},
                [&](const events::Minute&) {
                  peak = std::max(peak.load(), ++running);
                  while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                  --running;
                  return Status::OK();
                });
  ASSERT_TRUE(s->Tick().ok());  // ten minutes due at once
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(s->active(), 2);
  release = true;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(s->Tick().ok());
    s->WaitIdle();
  }
  EXPECT_EQ(peak.load(), 2);
  auto runs = store_->Recent(100).ValueOrDie();
  EXPECT_EQ(runs.size(), 10U);
  for (const auto& r : runs) EXPECT_EQ(r.state, "success") << r.minute;
}

TEST_F(SchedulerTest, RetriesAfterTheDelayThenGivesUp) {
  std::atomic<int> calls{0};
  auto s = Make({.retries = 1, .retry_delay_ms = 3000}, [&](const events::Minute&) {
    ++calls;
    return Status::IOError("store down");
  });
  ASSERT_TRUE(s->Tick().ok());
  s->WaitIdle();
  EXPECT_EQ(calls.load(), 1);
  clock_.Advance(2'000);
  ASSERT_TRUE(s->Tick().ok());
  s->WaitIdle();
  EXPECT_EQ(calls.load(), 1) << "retry waits retry_delay";
  clock_.Advance(1'000);
  ASSERT_TRUE(s->Tick().ok());
  s->WaitIdle();
  EXPECT_EQ(calls.load(), 2);
  clock_.Advance(10'000);
  ASSERT_TRUE(s->Tick().ok());
  s->WaitIdle();
  EXPECT_EQ(calls.load(), 2) << "retries = 1: two attempts in all";
  auto runs = store_->Recent(1).ValueOrDie();
  EXPECT_EQ(runs[0].state, "failed");
  EXPECT_EQ(runs[0].attempts, 2);
  EXPECT_EQ(runs[0].error, "store down");
}

TEST_F(SchedulerTest, RestartNeitherRepeatsNorSkips) {
  std::vector<std::string> seen;
  {
    auto s = Make({}, Recording(seen));
    ASSERT_TRUE(s->Tick().ok());
    s->WaitIdle();
  }
  clock_.Advance(3 * 60'000);  // down for three minutes
  {
    auto s = Make({}, Recording(seen));
    ASSERT_TRUE(s->Tick().ok());
    s->WaitIdle();
    ASSERT_TRUE(s->Tick().ok());
    s->WaitIdle();
  }
  std::sort(seen.begin(), seen.end());  // two runs at a time: they may end in either order
  EXPECT_EQ(seen, (std::vector<std::string>{"2025-01-15_09-59", "2025-01-15_10-00", "2025-01-15_10-01",
                                            "2025-01-15_10-02"}));
}

TEST_F(SchedulerTest, UnfinishedRunsAreResumedAfterACrash) {
  ASSERT_TRUE(store_->Put({"2025-01-15_09-59", k1000 - 60'000, "running", 1, ""}).ok());
  std::vector<std::string> seen;
  auto s = Make({}, Recording(seen));
  ASSERT_TRUE(s->Tick().ok());
  s->WaitIdle();
  EXPECT_EQ(seen, (std::vector<std::string>{"2025-01-15_09-59"}));
}

TEST_F(SchedulerTest, TriggerRunsAMinuteAtOnceButOnlyOnce) {
  std::vector<std::string> seen;
  auto s = Make({}, Recording(seen));
  ASSERT_TRUE(s->Tick().ok());
  s->WaitIdle();
  const auto m = calendar_.Parse("2025-01-15 10:00").ValueOrDie();
  ASSERT_TRUE(s->Trigger(m).ok());  // announced before the clock gets there
  s->WaitIdle();
  clock_.Advance(60'000);
  ASSERT_TRUE(s->Tick().ok());
  s->WaitIdle();
  EXPECT_EQ(seen, (std::vector<std::string>{"2025-01-15_09-59", "2025-01-15_10-00"}));
}

TEST_F(SchedulerTest, ObserverHearsOfEveryEndedRunButNotOfRetries) {
  std::vector<std::string> ended;
  std::mutex m;
  int calls = 0;
  auto s = std::make_unique<MinuteScheduler>(
      ScheduleOptions{.retries = 1, .retry_delay_ms = 0, .catchup = true, .start_ms = k1000 - 2 * 60'000}, calendar_,
      clock_, *store_,
      [&](const events::Minute& minute) {
        std::lock_guard lock(m);
        ++calls;
        return minute.Name() == "2025-01-15_09-58" ? Status::IOError("boom") : Status::OK();
      },
      [&](const RunRecord& r) {
        std::lock_guard lock(m);
        ended.push_back(r.minute + " " + r.state + " " + std::to_string(r.attempts));
      });
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(s->Tick().ok());
    s->WaitIdle();
  }
  std::sort(ended.begin(), ended.end());
  EXPECT_EQ(ended, (std::vector<std::string>{"2025-01-15_09-58 failed 2", "2025-01-15_09-59 success 1"}));
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace pfad::schedule
