// SqliteDb, SqliteStatement, SqliteTransaction over SQLite's C API (see sqlite_db.h).
#include "pfad/common/sqlite_db.h"

#include <sqlite3.h>

#include <utility>

namespace pfad {

// ---- SqliteDb -----------------------------------------------------------------

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, std::string what,
                                                 const char* schema) {
  sqlite3* raw = nullptr;
  if (sqlite3_open(path.c_str(), &raw) != SQLITE_OK) {
    const Status st = Status::IOError("cannot open ", what, " '", path, "': ", sqlite3_errmsg(raw));
    sqlite3_close(raw);
    return st;
  }
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw, std::move(what)));
  sqlite3_busy_timeout(raw, 5000);
  PFAD_RETURN_NOT_OK(db->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"));
  PFAD_RETURN_NOT_OK(db->Exec(schema));
  return db;
}

SqliteDb::~SqliteDb() { sqlite3_close(db_); }

Status SqliteDb::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const Status st = Status::IOError(what_, ": ", err ? err : "error");
    sqlite3_free(err);
    return st;
  }
  return Status::OK();
}

Result<SqliteStatement> SqliteDb::Prepare(const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr) != SQLITE_OK) return Error("prepare");
  return SqliteStatement(this, raw);
}

Result<SqliteTransaction> SqliteDb::Begin() {
  PFAD_RETURN_NOT_OK(Exec("BEGIN IMMEDIATE"));
  return SqliteTransaction(this);
}

int64_t SqliteDb::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

Status SqliteDb::Error(const char* doing) const {
  return Status::IOError(what_, ": ", doing, ": ", sqlite3_errmsg(db_));
}

// ---- SqliteStatement ------------------------------------------------------------

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }  // a no-op on null

Status SqliteStatement::BindResult(int rc, int index) {
  if (rc == SQLITE_OK) return Status::OK();
  // The code's own text: a bind does not always set the handle's message.
  return Status::IOError(db_->what_, ": bind parameter ", index, ": ", sqlite3_errstr(rc));
}

Status SqliteStatement::Bind(int index, std::string_view text) {
  return BindResult(
      sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT), index);
}

Status SqliteStatement::Bind(int index, int64_t value) {
  return BindResult(sqlite3_bind_int64(stmt_, index, value), index);
}

Status SqliteStatement::Bind(int index, int value) {
  return BindResult(sqlite3_bind_int(stmt_, index, value), index);
}

Status SqliteStatement::Bind(int index, double value) {
  return BindResult(sqlite3_bind_double(stmt_, index, value), index);
}

Status SqliteStatement::BindNull(int index) { return BindResult(sqlite3_bind_null(stmt_, index), index); }

Result<bool> SqliteStatement::Step(const char* doing) {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(doing);
}

Status SqliteStatement::Run(const char* doing) {
  while (true) {
    PFAD_ASSIGN_OR_RAISE(const bool row, Step(doing));
    if (!row) return Status::OK();
  }
}

Status SqliteStatement::Reset(const char* doing) {
  // sqlite3_reset repeats the error of the last step; that one was reported by Step already.
  if (sqlite3_reset(stmt_) != SQLITE_OK) return db_->Error(doing);
  return Status::OK();
}

bool SqliteStatement::IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

int64_t SqliteStatement::Int64(int column) const { return sqlite3_column_int64(stmt_, column); }

int SqliteStatement::Int(int column) const { return sqlite3_column_int(stmt_, column); }

double SqliteStatement::Double(int column) const { return sqlite3_column_double(stmt_, column); }

std::string SqliteStatement::Text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (text == nullptr) return {};
  return std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

// ---- SqliteTransaction ----------------------------------------------------------

SqliteTransaction::SqliteTransaction(SqliteTransaction&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)) {}

SqliteTransaction::~SqliteTransaction() {
  if (db_ != nullptr) (void)db_->Exec("ROLLBACK");
}

Status SqliteTransaction::Commit() {
  if (db_ == nullptr) return Status::Invalid("transaction already ended");
  SqliteDb* db = std::exchange(db_, nullptr);
  const Status st = db->Exec("COMMIT");
  // A failed COMMIT (e.g. SQLITE_BUSY) leaves the transaction open: end it.
  if (!st.ok()) (void)db->Exec("ROLLBACK");
  return st;
}

}  // namespace pfad
