// What the schedule sends the dashboard (reports, run records) goes through an
// outbox, so a dashboard that is down loses nothing: each message is written to
// SQLite (the run-state database) before the first attempt, sent oldest first,
// and deleted only once the dashboard took it (HTTP 200). While the dashboard
// cannot be reached (no answer, 5xx, 408, 429) delivery stops and is tried
// again after a backoff that doubles from `first_backoff` up to `max_backoff`;
// a restart (same state database) resends what was not delivered. An answer
// that says the message itself is wrong (any other 4xx) will not change by
// retrying: that message is logged as an error and dropped (its report object
// stays in storage; `pfad report <uri>` posts it again).
//
// Bounded (a dashboard down for a day must not fill the disk): a message added
// for a minute replaces the undelivered one of the same path and minute (the
// dashboard keeps only the latest report and run of a minute anyway); beyond
// `max_messages` the oldest are dropped, and so is anything older than
// `max_age`. Each drop is counted (pfad_outbox_dropped_total{reason}) and the
// first of an outage logged as a warning; a dropped report's object stays in
// storage (`pfad report <uri>` posts it again).
//
// Time comes from the injected Clock: DeliverDue() sends what is due at the
// clock's "now", so tests drive the backoff without sleeping. Start() runs it
// on a thread for `pfad run`.
#pragma once

#include "pfad/common/clock.h"
#include "pfad/common/sqlite_db.h"
#include "pfad/common/status.h"
#include "pfad/schedule/metrics.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace pfad::schedule {

struct OutboxOptions {
  std::chrono::milliseconds first_backoff{1000};
  std::chrono::milliseconds max_backoff{30000};
  // The bounds: at most this many messages (a day of reports and run records
  // after compaction), none older than max_age.
  int64_t max_messages = 2 * 24 * 60;
  std::chrono::milliseconds max_age{std::chrono::hours(24)};
};

// Where reports and runs are posted, and with what credentials.
struct DashboardTarget {
  std::string url;      // base URL, e.g. http://127.0.0.1:8080 or https://…; empty = do not post
  std::string token;    // bearer token for the dashboard, if it wants one
  std::string ca_file;  // PEM CA file trusted for an https:// dashboard; empty = the system's CAs
};

// Sends one message: `path` (e.g. "/report") relative to the dashboard, `body`
// JSON. Returns the HTTP status, or an error when no answer came.
using DashboardSender = std::function<Result<long>(const std::string& path, const std::string& body)>;

// POSTs `body` to the dashboard's `path` with its bearer token if any, making up
// to `attempts` attempts while no answer (or a 5xx) comes; returns the HTTP
// status below 500, or an error naming the last failure.
Result<long> PostToDashboard(const DashboardTarget& dashboard, const std::string& path,
                             const std::string& body, int attempts);

// PostToDashboard with one attempt per call (the outbox does the retrying).
DashboardSender MakeDashboardSender(DashboardTarget dashboard);

class DashboardOutbox {
 public:
  // The outbox table in the SQLite database at `db_path` (created if needed).
  // `metrics` (null: counted in a registry of its own) hears depth, age,
  // deliveries, drops and each report's freshness.
  static Result<std::unique_ptr<DashboardOutbox>> Open(const std::string& db_path, DashboardSender send,
                                                       const Clock& clock, OutboxOptions options = {},
                                                       std::shared_ptr<ScheduleMetrics> metrics = nullptr);
  ~DashboardOutbox();  // stops the delivery thread; what is left stays in the database
  DashboardOutbox(const DashboardOutbox&) = delete;
  DashboardOutbox& operator=(const DashboardOutbox&) = delete;

  // Stores a message for delivery (durably: it survives a crash from here on).
  // With a `minute` (its name), it replaces the undelivered message of the same
  // path and minute; `minute_end_ms` (its end, Unix ms) measures a report's
  // freshness when the dashboard takes it. Then the caps apply.
  [[nodiscard]] Status Add(const std::string& path, const std::string& body, const std::string& minute = "",
                           int64_t minute_end_ms = 0);
  // Sends the stored messages, oldest first, unless a backoff is in force; stops
  // at the first one the dashboard does not take (and backs off). Returns how
  // many are left; an error only when the database cannot be read or written.
  [[nodiscard]] Result<int64_t> DeliverDue();
  // Messages not delivered yet.
  [[nodiscard]] Result<int64_t> Pending();
  // Delivers until nothing is left or `timeout` of the clock has passed, trying
  // every `tick`; returns how many are left.
  [[nodiscard]] Result<int64_t> Drain(std::chrono::milliseconds timeout, std::chrono::milliseconds tick);

  // Runs DeliverDue on a thread: at once after each Add, else every `tick`.
  void Start(std::chrono::milliseconds tick);

  // False while delivery backs off (the dashboard did not answer, or answered 5xx/408/429).
  [[nodiscard]] bool dashboard_up() const { return !down_.load(); }
  [[nodiscard]] const OutboxOptions& options() const { return options_; }

 private:
  DashboardOutbox(std::unique_ptr<SqliteDb> db, DashboardSender send, const Clock& clock,
                  OutboxOptions options, std::shared_ptr<ScheduleMetrics> metrics)
      : db_(std::move(db)),
        send_(std::move(send)),
        clock_(clock),
        options_(options),
        metrics_(std::move(metrics)) {}
  struct Message {
    int64_t id = 0;
    std::string path, body;
    int64_t minute_end_ms = 0;
  };
  Result<std::optional<Message>> Oldest();
  Status Delete(int64_t id);
  // Applies the caps (db_mutex_ held) and updates the depth and age gauges.
  Status Bound();
  // SELECT COUNT(*) ... with `arg` bound to its one parameter, if any (db_mutex_ held).
  Result<int64_t> CountLocked(const char* sql, std::optional<int64_t> arg = std::nullopt);
  void Stop();

  std::unique_ptr<SqliteDb> db_;
  DashboardSender send_;
  const Clock& clock_;
  const OutboxOptions options_;
  std::shared_ptr<ScheduleMetrics> metrics_;
  std::atomic<bool> down_{false};
  bool cap_reported_ = false;  // the warning of the current outage was logged (db_mutex_)

  std::mutex db_mutex_;        // the database handle
  std::mutex delivery_mutex_;  // one delivery at a time; guards the backoff state
  int64_t retry_at_ms_ = 0;
  std::chrono::milliseconds backoff_{0};
  bool reported_down_ = false;

  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool added_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pfad::schedule
