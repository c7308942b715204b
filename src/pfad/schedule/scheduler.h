// The ETAR schedule (DESIGN.md section 5): once a minute, for the Asia/Tehran
// minute that just ended, run a task (extract -> analyze -> report), with at
// most `max_active_runs` runs at once, `retries` retries `retry_delay_ms`
// apart, and the run state in SQLite so a restart neither repeats nor skips a
// minute. Time comes from the injected Clock: Tick() does everything that is
// due at the clock's "now", so tests drive the schedule without sleeping.
#pragma once

#include "pfad/common/clock.h"
#include "pfad/common/sqlite_db.h"
#include "pfad/common/status.h"
#include "pfad/events/minute.h"


#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pfad::schedule {

struct ScheduleOptions {
  int max_active_runs = 2;
  int retries = 1;
  int64_t retry_delay_ms = 3000;
  // A minute is due this long after it ends (room for late events and the
  // ingester's grace period).
  int64_t delay_ms = 5000;
  // First start with no run state: false = begin with the minute that just
  // ended; true = begin at start_ms (and run every minute since).
  bool catchup = false;
  std::optional<int64_t> start_ms;
};

// What happened to one minute.
struct RunRecord {
  std::string minute;     // "YYYY-MM-DD_HH-MM"
  int64_t start_ms = 0;
  std::string state;      // queued | running | success | failed
  int attempts = 0;
  std::string error;
};

// The run state, in SQLite (WAL).
class RunStore {
 public:
  static Result<std::unique_ptr<RunStore>> Open(const std::string& path);
  ~RunStore();
  [[nodiscard]] Status Put(const RunRecord& record);
  // Runs not finished (queued or running), oldest first: re-queued after a restart.
  [[nodiscard]] Result<std::vector<RunRecord>> Unfinished();
  // The newest minute ever scheduled, if any.
  [[nodiscard]] Result<std::optional<int64_t>> LastScheduledStart();
  [[nodiscard]] Result<std::vector<RunRecord>> Recent(int limit);

 private:
  explicit RunStore(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
  std::unique_ptr<SqliteDb> db_;
  std::mutex mutex_;
};

using MinuteTask = std::function<Status(const events::Minute&)>;
// Told of every run that ended (success, or failure after its last retry).
using RunObserver = std::function<void(const RunRecord&)>;

class MinuteScheduler {
 public:
  MinuteScheduler(ScheduleOptions options, events::MinuteCalendar calendar, const Clock& clock, RunStore& store,
                  MinuteTask task, RunObserver observer = nullptr);
  ~MinuteScheduler();

  // Queues every minute that is due and starts what may start now.
  [[nodiscard]] Status Tick();
  // Queues a minute now (e.g. the ingester announced its object); no effect
  // when it is already queued, running or done.
  [[nodiscard]] Status Trigger(const events::Minute& minute);
  // Waits until no run is active (queued retries may remain).
  void WaitIdle();
  [[nodiscard]] int active() const;

 private:
  struct Pending {
    events::Minute minute;
    int attempts = 0;
    int64_t not_before_ms = 0;
  };
  Status Enqueue(const events::Minute& minute, int attempts, int64_t not_before_ms);
  void StartDue();
  void Finish(uint64_t thread, Pending run, const Status& result);

  ScheduleOptions options_;
  events::MinuteCalendar calendar_;
  const Clock& clock_;
  RunStore& store_;
  MinuteTask task_;
  RunObserver observer_;

  mutable std::mutex mutex_;
  std::condition_variable idle_;
  std::optional<int64_t> next_start_ms_;  // the next minute the clock will queue
  std::deque<Pending> queue_;
  std::map<int64_t, bool> known_;         // minutes queued or running
  int active_ = 0;
  std::map<uint64_t, std::thread> threads_;  // run threads, joined once finished
  std::vector<uint64_t> finished_;
  uint64_t next_thread_ = 0;
  bool loaded_ = false;
};

}  // namespace pfad::schedule
