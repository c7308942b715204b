#include "pfad/schedule/outbox.h"

#include <algorithm>

#include "pfad/common/http_client.h"
#include "pfad/common/log.h"

namespace pfad::schedule {
namespace {

// Answers that say the dashboard (or the way to it) is not ready, not that the message is wrong.
bool Retriable(long status) { return status >= 500 || status == 408 || status == 429; }

}  // namespace

Result<long> PostToDashboard(const DashboardTarget& dashboard, const std::string& path,
                             const std::string& body, int attempts) {
  HttpRequest post;
  post.method = "POST";
  post.url = dashboard.url + path;
  post.body = body;
  post.headers = {"Content-Type: application/json"};
  if (!dashboard.token.empty()) post.headers.push_back("Authorization: Bearer " + dashboard.token);
  post.ca_file = dashboard.ca_file;
  post.max_attempts = attempts;
  PFAD_ASSIGN_OR_RAISE(auto response, SendHttp(post));
  if (response.status != 200) {
    Logger("schedule")
        ->warn("dashboard answered POST {}: HTTP {} {}", post.url, response.status,
               response.body.substr(0, 200));
  }
  return response.status;
}

DashboardSender MakeDashboardSender(DashboardTarget dashboard) {
  return [dashboard = std::move(dashboard)](const std::string& path, const std::string& body) {
    return PostToDashboard(dashboard, path, body, 1);
  };
}

Result<std::unique_ptr<DashboardOutbox>> DashboardOutbox::Open(const std::string& db_path,
                                                               DashboardSender send, const Clock& clock,
                                                               OutboxOptions options,
                                                               std::shared_ptr<ScheduleMetrics> metrics) {
  PFAD_ASSIGN_OR_RAISE(auto db, SqliteDb::Open(db_path, "run-state database",
                                               "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY "
                                               "AUTOINCREMENT, path TEXT NOT NULL, body TEXT NOT NULL, "
                                               "minute TEXT, minute_end_ms INTEGER, added_ms INTEGER)"));
  // A database from before the bounds: add their columns (its rows have none: never compacted or aged).
  if (!db->Prepare("SELECT minute, minute_end_ms, added_ms FROM outbox LIMIT 0").ok()) {
    PFAD_RETURN_NOT_OK(
        db->Exec("ALTER TABLE outbox ADD COLUMN minute TEXT; ALTER TABLE outbox ADD COLUMN minute_end_ms "
                 "INTEGER; ALTER TABLE outbox ADD COLUMN added_ms INTEGER"));
  }
  PFAD_RETURN_NOT_OK(db->Exec("CREATE INDEX IF NOT EXISTS outbox_minute ON outbox (path, minute)"));
  if (!metrics) metrics = std::make_shared<ScheduleMetrics>();
  std::unique_ptr<DashboardOutbox> outbox(
      new DashboardOutbox(std::move(db), std::move(send), clock, options, std::move(metrics)));
  {
    std::lock_guard lock(outbox->db_mutex_);
    PFAD_RETURN_NOT_OK(outbox->Bound());
  }
  return outbox;
}

DashboardOutbox::~DashboardOutbox() { Stop(); }

Result<int64_t> DashboardOutbox::CountLocked(const char* sql, std::optional<int64_t> arg) {
  PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare(sql));
  if (arg) PFAD_RETURN_NOT_OK(stmt.Bind(1, *arg));
  PFAD_ASSIGN_OR_RAISE(const bool row, stmt.Step("count the outbox"));
  if (!row) return db_->Error("count the outbox");
  return stmt.Int64(0);
}

