// A SQLite database handle (WAL journal), shared by the stages that keep state
// in SQLite (dashboard history, schedule run state).
#pragma once

#include "pfad/common/status.h"

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>

namespace pfad {

struct SqliteStmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using SqliteStmt = std::unique_ptr<sqlite3_stmt, SqliteStmtDeleter>;

// Binds `text` (copied) to parameter `column` (1-based).
inline void BindText(sqlite3_stmt* s, int column, std::string_view text) {
  sqlite3_bind_text(s, column, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

class SqliteDb {
 public:
  // Opens (creating if needed) `path` in WAL mode and runs `schema` (idempotent
  // DDL). `what` names the database in errors ("report database").
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, std::string what,
                                                const char* schema);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  [[nodiscard]] Status Exec(const char* sql);
  [[nodiscard]] Result<SqliteStmt> Prepare(const char* sql);
  // IOError "<what>: <doing>: <sqlite's message>".
  [[nodiscard]] Status Error(const char* doing) const;
  [[nodiscard]] sqlite3* get() const { return db_; }

 private:
  SqliteDb(sqlite3* db, std::string what) : db_(db), what_(std::move(what)) {}
  sqlite3* db_;
  std::string what_;
};

}  // namespace pfad
