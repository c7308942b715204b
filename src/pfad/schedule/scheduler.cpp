#include "pfad/schedule/scheduler.h"

#include <algorithm>

#include "pfad/common/log.h"

namespace pfad::schedule {
namespace {

// A row of SELECT minute, start_ms, state, attempts, error.
Result<RunRecord> ReadRecord(const SqliteStatement& s) {
  RunRecord r;
  r.minute = s.Text(0);
  r.start_ms = s.Int64(1);
  PFAD_ASSIGN_OR_RAISE(r.state, events::ParseRunState(s.Text(2)));
  r.attempts = s.Int(3);
  r.error = s.Text(4);  // NULL reads as ""
  return r;
}

Result<std::vector<RunRecord>> ReadAll(SqliteStatement& s) {
  std::vector<RunRecord> out;
  while (true) {
    PFAD_ASSIGN_OR_RAISE(const bool row, s.Step("read runs"));
    if (!row) return out;
    PFAD_ASSIGN_OR_RAISE(auto record, ReadRecord(s));
    out.push_back(std::move(record));
  }
}

}  // namespace

// ---- RunStore -----------------------------------------------------------------

Result<std::unique_ptr<RunStore>> RunStore::Open(const std::string& path) {
  PFAD_ASSIGN_OR_RAISE(auto db,
                       SqliteDb::Open(path, "run-state database",
                                      "CREATE TABLE IF NOT EXISTS runs (minute TEXT PRIMARY KEY, "
                                      "start_ms INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER "
                                      "NOT NULL, error TEXT, updated_ms INTEGER)"));
  return std::unique_ptr<RunStore>(new RunStore(std::move(db)));
}

RunStore::~RunStore() = default;

Status RunStore::Put(const RunRecord& r) {
  std::lock_guard lock(mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt,
                       db_->Prepare("INSERT INTO runs (minute, start_ms, state, attempts, error, updated_ms) "
                                    "VALUES (?, ?, ?, ?, ?, strftime('%s','now') * 1000) "
                                    "ON CONFLICT(minute) DO UPDATE SET state = excluded.state, "
                                    "attempts = excluded.attempts, error = excluded.error, "
                                    "updated_ms = excluded.updated_ms"));
  PFAD_RETURN_NOT_OK(stmt.BindAll(r.minute, r.start_ms, events::ToString(r.state), r.attempts, r.error));
  return stmt.Run("write run");
}

Result<std::vector<RunRecord>> RunStore::Unfinished() {
  std::lock_guard lock(mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare("SELECT minute, start_ms, state, attempts, error FROM runs "
                                               "WHERE state IN (?, ?) ORDER BY start_ms"));
  PFAD_RETURN_NOT_OK(stmt.BindAll(events::ToString(RunState::kQueued), events::ToString(RunState::kRunning)));
  return ReadAll(stmt);
}

Result<std::optional<int64_t>> RunStore::LastScheduledStart() {
  std::lock_guard lock(mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare("SELECT MAX(start_ms) FROM runs"));
  PFAD_ASSIGN_OR_RAISE(const bool row, stmt.Step("read the last scheduled minute"));
  if (!row || stmt.IsNull(0)) return std::optional<int64_t>();  // no runs yet
  return std::optional<int64_t>(stmt.Int64(0));
}

Result<std::vector<RunRecord>> RunStore::Recent(int limit) {
  std::lock_guard lock(mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare("SELECT minute, start_ms, state, attempts, error FROM runs "
                                               "ORDER BY start_ms DESC LIMIT ?"));
  PFAD_RETURN_NOT_OK(stmt.Bind(1, limit));
  return ReadAll(stmt);
}

// ---- MinuteScheduler ------------------------------------------------------------

MinuteScheduler::MinuteScheduler(ScheduleOptions options, events::MinuteCalendar calendar, const Clock& clock,
                                 RunStore& store, MinuteTask task, RunObserver observer)
    : options_(std::move(options)),
      calendar_(calendar),
      clock_(clock),
      store_(store),
      task_(std::move(task)),
      observer_(std::move(observer)) {}

MinuteScheduler::~MinuteScheduler() {
  WaitIdle();
  for (auto& [id, t] : threads_) {
    if (t.joinable()) t.join();
  }
}

RunRecord MinuteScheduler::Record(const Pending& run, RunState state, std::string error) const {
  return {.minute = run.minute.Name(),
          .start_ms = run.minute.start_ms,
          .state = state,
          .attempts = run.attempts,
          .error = std::move(error)};
}

int MinuteScheduler::active() const {
  std::lock_guard lock(mutex_);
  return active_;
}

Status MinuteScheduler::Enqueue(const events::Minute& minute, int attempts, int64_t not_before_ms) {
  PFAD_RETURN_NOT_OK(store_.Put(Record({minute, attempts, not_before_ms}, RunState::kQueued)));
  known_[minute.start_ms] = true;
  queue_.push_back({minute, attempts, not_before_ms});
  return Status::OK();
}

Status MinuteScheduler::Tick() {
  std::unique_lock lock(mutex_);
  const int64_t now = clock_.NowMillis();
  if (!loaded_) {
    // Resume: unfinished runs first, then the minute after the newest scheduled one.
    PFAD_ASSIGN_OR_RAISE(auto unfinished, store_.Unfinished());
    for (const auto& r : unfinished) {
      if (known_.contains(r.start_ms))
        continue;  // queued in this process already (Trigger before the first Tick)
      PFAD_RETURN_NOT_OK(Enqueue(calendar_.MinuteOf(r.start_ms), r.attempts, 0));
    }
    PFAD_ASSIGN_OR_RAISE(auto last, store_.LastScheduledStart());
    if (last) {
      next_start_ms_ = calendar_.MinuteOf(*last).end_ms;
    } else if (options_.catchup && options_.start_ms) {
      next_start_ms_ = calendar_.MinuteOf(*options_.start_ms).start_ms;
    } else {
      // The newest minute already due: the one before the minute holding now - delay.
      const auto holding = calendar_.MinuteOf(now - options_.delay.count());
      next_start_ms_ = calendar_.MinuteOf(holding.start_ms - 1).start_ms;
    }
    loaded_ = true;
  }
  while (true) {
    const events::Minute m = calendar_.MinuteOf(*next_start_ms_);
    if (m.end_ms + options_.delay.count() > now) break;
    if (!known_.contains(m.start_ms)) PFAD_RETURN_NOT_OK(Enqueue(m, 0, 0));
    next_start_ms_ = m.end_ms;
  }
  StartDue();
  return Status::OK();
}

Status MinuteScheduler::Trigger(const events::Minute& minute) {
  std::lock_guard lock(mutex_);
  if (known_.contains(minute.start_ms)) return Status::OK();
  PFAD_RETURN_NOT_OK(Enqueue(minute, 0, 0));
  StartDue();
  return Status::OK();
}

Status MinuteScheduler::Rerun(const events::Minute& minute) {
  std::lock_guard lock(mutex_);
  const auto seen = known_.find(minute.start_ms);
  if (seen != known_.end() && seen->second) {
    // Queued: that run reads the rewritten object. Running: one more after it.
    if (running_.contains(minute.start_ms)) rerun_after_.insert(minute.start_ms);
    return Status::OK();
  }
  int64_t not_before = 0;
  if (auto last = last_start_.find(minute.start_ms); last != last_start_.end()) {
    not_before = last->second + options_.rerun_interval.count();
  }
  if (seen != known_.end()) Logger("schedule")->info("run {} again: its object was rewritten", minute.Name());
  PFAD_RETURN_NOT_OK(Enqueue(minute, 0, not_before));
  StartDue();
  return Status::OK();
}

void MinuteScheduler::StartDue() {
  for (const uint64_t id : finished_) {
    if (auto it = threads_.find(id); it != threads_.end()) {
      it->second.join();
      threads_.erase(it);
    }
  }
  finished_.clear();
  const int64_t now = clock_.NowMillis();
  for (auto it = queue_.begin(); it != queue_.end() && active_ < options_.max_active_runs;) {
    if (it->not_before_ms > now) {
      ++it;
      continue;
    }
    Pending run = *it;
    it = queue_.erase(it);
    ++run.attempts;
    ++active_;
    last_start_[run.minute.start_ms] = now;
    running_.insert(run.minute.start_ms);
    (void)store_.Put(Record(run, RunState::kRunning));
    Logger("schedule")->info("run {} attempt {}", run.minute.Name(), run.attempts);
    const uint64_t id = next_thread_++;
    threads_.emplace(id, std::thread([this, id, run] { Finish(id, run, task_(run.minute)); }));
  }
}

void MinuteScheduler::Finish(uint64_t thread, Pending run, const Status& result) {
  std::optional<RunRecord> ended;
  {
    std::lock_guard lock(mutex_);
    const std::string name = run.minute.Name();
    running_.erase(run.minute.start_ms);
    if (result.ok()) {
      ended = Record(run, RunState::kSuccess);
      Logger("schedule")->info("run {} succeeded", name);
    } else if (options_.Retries(run.attempts)) {
      Logger("schedule")
          ->warn("run {} failed (attempt {}), retrying in {} ms: {}", name, run.attempts,
                 options_.retry_delay.count(), result.message());
      (void)store_.Put(Record(run, RunState::kQueued, result.message()));
      queue_.push_back({run.minute, run.attempts, clock_.NowMillis() + options_.retry_delay.count()});
    } else {
      ended = Record(run, RunState::kFailed, result.message());
      Logger("schedule")->error("run {} failed after {} attempts: {}", name, run.attempts, result.message());
    }
    if (ended) {
      (void)store_.Put(*ended);
      known_[run.minute.start_ms] = false;
      if (rerun_after_.erase(run.minute.start_ms) > 0) {
        // Rewritten while it ran: once more, after the interval.
        const int64_t not_before = last_start_[run.minute.start_ms] + options_.rerun_interval.count();
        if (Status st = Enqueue(run.minute, 0, not_before); !st.ok()) {
          Logger("schedule")->error("cannot queue {} again: {}", name, st.message());
        }
      }
    }
  }
  // Outside the lock: the observer may talk to the network.
  if (ended && observer_) observer_(*ended);
  {
    std::lock_guard lock(mutex_);
    finished_.push_back(thread);  // joinable by StartDue from here on
    --active_;
  }
  idle_.notify_all();
}

void MinuteScheduler::WaitIdle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return active_ == 0; });
}

