#include "pfad/dashboard/report_store.h"
#include "pfad/dashboard/server.h"

#include <gtest/gtest.h>
#include <stdlib.h>
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

TEST(ReportStore, HistoryHoldsOneReportPerMinuteTheNewestStanding) {
  auto store = ReportStore::Open(":memory:").ValueOrDie();
  const auto report = [](const char* minute, int total) {
    return std::string(R"({"report":{"total_events":)") + std::to_string(total) + R"(,"file_name":")" +
           minute + R"(.json"}})";
  };
  ASSERT_TRUE(store->Add(report("2025-01-15_10-00", 5), 1).ok());
  ASSERT_TRUE(store->Add(report("2025-01-15_10-01", 6), 2).ok());
  ASSERT_TRUE(store->Add(R"({"report":"No data for 2025-01-15_10-02."})", 3).ok());
  ASSERT_TRUE(store->Add(report("2025-01-15_10-00", 7), 4).ok());  // 10:00 run again after late events
  ASSERT_TRUE(store->Add(R"({"report":"No data for 2025-01-15_10-02."})", 5).ok());
  const auto recent = store->Recent(10).ValueOrDie();
  std::vector<int64_t> received;
  for (const auto& r : recent) received.push_back(r.received_ms);
  EXPECT_EQ(received, (std::vector<int64_t>{5, 4, 3, 2})) << "the first 10:00 report is replaced";
  EXPECT_EQ(recent[1].body, report("2025-01-15_10-00", 7));
  EXPECT_EQ(store->Recent(2).ValueOrDie().size(), 2U);
}

