#include "pfad/common/sqlite_db.h"

namespace pfad {

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

Result<SqliteStmt> SqliteDb::Prepare(const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr) != SQLITE_OK) return Error("prepare");
  return SqliteStmt(raw);
}

Status SqliteDb::Error(const char* doing) const {
  return Status::IOError(what_, ": ", doing, ": ", sqlite3_errmsg(db_));
}

}  // namespace pfad
