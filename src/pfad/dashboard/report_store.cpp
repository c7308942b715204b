#include "pfad/dashboard/report_store.h"

#include <algorithm>

namespace pfad::dashboard {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS reports (id INTEGER PRIMARY KEY AUTOINCREMENT, received_ms INTEGER NOT NULL, "
    "body TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS slot (k INTEGER PRIMARY KEY CHECK (k = 0), cleared_through INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO slot VALUES (0, 0);"
    "CREATE TABLE IF NOT EXISTS runs (minute TEXT PRIMARY KEY, state TEXT NOT NULL, attempts INTEGER NOT "
    "NULL, "
    "error TEXT NOT NULL, updated_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS models (model_file TEXT NOT NULL, version INTEGER NOT NULL, "
    "received_ms INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (model_file, version));";

// A row of SELECT id, received_ms, body.
StoredReport Row(const SqliteStatement& s) { return StoredReport{s.Int64(0), s.Int64(1), s.Text(2)}; }

}  // namespace

Result<std::unique_ptr<ReportStore>> ReportStore::Open(const std::string& path) {
  auto shared = std::make_shared<DashboardDatabase>();
  PFAD_ASSIGN_OR_RAISE(shared->db, SqliteDb::Open(path, "report database", kSchema));
  return std::unique_ptr<ReportStore>(new ReportStore(std::move(shared)));
}

ReportStore::~ReportStore() = default;

Result<StoredReport> ReportStore::Add(const std::string& body, int64_t received_ms) {
  std::lock_guard lock(mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare("INSERT INTO reports (received_ms, body) VALUES (?, ?)"));
  PFAD_RETURN_NOT_OK(stmt.BindAll(received_ms, body));
  PFAD_RETURN_NOT_OK(stmt.Run("insert"));
  return StoredReport{db_->LastInsertRowId(), received_ms, body};
}

Status ReportStore::AddAll(const std::vector<std::string>& bodies, int64_t received_ms,
                           const std::function<Status(SqliteDb&)>& also) {
  std::lock_guard lock(mutex_);
  PFAD_ASSIGN_OR_RAISE(auto transaction, db_->Begin());  // all or none
  PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare("INSERT INTO reports (received_ms, body) VALUES (?, ?)"));
  for (const auto& body : bodies) {
    PFAD_RETURN_NOT_OK(stmt.Reset("insert"));
    PFAD_RETURN_NOT_OK(stmt.BindAll(received_ms, body));
    PFAD_RETURN_NOT_OK(stmt.Run("insert"));
  }
  if (also) PFAD_RETURN_NOT_OK(also(*db_));
  return transaction.Commit();
}

Result<std::optional<StoredReport>> ReportStore::Latest() {
  std::lock_guard lock(mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt,
                       db_->Prepare("SELECT id, received_ms, body FROM reports WHERE id > "
                                    "(SELECT cleared_through FROM slot) ORDER BY id DESC LIMIT 1"));
  PFAD_ASSIGN_OR_RAISE(const bool row, stmt.Step("latest"));
  if (!row) return std::optional<StoredReport>();
  return std::optional<StoredReport>(Row(stmt));
}

Result<std::vector<StoredReport>> ReportStore::Recent(int limit) {
  std::lock_guard lock(mutex_);
  // Among the newest rows (a bounded window, so a call costs the same whatever
  // the history's length), a report is left out when a newer one has the same
  // report.file_name: a minute run again (late events) replaces its report.
  PFAD_ASSIGN_OR_RAISE(
      auto stmt, db_->Prepare("WITH newest AS (SELECT id, received_ms, body, CASE WHEN json_valid(body) "
                              "THEN json_extract(body, '$.report.file_name') END AS minute FROM reports "
                              "ORDER BY id DESC LIMIT ?) "
                              "SELECT id, received_ms, body FROM newest k WHERE k.minute IS NULL OR "
                              "NOT EXISTS (SELECT 1 FROM newest n WHERE n.id > k.id AND n.minute = k.minute) "
                              "ORDER BY id DESC LIMIT ?"));
  PFAD_RETURN_NOT_OK(stmt.BindAll(std::max(limit, 0) * 4 + 64, limit));
  std::vector<StoredReport> out;
  while (true) {
    PFAD_ASSIGN_OR_RAISE(const bool row, stmt.Step("recent"));
    if (!row) return out;
    out.push_back(Row(stmt));
  }
}