Status DashboardOutbox::Bound() {
  const int64_t now = clock_.NowMillis();
  const int64_t too_old = now - options_.max_age.count();
  PFAD_ASSIGN_OR_RAISE(const int64_t aged,
                       CountLocked("SELECT COUNT(*) FROM outbox WHERE added_ms < ?", too_old));
  if (aged > 0) {
    PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare("DELETE FROM outbox WHERE added_ms < ?"));
    PFAD_RETURN_NOT_OK(stmt.Bind(1, too_old));
    PFAD_RETURN_NOT_OK(stmt.Run("drop outbox messages past the age cap"));
    metrics_->outbox_dropped_age += aged;
  }
  PFAD_ASSIGN_OR_RAISE(const int64_t count, CountLocked("SELECT COUNT(*) FROM outbox"));
  const int64_t excess = count - options_.max_messages;
  if (excess > 0) {
    PFAD_ASSIGN_OR_RAISE(
        auto stmt,
        db_->Prepare("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)"));
    PFAD_RETURN_NOT_OK(stmt.Bind(1, excess));
    PFAD_RETURN_NOT_OK(stmt.Run("drop outbox messages past the size cap"));
    metrics_->outbox_dropped_size += excess;
  }
  if ((aged > 0 || excess > 0) && !cap_reported_) {
    Logger("schedule")
        ->warn(
            "outbox bound reached (at most {} messages, none older than {} s): dropping the oldest "
            "undelivered ones ({} now; every drop is counted in pfad_outbox_dropped_total); their report "
            "objects stay in storage (pfad report <uri> posts one again)",
            options_.max_messages, options_.max_age.count() / 1000, aged + std::max<int64_t>(excess, 0));
    cap_reported_ = true;
  }
  PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare("SELECT COUNT(*), MIN(added_ms) FROM outbox"));
  PFAD_ASSIGN_OR_RAISE(const bool row, stmt.Step("measure the outbox"));
  if (!row) return db_->Error("measure the outbox");
  const int64_t depth = stmt.Int64(0);
  metrics_->outbox_messages = depth;
  metrics_->outbox_oldest_age_seconds.Set(
      depth == 0 || stmt.IsNull(1) ? 0.0
                                   : static_cast<double>(std::max<int64_t>(0, now - stmt.Int64(1))) / 1e3);
  if (depth == 0) cap_reported_ = false;  // the outage is over: warn again at the next one
  return Status::OK();
}

Status DashboardOutbox::Add(const std::string& path, const std::string& body, const std::string& minute,
                            int64_t minute_end_ms) {
  {
    std::lock_guard lock(db_mutex_);
    PFAD_ASSIGN_OR_RAISE(auto tx, db_->Begin());
    if (!minute.empty()) {
      // The newer message of a minute replaces the one still waiting.
      PFAD_ASSIGN_OR_RAISE(auto count,
                           db_->Prepare("SELECT COUNT(*) FROM outbox WHERE path = ? AND minute = ?"));
      PFAD_RETURN_NOT_OK(count.BindAll(path, minute));
      PFAD_ASSIGN_OR_RAISE(const bool row, count.Step("count a minute's waiting messages"));
      if (row && count.Int64(0) > 0) {
        PFAD_ASSIGN_OR_RAISE(auto drop, db_->Prepare("DELETE FROM outbox WHERE path = ? AND minute = ?"));
        PFAD_RETURN_NOT_OK(drop.BindAll(path, minute));
        PFAD_RETURN_NOT_OK(drop.Run("replace a minute's waiting message"));
        metrics_->outbox_compacted += count.Int64(0);
      }
    }
    PFAD_ASSIGN_OR_RAISE(
        auto stmt,
        db_->Prepare(
            "INSERT INTO outbox (path, body, minute, minute_end_ms, added_ms) VALUES (?, ?, ?, ?, ?)"));
    PFAD_RETURN_NOT_OK(stmt.BindAll(path, body, minute, minute_end_ms, clock_.NowMillis()));
    PFAD_RETURN_NOT_OK(stmt.Run("store a message for the dashboard"));
    PFAD_RETURN_NOT_OK(Bound());
    PFAD_RETURN_NOT_OK(tx.Commit());
  }
  {
    std::lock_guard lock(wake_mutex_);
    added_ = true;
  }
  wake_.notify_all();
  return Status::OK();
}

Result<std::optional<DashboardOutbox::Message>> DashboardOutbox::Oldest() {
  std::lock_guard lock(db_mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt,
                       db_->Prepare("SELECT id, path, body, minute_end_ms FROM outbox ORDER BY id LIMIT 1"));
  PFAD_ASSIGN_OR_RAISE(const bool row, stmt.Step("read the outbox"));
  if (!row) return std::optional<Message>();
  return std::optional<Message>(
      Message{stmt.Int64(0), stmt.Text(1), stmt.Text(2), stmt.IsNull(3) ? 0 : stmt.Int64(3)});
}