TEST(ReportStore, PersistsAcrossReopen) {
  const auto path =
      std::filesystem::temp_directory_path() / ("pfad-reports-" + std::to_string(::getpid()) + ".db");
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

TEST(ReportStore, RunsKeepTheirStateAndALaterSuccessClearsAFailure) {
  using events::RunState;
  auto store = ReportStore::Open(":memory:").ValueOrDie();
  ASSERT_TRUE(store
                  ->PutRun({.minute = "2025-01-15_10-00",
                            .state = RunState::kFailed,
                            .attempts = 2,
                            .error = "store down",
                            .updated_ms = 5})
                  .ok());
  ASSERT_TRUE(
      store
          ->PutRun(
              {.minute = "2025-01-15_10-01", .state = RunState::kSuccess, .attempts = 1, .updated_ms = 6})
          .ok());
  EXPECT_EQ(store->FailedRunCount().ValueOrDie(), 1);
  const auto failed = store->Runs(10, /*failed_only=*/true).ValueOrDie();
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_EQ(failed[0], (events::RunRecord{.minute = "2025-01-15_10-00",
                                          .state = RunState::kFailed,
                                          .attempts = 2,
                                          .error = "store down",
                                          .updated_ms = 5}));
  EXPECT_EQ(store->Runs(10, false).ValueOrDie().size(), 2U);
  ASSERT_TRUE(
      store
          ->PutRun(
              {.minute = "2025-01-15_10-00", .state = RunState::kSuccess, .attempts = 1, .updated_ms = 7})
          .ok());
  EXPECT_EQ(store->FailedRunCount().ValueOrDie(), 0);
}

TEST(DashboardConfig, DefaultsThenFileThenEnvironment) {
  ::unsetenv("PFAD_DASHBOARD_TOKEN");
  const auto defaults = DashboardConfig::Resolve(ConfigFile()).ValueOrDie();
  EXPECT_EQ(defaults.host, "127.0.0.1");
  EXPECT_EQ(defaults.port, 8080);
  EXPECT_EQ(defaults.database, "");
  auto file =
      ConfigFile::Parse("[dashboard]\nport = 9000\ntoken = \"file\"\ndatabase = \"/tmp/x.db\"\nthreads = 2\n")
          .ValueOrDie();
  auto resolved = DashboardConfig::Resolve(file).ValueOrDie();
  EXPECT_EQ(resolved.port, 9000);
  EXPECT_EQ(resolved.token, "file");
  EXPECT_EQ(resolved.database, "/tmp/x.db");
  EXPECT_EQ(resolved.threads, 2);
  ::setenv("PFAD_DASHBOARD_TOKEN", "env", 1);
  EXPECT_EQ(DashboardConfig::Resolve(file).ValueOrDie().token, "env");
  ::unsetenv("PFAD_DASHBOARD_TOKEN");
  EXPECT_TRUE(DashboardConfig::Resolve(ConfigFile::Parse("[dashboard]\nport = 70000\n").ValueOrDie())
                  .status()
                  .IsInvalid());
}

TEST(DashboardConfig, ReadTokenAndTlsFromFileThenEnvironment) {
  for (const char* v : {"PFAD_DASHBOARD_READ_TOKEN", "PFAD_DASHBOARD_TLS_CERT", "PFAD_DASHBOARD_TLS_KEY"})
    ::unsetenv(v);
  const auto defaults = DashboardConfig::Resolve(ConfigFile()).ValueOrDie();
  EXPECT_EQ(defaults.read_token, "");
  EXPECT_EQ(defaults.tls_cert, "");
  auto file =
      ConfigFile::Parse("[dashboard]\nread_token = \"r\"\ntls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"\n")
          .ValueOrDie();
  auto resolved = DashboardConfig::Resolve(file).ValueOrDie();
  EXPECT_EQ(resolved.read_token, "r");
  EXPECT_EQ(resolved.tls_cert, "/c.pem");
  EXPECT_EQ(resolved.tls_key, "/k.pem");
  ::setenv("PFAD_DASHBOARD_READ_TOKEN", "env-r", 1);
  ::setenv("PFAD_DASHBOARD_TLS_CERT", "/env-c.pem", 1);
  ::setenv("PFAD_DASHBOARD_TLS_KEY", "/env-k.pem", 1);
  resolved = DashboardConfig::Resolve(file).ValueOrDie();
  EXPECT_EQ(resolved.read_token, "env-r");
  EXPECT_EQ(resolved.tls_cert, "/env-c.pem");
  EXPECT_EQ(resolved.tls_key, "/env-k.pem");
  for (const char* v : {"PFAD_DASHBOARD_READ_TOKEN", "PFAD_DASHBOARD_TLS_CERT", "PFAD_DASHBOARD_TLS_KEY"})
    ::unsetenv(v);
}

TEST(DashboardConfig, InvestigationRetentionFromFileThenEnvironment) {
  ::unsetenv("PFAD_DASHBOARD_INVESTIGATION_RETENTION_MINUTES");
  EXPECT_EQ(DashboardConfig::Resolve(ConfigFile()).ValueOrDie().investigation_retention_minutes, 60);
  auto file = ConfigFile::Parse("[dashboard]\ninvestigation_retention_minutes = 15\n").ValueOrDie();
  EXPECT_EQ(DashboardConfig::Resolve(file).ValueOrDie().investigation_retention_minutes, 15);
  ::setenv("PFAD_DASHBOARD_INVESTIGATION_RETENTION_MINUTES", "5", 1);
  EXPECT_EQ(DashboardConfig::Resolve(file).ValueOrDie().investigation_retention_minutes, 5);
  ::setenv("PFAD_DASHBOARD_INVESTIGATION_RETENTION_MINUTES", "0", 1);
  EXPECT_TRUE(DashboardConfig::Resolve(file).status().IsInvalid());
  ::unsetenv("PFAD_DASHBOARD_INVESTIGATION_RETENTION_MINUTES");
}

TEST(ReportStore, UnopenableDatabaseIsAnError) {
  EXPECT_TRUE(ReportStore::Open("/nonexistent/dir/x.db").status().IsIOError());
}

}  // namespace
}  // namespace pfad::dashboard