Status ReportStore::Clear() {
  std::lock_guard lock(mutex_);
  return db_->Exec("UPDATE slot SET cleared_through = (SELECT COALESCE(MAX(id), 0) FROM reports)");
}

Status ReportStore::PutRun(const events::RunRecord& run) {
  std::lock_guard lock(mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt,
                       db_->Prepare("INSERT INTO runs VALUES (?, ?, ?, ?, ?) ON CONFLICT(minute) DO UPDATE "
                                    "SET state = excluded.state, attempts = excluded.attempts, "
                                    "error = excluded.error, updated_ms = excluded.updated_ms"));
  PFAD_RETURN_NOT_OK(stmt.BindAll(run.minute, events::ToString(run.state), run.attempts, run.error,
                                  run.updated_ms.value_or(0)));
  return stmt.Run("write run");
}

Status ReportStore::PutModel(const std::string& model_file, int64_t version, const std::string& body,
                             int64_t received_ms) {
  std::lock_guard lock(mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare("INSERT OR REPLACE INTO models VALUES (?, ?, ?, ?)"));
  PFAD_RETURN_NOT_OK(stmt.BindAll(model_file, version, received_ms, body));
  return stmt.Run("write model record");
}

Result<std::vector<std::string>> ReportStore::Models(int limit) {
  std::lock_guard lock(mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt,
                       db_->Prepare("SELECT body FROM models ORDER BY received_ms DESC, version DESC "
                                    "LIMIT ?"));
  PFAD_RETURN_NOT_OK(stmt.Bind(1, limit));
  std::vector<std::string> out;
  while (true) {
    PFAD_ASSIGN_OR_RAISE(const bool row, stmt.Step("read model records"));
    if (!row) return out;
    out.push_back(stmt.Text(0));
  }
}

Result<std::vector<events::RunRecord>> ReportStore::Runs(int limit, bool failed_only) {
  std::lock_guard lock(mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt,
                       db_->Prepare(failed_only ? "SELECT * FROM runs WHERE state = ? "
                                                  "ORDER BY minute DESC LIMIT ?"
                                                : "SELECT * FROM runs ORDER BY minute DESC LIMIT ?"));
  int column = 1;
  if (failed_only) PFAD_RETURN_NOT_OK(stmt.Bind(column++, events::ToString(events::RunState::kFailed)));
  PFAD_RETURN_NOT_OK(stmt.Bind(column, limit));
  std::vector<events::RunRecord> out;
  while (true) {
    PFAD_ASSIGN_OR_RAISE(const bool row, stmt.Step("read runs"));
    if (!row) return out;
    PFAD_ASSIGN_OR_RAISE(const auto state, events::ParseRunState(stmt.Text(1)));
    out.push_back({.minute = stmt.Text(0),
                   .state = state,
                   .attempts = stmt.Int(2),
                   .error = stmt.Text(3),
                   .updated_ms = stmt.Int64(4)});
  }
}

Result<int64_t> ReportStore::FailedRunCount() {
  std::lock_guard lock(mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare("SELECT COUNT(*) FROM runs WHERE state = ?"));
  PFAD_RETURN_NOT_OK(stmt.Bind(1, events::ToString(events::RunState::kFailed)));
  PFAD_ASSIGN_OR_RAISE(const bool row, stmt.Step("count runs"));
  if (!row) return db_->Error("count runs");
  return stmt.Int64(0);
}

}  // namespace pfad::dashboard
