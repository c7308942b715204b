// SqliteDb, SqliteStatement and SqliteTransaction: typed binding and reading,
// errors that carry SQLite's text, and the rollback of an uncommitted transaction.
#include "pfad/common/sqlite_db.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

namespace pfad {
namespace {

constexpr const char* kSchema = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, n INTEGER, s TEXT)";

std::unique_ptr<SqliteDb> Memory() {
  return SqliteDb::Open(":memory:", "test database", kSchema).ValueOrDie();
}

Result<int64_t> Count(SqliteDb& db) {
  PFAD_ASSIGN_OR_RAISE(auto stmt, db.Prepare("SELECT COUNT(*) FROM t"));
  PFAD_ASSIGN_OR_RAISE(const bool row, stmt.Step("count"));
  if (!row) return Status::Invalid("no row");
  return stmt.Int64(0);
}

TEST(SqliteDb, BindsAndReadsTypedValues) {
  auto db = Memory();
  auto insert = db->Prepare("INSERT INTO t (n, s) VALUES (?, ?)").ValueOrDie();
  ASSERT_TRUE(insert.BindAll(int64_t{1} << 40, std::string("with\0nul", 8)).ok());
  ASSERT_TRUE(insert.Run("insert").ok());
  EXPECT_EQ(db->LastInsertRowId(), 1);
  // The same statement again with a new number.
  ASSERT_TRUE(insert.Reset("reset").ok());
  ASSERT_TRUE(insert.Bind(1, 7).ok());
  ASSERT_TRUE(insert.Run("insert").ok());
  EXPECT_EQ(db->LastInsertRowId(), 2);

  auto select = db->Prepare("SELECT n, s FROM t WHERE n >= ? ORDER BY id").ValueOrDie();
  ASSERT_TRUE(select.Bind(1, 0).ok());
  ASSERT_TRUE(select.Step("read").ValueOrDie());
  EXPECT_EQ(select.Int64(0), int64_t{1} << 40);
  EXPECT_EQ(select.Text(1), std::string("with\0nul", 8));
  EXPECT_FALSE(select.IsNull(1));
  ASSERT_TRUE(select.Step("read").ValueOrDie());
  EXPECT_EQ(select.Int(0), 7);
  // The text binding of the first run stays until rebound.
  EXPECT_EQ(select.Text(1), std::string("with\0nul", 8));
  EXPECT_FALSE(select.Step("read").ValueOrDie());

  auto real = db->Prepare("SELECT ? * 2").ValueOrDie();
  ASSERT_TRUE(real.Bind(1, 0.25).ok());
  ASSERT_TRUE(real.Step("read").ValueOrDie());
  EXPECT_DOUBLE_EQ(real.Double(0), 0.5);
  ASSERT_TRUE(real.Reset("reset").ok());
  ASSERT_TRUE(real.BindNull(1).ok());
  ASSERT_TRUE(real.Step("read").ValueOrDie());
  EXPECT_TRUE(real.IsNull(0));

  auto null = db->Prepare("SELECT MAX(n), NULL FROM t WHERE n < 0").ValueOrDie();
  ASSERT_TRUE(null.Step("read").ValueOrDie());
  EXPECT_TRUE(null.IsNull(0));
  EXPECT_EQ(null.Text(1), "");
}

TEST(SqliteDb, ErrorsNameTheDatabaseTheWorkAndSqlitesText) {
  auto db = Memory();
  auto bad = db->Prepare("SELECT nope FROM t");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsIOError());
  EXPECT_EQ(bad.status().message(), "test database: prepare: no such column: nope");

  auto insert = db->Prepare("INSERT INTO t (id, n) VALUES (?, ?)").ValueOrDie();
  ASSERT_TRUE(insert.BindAll(1, 1).ok());
  ASSERT_TRUE(insert.Run("write").ok());
  auto again = db->Prepare("INSERT INTO t (id, n) VALUES (?, ?)").ValueOrDie();
  ASSERT_TRUE(again.BindAll(1, 2).ok());
  const Status st = again.Run("write a row");
  EXPECT_TRUE(st.IsIOError());
  EXPECT_EQ(st.message(), "test database: write a row: UNIQUE constraint failed: t.id");

  auto fresh = db->Prepare("SELECT ?").ValueOrDie();
  const Status range = fresh.Bind(2, 1);
  EXPECT_TRUE(range.IsIOError());
  EXPECT_EQ(range.message(), "test database: bind parameter 2: column index out of range");
  EXPECT_FALSE(fresh.BindAll(1, 2).ok()) << "BindAll stops at the first failure";
  // A statement that ran must be reset before it takes new values.
  EXPECT_EQ(insert.Bind(1, 3).message(),
            "test database: bind parameter 1: bad parameter or other API misuse");
  ASSERT_TRUE(insert.Reset("reset").ok());
  EXPECT_TRUE(insert.Bind(1, 3).ok());
  EXPECT_TRUE(db->Exec("NOT SQL").IsIOError());
}

TEST(SqliteDb, OpenNamesThePathItCannotOpen) {
  auto db = SqliteDb::Open("/nonexistent/dir/x.db", "run-state database", kSchema);
  ASSERT_FALSE(db.ok());
  EXPECT_TRUE(db.status().IsIOError());
  EXPECT_NE(db.status().message().find("cannot open run-state database '/nonexistent/dir/x.db'"),
            std::string::npos)
      << db.status().ToString();
}

TEST(SqliteTransaction, CommitKeepsAndScopeExitRollsBack) {
  auto db = Memory();
  {
    auto tx = db->Begin().ValueOrDie();
    ASSERT_TRUE(db->Exec("INSERT INTO t (n) VALUES (1)").ok());
    ASSERT_TRUE(tx.Commit().ok());
    EXPECT_FALSE(tx.Commit().ok()) << "a transaction ends once";
  }
  EXPECT_EQ(Count(*db).ValueOrDie(), 1);
  {
    auto tx = db->Begin().ValueOrDie();
    ASSERT_TRUE(db->Exec("INSERT INTO t (n) VALUES (2)").ok());
    auto moved = std::move(tx);  // the guard moves with its transaction
    // An early return: no Commit.
  }
  EXPECT_EQ(Count(*db).ValueOrDie(), 1);
  // After the rollback a new transaction can begin.
  auto tx = db->Begin().ValueOrDie();
  EXPECT_TRUE(db->Begin().status().IsIOError()) << "no nested transactions";
  ASSERT_TRUE(tx.Commit().ok());
}

TEST(SqliteTransaction, WritesAreInvisibleToOthersUntilCommitted) {
  const auto path =
      std::filesystem::temp_directory_path() / ("pfad_sqlite_test_" + std::to_string(::getpid()) + ".db");
  {
    auto writer = SqliteDb::Open(path.string(), "writer", kSchema).ValueOrDie();
    auto reader = SqliteDb::Open(path.string(), "reader", kSchema).ValueOrDie();
    auto tx = writer->Begin().ValueOrDie();
    ASSERT_TRUE(writer->Exec("INSERT INTO t (n) VALUES (1)").ok());
    EXPECT_EQ(Count(*reader).ValueOrDie(), 0);
    ASSERT_TRUE(tx.Commit().ok());
    EXPECT_EQ(Count(*reader).ValueOrDie(), 1);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
}

}  // namespace
}  // namespace pfad
