// The ETAR schedule (docs/DESIGN.md, "Schedule"): once a minute, for the Asia/Tehran
// minute that just ended, run a task (extract -> analyze -> report), with at
// most `max_active_runs` runs at once, `retries` retries `retry_delay` apart,
// and the run state in SQLite so a restart neither repeats nor skips a minute.
// Time comes from the injected Clock: Tick() does everything that is due at the
// clock's "now", so tests drive the schedule without sleeping. RunForever ticks
// it until stopped; Backfill runs a range of minutes now with the same retries.
#pragma once

#include "pfad/common/clock.h"
#include "pfad/common/sqlite_db.h"
#include "pfad/common/status.h"
#include "pfad/events/minute.h"
#include "pfad/events/run_record.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace pfad::schedule {

struct ScheduleOptions {
  int max_active_runs = 2;
  int retries = 1;
  std::chrono::milliseconds retry_delay{3000};
  // A minute is due this long after it ends (room for late events and the
  // ingester's grace period).
  std::chrono::milliseconds delay{5000};
  // First start with no run state: false = begin with the minute that just
  // ended; true = begin at start_ms (and run every minute since).
  bool catchup = false;
  std::optional<int64_t> start_ms;
  // A minute whose object was rewritten (late events) runs again, at most once
  // per this long per minute (Rerun).
  std::chrono::milliseconds rerun_interval{10000};

  // The retry policy: whether a run that failed its `attempts`-th attempt is
  // tried again (after retry_delay).
  [[nodiscard]] bool Retries(int attempts) const { return attempts <= retries; }
};

// What happened to one minute: the one run record (pfad/events/run_record.h).
using events::RunRecord;
using events::RunState;

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
  MinuteScheduler(ScheduleOptions options, events::MinuteCalendar calendar, const Clock& clock,
                  RunStore& store, MinuteTask task, RunObserver observer = nullptr);
  ~MinuteScheduler();

  // Queues every minute that is due and starts what may start now.
  [[nodiscard]] Status Tick();
  // Queues a minute now (e.g. the ingester announced its object); no effect
  // when it is already queued, running or done.
  [[nodiscard]] Status Trigger(const events::Minute& minute);
  // Runs a minute again because its object was rewritten (late events), so its
  // report catches up as a stream processor's updated result would: queued no
  // sooner than rerun_interval after its last start; a rewrite while it runs
  // makes one more run after that one, and rewrites meanwhile coalesce. A
  // minute never seen runs as Trigger would run it.
  [[nodiscard]] Status Rerun(const events::Minute& minute);
  // Waits until no run is active (queued retries may remain).
  void WaitIdle();
  [[nodiscard]] int active() const;

 private:
  struct Pending {
    events::Minute minute;
    int attempts = 0;
    int64_t not_before_ms = 0;
  };
  RunRecord Record(const Pending& run, RunState state, std::string error = "") const;
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
  std::map<int64_t, bool> known_;          // minutes seen: true while queued or running
  std::map<int64_t, int64_t> last_start_;  // minute -> when its last run started (clock ms)
  std::set<int64_t> running_;              // minutes running now
  std::set<int64_t> rerun_after_;          // minutes to run again once their running run ends
  int active_ = 0;
  std::map<uint64_t, std::thread> threads_;  // run threads, joined once finished
  std::vector<uint64_t> finished_;
  uint64_t next_thread_ = 0;
  bool loaded_ = false;
};

// Ticks `scheduler` every `tick` of `clock` until `stop()` returns true; a
// failed tick (the run store cannot be written) ends it with that error. Runs
// still active are left to finish (WaitIdle, or the scheduler's destructor).
[[nodiscard]] Status RunForever(MinuteScheduler& scheduler, const Clock& clock,
                                std::chrono::milliseconds tick, const std::function<bool()>& stop);

// Runs every minute from `first` through `last` now, one after another in
// order, each with the schedule's retry policy (options.retries after
// options.retry_delay of `clock`), and records each ended run in `store`.
// `on_ended` hears each minute once its run is over. Returns how many minutes
// failed; an error only when the run store cannot be written.
[[nodiscard]] Result<int> Backfill(const ScheduleOptions& options, const events::MinuteCalendar& calendar,
                                   const Clock& clock, RunStore& store, const MinuteTask& task,
                                   const events::Minute& first, const events::Minute& last,
                                   const RunObserver& on_ended = nullptr);

}  // namespace pfad::schedule