// ---- Loops ----------------------------------------------------------------------

Status RunForever(MinuteScheduler& scheduler, const Clock& clock, std::chrono::milliseconds tick,
                  const std::function<bool()>& stop) {
  while (!stop()) {
    PFAD_RETURN_NOT_OK(scheduler.Tick());
    clock.SleepFor(tick);
  }
  return Status::OK();
}

Result<int> Backfill(const ScheduleOptions& options, const events::MinuteCalendar& calendar,
                     const Clock& clock, RunStore& store, const MinuteTask& task, const events::Minute& first,
                     const events::Minute& last, const RunObserver& on_ended) {
  int failed = 0;
  for (auto m = first; m.start_ms <= last.start_ms; m = calendar.MinuteOf(m.end_ms)) {
    RunRecord run{.minute = m.Name(), .start_ms = m.start_ms, .state = RunState::kRunning};
    Status result;
    do {
      if (run.attempts > 0) clock.SleepFor(options.retry_delay);
      ++run.attempts;
      result = task(m);
    } while (!result.ok() && options.Retries(run.attempts));
    run.state = result.ok() ? RunState::kSuccess : RunState::kFailed;
    if (!result.ok()) run.error = result.message();
    PFAD_RETURN_NOT_OK(store.Put(run));
    if (on_ended) on_ended(run);
    failed += result.ok() ? 0 : 1;
  }
  return failed;
}

}  // namespace pfad::schedule
