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
                                                               OutboxOptions options) {
  PFAD_ASSIGN_OR_RAISE(auto db, SqliteDb::Open(db_path, "run-state database",
                                               "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY "
                                               "AUTOINCREMENT, path TEXT NOT NULL, body TEXT NOT NULL)"));
  return std::unique_ptr<DashboardOutbox>(
      new DashboardOutbox(std::move(db), std::move(send), clock, options));
}

DashboardOutbox::~DashboardOutbox() { Stop(); }

Status DashboardOutbox::Add(const std::string& path, const std::string& body) {
  {
    std::lock_guard lock(db_mutex_);
    PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare("INSERT INTO outbox (path, body) VALUES (?, ?)"));
    PFAD_RETURN_NOT_OK(stmt.BindAll(path, body));
    PFAD_RETURN_NOT_OK(stmt.Run("store a message for the dashboard"));
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
  PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare("SELECT id, path, body FROM outbox ORDER BY id LIMIT 1"));
  PFAD_ASSIGN_OR_RAISE(const bool row, stmt.Step("read the outbox"));
  if (!row) return std::optional<Message>();
  return std::optional<Message>(Message{stmt.Int64(0), stmt.Text(1), stmt.Text(2)});
}

Status DashboardOutbox::Delete(int64_t id) {
  std::lock_guard lock(db_mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare("DELETE FROM outbox WHERE id = ?"));
  PFAD_RETURN_NOT_OK(stmt.Bind(1, id));
  return stmt.Run("delete a delivered message");
}

Result<int64_t> DashboardOutbox::Pending() {
  std::lock_guard lock(db_mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare("SELECT COUNT(*) FROM outbox"));
  PFAD_ASSIGN_OR_RAISE(const bool row, stmt.Step("count the outbox"));
  if (!row) return db_->Error("count the outbox");
  return stmt.Int64(0);
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
      break;
    }
    if (*sent != 200) {
      Logger("schedule")
          ->error("dashboard refused {} (HTTP {}): message dropped, it would be refused again", message->path,
                  *sent);
    }
    PFAD_RETURN_NOT_OK(Delete(message->id));
    if (reported_down_) Logger("schedule")->info("dashboard reachable again, delivering the kept messages");
    reported_down_ = false;
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