Status DashboardOutbox::Delete(int64_t id) {
  std::lock_guard lock(db_mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare("DELETE FROM outbox WHERE id = ?"));
  PFAD_RETURN_NOT_OK(stmt.Bind(1, id));
  return stmt.Run("delete a delivered message");
}

Result<int64_t> DashboardOutbox::Pending() {
  std::lock_guard lock(db_mutex_);
  PFAD_RETURN_NOT_OK(Bound());  // the age cap and the gauges follow the clock
  return CountLocked("SELECT COUNT(*) FROM outbox");
}

Result<int64_t> DashboardOutbox::DeliverDue() {
  std::lock_guard delivery(delivery_mutex_);
  while (clock_.NowMillis() >= retry_at_ms_) {
    PFAD_ASSIGN_OR_RAISE(auto message, Oldest());
    if (!message) break;
    auto sent = send_(message->path, message->body);
    if (!sent.ok() || Retriable(*sent)) {
      backoff_ =
          backoff_.count() == 0 ? options_.first_backoff : std::min(backoff_ * 2, options_.max_backoff);
      retry_at_ms_ = clock_.NowMillis() + backoff_.count();
      const std::string why = sent.ok() ? "HTTP " + std::to_string(*sent) : sent.status().message();
      // Once per outage as a warning; each further attempt at debug level.
      if (!reported_down_) {
        Logger("schedule")
            ->warn("dashboard unavailable, keeping its messages and retrying (backoff up to {} ms): {}",
                   options_.max_backoff.count(), why);
      } else {
        Logger("schedule")
            ->debug("dashboard still unavailable, next attempt in {} ms: {}", backoff_.count(), why);
      }
      reported_down_ = true;
      down_ = true;
      metrics_->outbox_dashboard_up = 0;
      break;
    }
    if (*sent != 200) {
      Logger("schedule")
          ->error("dashboard refused {} (HTTP {}): message dropped, it would be refused again", message->path,
                  *sent);
      ++metrics_->outbox_refused;
    } else {
      ++metrics_->outbox_delivered;
      if (message->minute_end_ms > 0 && message->path == "/report") {
        const int64_t now = clock_.NowMillis();
        metrics_->freshness_seconds.Observe(static_cast<double>(now - message->minute_end_ms) / 1e3);
        if (static_cast<double>(message->minute_end_ms) / 1e3 > metrics_->last_report_minute_end.Value()) {
          metrics_->last_report_minute_end.Set(static_cast<double>(message->minute_end_ms) / 1e3);
        }
      }
    }
    PFAD_RETURN_NOT_OK(Delete(message->id));
    if (reported_down_) Logger("schedule")->info("dashboard reachable again, delivering the kept messages");
    reported_down_ = false;
    down_ = false;
    metrics_->outbox_dashboard_up = 1;
    backoff_ = std::chrono::milliseconds{0};
  }
  return Pending();
}

Result<int64_t> DashboardOutbox::Drain(std::chrono::milliseconds timeout, std::chrono::milliseconds tick) {
  const int64_t deadline = clock_.NowMillis() + timeout.count();
  while (true) {
    PFAD_ASSIGN_OR_RAISE(const int64_t left, DeliverDue());
    if (left == 0 || clock_.NowMillis() >= deadline) return left;
    clock_.SleepFor(tick);
  }
}

void DashboardOutbox::Start(std::chrono::milliseconds tick) {
  thread_ = std::thread([this, tick] {
    std::unique_lock lock(wake_mutex_);
    while (!stopping_) {
      added_ = false;
      lock.unlock();
      if (auto left = DeliverDue(); !left.ok()) {
        Logger("schedule")->error("outbox: {}", left.status().message());
      }
      lock.lock();
      wake_.wait_for(lock, tick, [this] { return stopping_ || added_; });
    }
  });
}

void DashboardOutbox::Stop() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace pfad::schedule
