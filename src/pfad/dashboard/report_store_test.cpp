#include "pfad/dashboard/report_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace pfad::dashboard {
namespace {

TEST(ReportStore, LatestHistoryAndClear) {
  auto store = ReportStore::Open(":memory:").ValueOrDie();
  EXPECT_FALSE(store->Latest().ValueOrDie().has_value());
  ASSERT_TRUE(store->Add(R"({"report":"No data for a."})", 1).ok());
  ASSERT_TRUE(store->Add(R"({"report":{"total_events":1}})", 2).ok());
  EXPECT_EQ(store->Latest().ValueOrDie()->body, R"({"report":{"total_events":1}})");
  auto recent = store->Recent(10).ValueOrDie();
  ASSERT_EQ(recent.size(), 2U);
  EXPECT_EQ(recent[0].received_ms, 2);  // newest first
  ASSERT_TRUE(store->Clear().ok());
  EXPECT_FALSE(store->Latest().ValueOrDie().has_value());
  EXPECT_EQ(store->Recent(10).ValueOrDie().size(), 2U) << "history survives DELETE /report";
  ASSERT_TRUE(store->Add(R"({"report":"x"})", 3).ok());
  EXPECT_EQ(store->Latest().ValueOrDie()->received_ms, 3);
  EXPECT_EQ(store->Recent(1).ValueOrDie().size(), 1U);
}

TEST(ReportStore, PersistsAcrossReopen) {
  const auto path = std::filesystem::temp_directory_path() / ("pfad-reports-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  {
    auto store = ReportStore::Open(path.string()).ValueOrDie();
    ASSERT_TRUE(store->Add(R"({"report":"kept"})", 7).ok());
  }
  auto reopened = ReportStore::Open(path.string()).ValueOrDie();
  EXPECT_EQ(reopened->Latest().ValueOrDie()->body, R"({"report":"kept"})");
  reopened.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
}

TEST(ReportStore, UnopenableDatabaseIsAnError) {
  EXPECT_TRUE(ReportStore::Open("/nonexistent/dir/x.db").status().IsIOError());
}

}  // namespace
}  // namespace pfad::dashboard
