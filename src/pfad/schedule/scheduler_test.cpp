#include "pfad/schedule/scheduler.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "pfad/schedule/config.h"

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
  for (const auto& r : runs) EXPECT_EQ(r.state, RunState::kSuccess) << r.minute;
}

TEST_F(SchedulerTest, RetriesAfterTheDelayThenGivesUp) {
  std::atomic<int> calls{0};
  auto s = Make({.retries = 1, .retry_delay = std::chrono::milliseconds(3000)}, [&](const events::Minute&) {
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
  EXPECT_EQ(runs[0].state, RunState::kFailed);
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
  ASSERT_TRUE(store_
                  ->Put({.minute = "2025-01-15_09-59",
                         .start_ms = k1000 - 60'000,
                         .state = RunState::kRunning,
                         .attempts = 1})
                  .ok());
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

TEST_F(SchedulerTest, RerunRunsARewrittenMinuteAgainAtMostOncePerInterval) {
  std::vector<std::string> seen;
  auto s = Make({.rerun_interval = std::chrono::seconds(10)}, Recording(seen));
  const auto m = calendar_.Parse("2025-01-15 09:58").ValueOrDie();
  const auto runs_of_m = [&] { return std::count(seen.begin(), seen.end(), m.Name()); };
  ASSERT_TRUE(s->Rerun(m).ok());  // never seen: runs now, as Trigger would
  s->WaitIdle();
  EXPECT_EQ(runs_of_m(), 1);
  ASSERT_TRUE(s->Rerun(m).ok());  // rewritten at once: waits for the interval
  ASSERT_TRUE(s->Rerun(m).ok());  // and rewrites meanwhile coalesce
  ASSERT_TRUE(s->Tick().ok());
  s->WaitIdle();
  EXPECT_EQ(runs_of_m(), 1);
  clock_.Advance(10'000);
  ASSERT_TRUE(s->Tick().ok());
  s->WaitIdle();
  EXPECT_EQ(runs_of_m(), 2);
  clock_.Advance(60'000);
  ASSERT_TRUE(s->Tick().ok());
  s->WaitIdle();
  EXPECT_EQ(runs_of_m(), 2) << "no rewrite, no run";
  ASSERT_TRUE(s->Trigger(m).ok());
  s->WaitIdle();
  EXPECT_EQ(runs_of_m(), 2) << "a plain announcement of a minute already run does nothing";
}

TEST_F(SchedulerTest, ARewriteWhileTheMinuteRunsRunsItOnceMoreAfterward) {
  const auto m = calendar_.Parse("2025-01-15 09:58").ValueOrDie();
  std::atomic<bool> release{false};
  std::atomic<int> started{0};
  std::vector<std::string> seen;
  auto s = Make({.rerun_interval = std::chrono::seconds(10)}, [&](const events::Minute& minute) {
    {
      std::lock_guard lock(mutex_);
      seen.push_back(minute.Name());
    }
    if (minute.start_ms == m.start_ms) {
      ++started;
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return Status::OK();
  });
  const auto runs_of_m = [&] {
    std::lock_guard lock(mutex_);
    return std::count(seen.begin(), seen.end(), m.Name());
  };
  ASSERT_TRUE(s->Trigger(m).ok());
  while (started == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(s->Rerun(m).ok());  // rewritten while it runs
  ASSERT_TRUE(s->Rerun(m).ok());
  release = true;
  s->WaitIdle();
  EXPECT_EQ(runs_of_m(), 1);
  clock_.Advance(10'000);
  ASSERT_TRUE(s->Tick().ok());
  s->WaitIdle();
  EXPECT_EQ(runs_of_m(), 2);
  clock_.Advance(10'000);
  ASSERT_TRUE(s->Tick().ok());
  s->WaitIdle();
  EXPECT_EQ(runs_of_m(), 2) << "once more, not once per rewrite";
}

TEST_F(SchedulerTest, ObserverHearsOfEveryEndedRunButNotOfRetries) {
  std::vector<std::string> ended;
  std::mutex m;
  int calls = 0;
  auto s = std::make_unique<MinuteScheduler>(
      ScheduleOptions{.retries = 1,
                      .retry_delay = std::chrono::milliseconds(0),
                      .catchup = true,
                      .start_ms = k1000 - 2 * 60'000},
      calendar_, clock_, *store_,
      [&](const events::Minute& minute) {
        std::lock_guard lock(m);
        ++calls;
        return minute.Name() == "2025-01-15_09-58" ? Status::IOError("boom") : Status::OK();
      },
      [&](const RunRecord& r) {
        std::lock_guard lock(m);
        ended.push_back(r.minute + " " + std::string(events::ToString(r.state)) + " " +
                        std::to_string(r.attempts));
      });
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(s->Tick().ok());
    s->WaitIdle();
  }
  std::sort(ended.begin(), ended.end());
  EXPECT_EQ(ended, (std::vector<std::string>{"2025-01-15_09-58 failed 2", "2025-01-15_09-59 success 1"}));
  EXPECT_EQ(calls, 3);
}

TEST_F(SchedulerTest, BackfillRunsEachMinuteInOrderWithTheScheduleRetries) {
  std::map<std::string, int> calls;
  std::vector<int64_t> attempted_at;
  const MinuteTask task = [&](const events::Minute& m) {
    ++calls[m.Name()];
    attempted_at.push_back(clock_.NowMillis());
    return m.Name() == "2025-01-15_10-01" ? Status::IOError("store down") : Status::OK();
  };
  std::vector<std::string> ended;
  const auto first = calendar_.Parse("2025-01-15 10:00").ValueOrDie();
  const auto last = calendar_.Parse("2025-01-15 10:02").ValueOrDie();
  auto failed = Backfill({.retries = 2, .retry_delay = std::chrono::milliseconds(3000)}, calendar_, clock_,
                         *store_, task, first, last, [&](const RunRecord& r) {
                           ended.push_back(r.minute + " " + std::string(events::ToString(r.state)) + " " +
                                           std::to_string(r.attempts) + " " + r.error);
                         });
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  EXPECT_EQ(*failed, 1);
  EXPECT_EQ(ended,
            (std::vector<std::string>{"2025-01-15_10-00 success 1 ", "2025-01-15_10-01 failed 3 store down",
                                      "2025-01-15_10-02 success 1 "}));
  EXPECT_EQ(calls["2025-01-15_10-01"], 3) << "retries = 2: three attempts";
  // The retries waited retry_delay on the injected clock (which moved instead of sleeping).
  ASSERT_EQ(attempted_at.size(), 5U);
  EXPECT_EQ(attempted_at[2] - attempted_at[1], 3000);
  EXPECT_EQ(attempted_at[3] - attempted_at[2], 3000);
  EXPECT_EQ(attempted_at[4], attempted_at[3]) << "no delay before the next minute";
  auto runs = store_->Recent(10).ValueOrDie();
  ASSERT_EQ(runs.size(), 3U);
  EXPECT_EQ(runs[1].minute, "2025-01-15_10-01");
  EXPECT_EQ(runs[1].state, RunState::kFailed);
  EXPECT_EQ(runs[1].attempts, 3);
}

TEST_F(SchedulerTest, RunForeverTicksUntilStopped) {
  std::vector<std::string> seen;
  auto s = Make({}, Recording(seen));
  int ticks = 0;
  // Each tick interval is a minute of the manual clock: three minutes become due.
  ASSERT_TRUE(RunForever(*s, clock_, std::chrono::minutes(1), [&] {
                s->WaitIdle();
                return ticks++ == 3;
              }).ok());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"2025-01-15_09-59", "2025-01-15_10-00", "2025-01-15_10-01"}));
}

TEST(ScheduleConfig, DefaultsThenFileThenEnvironment) {
  ::unsetenv("PFAD_DASHBOARD_URL");
  ::unsetenv("PFAD_ANNOUNCEMENTS_TOPIC");
  auto defaults = ScheduleConfig::Resolve(ConfigFile()).ValueOrDie();
  EXPECT_EQ(defaults.dashboard_url, "http://127.0.0.1:8080");
  EXPECT_EQ(defaults.Options().retries, 1);
  EXPECT_EQ(defaults.Options().retry_delay, std::chrono::seconds(3));
  EXPECT_EQ(defaults.Options().delay, std::chrono::seconds(5));
  defaults.announcements = "t.windows";
  EXPECT_EQ(defaults.Options().delay, std::chrono::seconds(60))
      << "announcements come first: the clock waits longer";

  auto file = ConfigFile::Parse(
                  "[schedule]\ndashboard = \"http://dash:1/\"\nretries = 3\nretry_delay_s = 0.5\n"
                  "delay_s = 7\nmax_active_runs = 4\n")
                  .ValueOrDie();
  auto from_file = ScheduleConfig::Resolve(file).ValueOrDie();
  EXPECT_EQ(from_file.DashboardBase(), "http://dash:1");
  EXPECT_EQ(from_file.Options().retries, 3);
  EXPECT_EQ(from_file.Options().retry_delay, std::chrono::milliseconds(500));
  EXPECT_EQ(from_file.Options().delay, std::chrono::seconds(7));
  EXPECT_EQ(from_file.Options().max_active_runs, 4);

  ::setenv("PFAD_DASHBOARD_URL", "http://env:2", 1);
  EXPECT_EQ(ScheduleConfig::Resolve(file).ValueOrDie().dashboard_url, "http://env:2");
  ::unsetenv("PFAD_DASHBOARD_URL");
  EXPECT_TRUE(ScheduleConfig::Resolve(ConfigFile::Parse("[schedule]\nretries = \"x\"\n").ValueOrDie())
                  .status()
                  .IsInvalid());
}

}  // namespace
}  // namespace pfad::schedule
