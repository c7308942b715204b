// A SQLite database handle (WAL journal), shared by the stages that keep state
// in SQLite (dashboard history, schedule run state). This module is the only
// place that calls SQLite's C API: the stages see SqliteDb, SqliteStatement and
// SqliteTransaction, whose errors are IOError "<what>: <doing>: <SQLite's text>".
//
//   PFAD_ASSIGN_OR_RAISE(auto stmt, db->Prepare("SELECT id, body FROM t WHERE k = ?"));
//   PFAD_RETURN_NOT_OK(stmt.BindAll(key));
//   while (true) {
//     PFAD_ASSIGN_OR_RAISE(const bool row, stmt.Step("read t"));
//     if (!row) break;
//     use(stmt.Int64(0), stmt.Text(1));
//   }
//
// A transaction rolls back when its guard goes out of scope uncommitted, so an
// early `return st;` leaves the database as it was.
#pragma once

#include "pfad/common/status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

struct sqlite3;
struct sqlite3_stmt;

namespace pfad {

class SqliteDb;

// One prepared statement (RAII: finalized on destruction). Parameters and
// columns are numbered as SQLite numbers them: parameters from 1, columns from 0.
class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  ~SqliteStatement();

  // Binds a value to parameter `index`; text is copied, so it need not outlive the call.
  [[nodiscard]] Status Bind(int index, std::string_view text);
  [[nodiscard]] Status Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  [[nodiscard]] Status Bind(int index, const std::string& text) {
    return Bind(index, std::string_view(text));
  }
  [[nodiscard]] Status Bind(int index, int64_t value);
  [[nodiscard]] Status Bind(int index, int value);
  [[nodiscard]] Status Bind(int index, double value);
  [[nodiscard]] Status BindNull(int index);
  // Binds the arguments to parameters 1, 2, ... in order.
  template <typename... Args>
  [[nodiscard]] Status BindAll(const Args&... args) {
    int index = 0;
    Status st;
    (void)((st = Bind(++index, args)).ok() && ...);  // stops at the first failure
    return st;
  }

  // Runs the statement one step: true when a row is ready to read, false when
  // the statement has finished. `doing` names the work in the error.
  [[nodiscard]] Result<bool> Step(const char* doing);
  // Runs a statement that returns no rows (INSERT, UPDATE, DELETE) to its end.
  [[nodiscard]] Status Run(const char* doing);
  // Makes the statement ready to run again; its bindings stay until rebound.
  [[nodiscard]] Status Reset(const char* doing);

  // The columns of the current row (after Step returned true).
  [[nodiscard]] bool IsNull(int column) const;
  [[nodiscard]] int64_t Int64(int column) const;
  [[nodiscard]] int Int(int column) const;
  [[nodiscard]] double Double(int column) const;
  // The column as text; NULL reads as "".
  [[nodiscard]] std::string Text(int column) const;

 private:
  friend class SqliteDb;
  SqliteStatement(const SqliteDb* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  [[nodiscard]] Status BindResult(int rc, int index);
  const SqliteDb* db_;
  sqlite3_stmt* stmt_;
};

// A transaction begun with BEGIN IMMEDIATE (the write lock taken at once, so
// it cannot fail half-way for a lock). Rolled back on destruction unless
// Commit succeeded.
class SqliteTransaction {
 public:
  SqliteTransaction(SqliteTransaction&& other) noexcept;
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  ~SqliteTransaction();

  [[nodiscard]] Status Commit();

 private:
  friend class SqliteDb;
  explicit SqliteTransaction(SqliteDb* db) : db_(db) {}
  SqliteDb* db_;  // null once committed, rolled back or moved from
};

class SqliteDb {
 public:
  // Opens (creating if needed) `path` in WAL mode and runs `schema` (idempotent
  // DDL). `what` names the database in errors ("report database").
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, std::string what,
                                                const char* schema);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements without parameters.
  [[nodiscard]] Status Exec(const char* sql);
  [[nodiscard]] Result<SqliteStatement> Prepare(const char* sql);
  [[nodiscard]] Result<SqliteTransaction> Begin();
  // The rowid of the newest row inserted through this handle.
  [[nodiscard]] int64_t LastInsertRowId() const;
  // IOError "<what>: <doing>: <SQLite's message>".
  [[nodiscard]] Status Error(const char* doing) const;

 private:
  friend class SqliteStatement;
  SqliteDb(sqlite3* db, std::string what) : db_(db), what_(std::move(what)) {}
  sqlite3* db_;
  std::string what_;
};

}  // namespace pfad
