#include "pfad/dashboard/report_store.h"

namespace pfad::dashboard {
namespace {

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

Status SqliteError(sqlite3* db, const char* what) {
  return Status::IOError("report database: ", what, ": ", sqlite3_errmsg(db));
}

StoredReport Row(sqlite3_stmt* s) {
  StoredReport r;
  r.id = sqlite3_column_int64(s, 0);
  r.received_ms = sqlite3_column_int64(s, 1);
  r.body = reinterpret_cast<const char*>(sqlite3_column_text(s, 2));
  return r;
}

}  // namespace

Result<std::unique_ptr<ReportStore>> ReportStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    const Status st = Status::IOError("cannot open report database '", path, "': ", sqlite3_errmsg(db));
    sqlite3_close(db);
    return st;
  }
  std::unique_ptr<ReportStore> store(new ReportStore(db));
  sqlite3_busy_timeout(db, 5000);
  PFAD_RETURN_NOT_OK(store->Exec("PRAGMA journal_mode=WAL"));
  PFAD_RETURN_NOT_OK(store->Exec("PRAGMA synchronous=NORMAL"));
  PFAD_RETURN_NOT_OK(store->Exec(
      "CREATE TABLE IF NOT EXISTS reports (id INTEGER PRIMARY KEY AUTOINCREMENT, received_ms INTEGER NOT NULL, "
      "body TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS slot (k INTEGER PRIMARY KEY CHECK (k = 0), cleared_through INTEGER NOT NULL);"
      "INSERT OR IGNORE INTO slot VALUES (0, 0);"));
  return store;
}

ReportStore::~ReportStore() { sqlite3_close(db_); }

Status ReportStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const Status st = Status::IOError("report database: ", err ? err : "error");
    sqlite3_free(err);
    return st;
  }
  return Status::OK();
}

Result<StoredReport> ReportStore::Add(const std::string& body, int64_t received_ms) {
  std::lock_guard lock(mutex_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "INSERT INTO reports (received_ms, body) VALUES (?, ?)", -1, &raw, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare insert");
  }
  Stmt stmt(raw);
  sqlite3_bind_int64(raw, 1, received_ms);
  sqlite3_bind_text(raw, 2, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(raw) != SQLITE_DONE) return SqliteError(db_, "insert");
  return StoredReport{sqlite3_last_insert_rowid(db_), received_ms, body};
}

Status ReportStore::AddAll(const std::vector<std::string>& bodies, int64_t received_ms) {
  std::lock_guard lock(mutex_);
  PFAD_RETURN_NOT_OK(Exec("BEGIN IMMEDIATE"));
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "INSERT INTO reports (received_ms, body) VALUES (?, ?)", -1, &raw, nullptr) != SQLITE_OK) {
    const Status st = SqliteError(db_, "prepare insert");
    (void)Exec("ROLLBACK");
    return st;
  }
  Stmt stmt(raw);
  for (const auto& body : bodies) {
    sqlite3_reset(raw);
    sqlite3_bind_int64(raw, 1, received_ms);
    sqlite3_bind_text(raw, 2, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
    if (sqlite3_step(raw) != SQLITE_DONE) {
      const Status st = SqliteError(db_, "insert");
      (void)Exec("ROLLBACK");
      return st;
    }
  }
  return Exec("COMMIT");
}

Result<std::optional<StoredReport>> ReportStore::Latest() {
  std::lock_guard lock(mutex_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT id, received_ms, body FROM reports WHERE id > (SELECT cleared_through FROM slot) "
                         "ORDER BY id DESC LIMIT 1",
                         -1, &raw, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare latest");
  }
  Stmt stmt(raw);
  const int rc = sqlite3_step(raw);
  if (rc == SQLITE_DONE) return std::optional<StoredReport>();
  if (rc != SQLITE_ROW) return SqliteError(db_, "latest");
  return std::optional<StoredReport>(Row(raw));
}

Result<std::vector<StoredReport>> ReportStore::Recent(int limit) {
  std::lock_guard lock(mutex_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT id, received_ms, body FROM reports ORDER BY id DESC LIMIT ?", -1, &raw,
                         nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare recent");
  }
  Stmt stmt(raw);
  sqlite3_bind_int(raw, 1, limit);
  std::vector<StoredReport> out;
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) out.push_back(Row(raw));
  if (rc != SQLITE_DONE) return SqliteError(db_, "recent");
  return out;
}

Status ReportStore::Clear() {
  std::lock_guard lock(mutex_);
  return Exec("UPDATE slot SET cleared_through = (SELECT COALESCE(MAX(id), 0) FROM reports)");
}

}  // namespace pfad::dashboard
