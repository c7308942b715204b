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
    "error TEXT NOT NULL, updated_ms INTEGER NOT NULL);";

StoredReport Row(sqlite3_stmt* s) {
  StoredReport r;
  r.id = sqlite3_column_int64(s, 0);
  r.received_ms = sqlite3_column_int64(s, 1);
  r.body = reinterpret_cast<const char*>(sqlite3_column_text(s, 2));
  return r;
}

}  // namespace

Result<std::unique_ptr<ReportStore>> ReportStore::Open(const std::string& path) {
  PFAD_ASSIGN_OR_RAISE(auto db, SqliteDb::Open(path, "report database", kSchema));
  return std::unique_ptr<ReportStore>(new ReportStore(std::move(db)));
}

ReportStore::~ReportStore() = default;

Result<StoredReport> ReportStore::Add(const std::string& body, int64_t received_ms) {
  std::lock_guard lock(mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare("INSERT INTO reports (received_ms, body) VALUES (?, ?)"));
  sqlite3_bind_int64(stmt.get(), 1, received_ms);
  sqlite3_bind_text(stmt.get(), 2, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(stmt.get()) != SQLITE_DONE) return db_->Error("insert");
  return StoredReport{sqlite3_last_insert_rowid(db_->get()), received_ms, body};
}

Status ReportStore::AddAll(const std::vector<std::string>& bodies, int64_t received_ms) {
  std::lock_guard lock(mutex_);
  PFAD_RETURN_NOT_OK(db_->Exec("BEGIN IMMEDIATE"));
  const auto insert_all = [&]() -> Status {
    PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare("INSERT INTO reports (received_ms, body) VALUES (?, ?)"));
    for (const auto& body : bodies) {
      sqlite3_reset(stmt.get());
      sqlite3_bind_int64(stmt.get(), 1, received_ms);
      sqlite3_bind_text(stmt.get(), 2, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
      if (sqlite3_step(stmt.get()) != SQLITE_DONE) return db_->Error("insert");
    }
    return Status::OK();
  };
  if (const Status st = insert_all(); !st.ok()) {
    (void)db_->Exec("ROLLBACK");
    return st;
  }
  return db_->Exec("COMMIT");
}

Result<std::optional<StoredReport>> ReportStore::Latest() {
  std::lock_guard lock(mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt,
                       db_->Prepare("SELECT id, received_ms, body FROM reports WHERE id > "
                                    "(SELECT cleared_through FROM slot) ORDER BY id DESC LIMIT 1"));
  const int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) return std::optional<StoredReport>();
  if (rc != SQLITE_ROW) return db_->Error("latest");
  return std::optional<StoredReport>(Row(stmt.get()));
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
  sqlite3_bind_int(stmt.get(), 1, std::max(limit, 0) * 4 + 64);
  sqlite3_bind_int(stmt.get(), 2, limit);
  std::vector<StoredReport> out;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) out.push_back(Row(stmt.get()));
  if (rc != SQLITE_DONE) return db_->Error("recent");
  return out;
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
  sqlite3_bind_text(stmt.get(), 1, run.minute.c_str(), -1, SQLITE_TRANSIENT);
  BindText(stmt.get(), 2, events::ToString(run.state));
  sqlite3_bind_int(stmt.get(), 3, run.attempts);
  sqlite3_bind_text(stmt.get(), 4, run.error.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt.get(), 5, run.updated_ms.value_or(0));
  if (sqlite3_step(stmt.get()) != SQLITE_DONE) return db_->Error("write run");
  return Status::OK();
}

Result<std::vector<events::RunRecord>> ReportStore::Runs(int limit, bool failed_only) {
  std::lock_guard lock(mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt,
                       db_->Prepare(failed_only ? "SELECT * FROM runs WHERE state = ? "
                                                  "ORDER BY minute DESC LIMIT ?"
                                                : "SELECT * FROM runs ORDER BY minute DESC LIMIT ?"));
  int column = 1;
  if (failed_only) BindText(stmt.get(), column++, events::ToString(events::RunState::kFailed));
  sqlite3_bind_int(stmt.get(), column, limit);
  std::vector<events::RunRecord> out;
  while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
    const auto text = [&](int col) {
      return std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), col)));
    };
    PFAD_ASSIGN_OR_RAISE(const auto state, events::ParseRunState(text(1)));
    out.push_back({.minute = text(0),
                   .state = state,
                   .attempts = sqlite3_column_int(stmt.get(), 2),
                   .error = text(3),
                   .updated_ms = sqlite3_column_int64(stmt.get(), 4)});
  }
  return out;
}

Result<int64_t> ReportStore::FailedRunCount() {
  std::lock_guard lock(mutex_);
  PFAD_ASSIGN_OR_RAISE(auto stmt, db_->Prepare("SELECT COUNT(*) FROM runs WHERE state = ?"));
  BindText(stmt.get(), 1, events::ToString(events::RunState::kFailed));
  if (sqlite3_step(stmt.get()) != SQLITE_ROW) return db_->Error("count runs");
  return sqlite3_column_int64(stmt.get(), 0);
}

}  // namespace pfad::dashboard
