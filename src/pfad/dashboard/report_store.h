// The dashboard's report history, persisted in SQLite (WAL), so it survives
// restarts. The "latest report" slot of the reference API is the newest stored
// report not cleared by DELETE /report.
#pragma once

#include "pfad/common/sqlite_db.h"
#include "pfad/common/status.h"
#include "pfad/events/run_record.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace pfad::dashboard {

// The dashboard's one SQLite handle, shared by its stores (ReportStore,
// CaseStore) so that a POST's report and its investigations commit together.
// The mutex serialises every use of the handle.
struct DashboardDatabase {
  std::unique_ptr<SqliteDb> db;
  std::mutex mutex;
};

struct StoredReport {
  int64_t id = 0;
  int64_t received_ms = 0;  // when the dashboard got it (epoch ms)
  std::string body;         // the posted document, exactly as received: {"report": ...}
};

class ReportStore {
 public:
  // Opens (creating if needed) the database at `path`; ":memory:" for tests.
  static Result<std::unique_ptr<ReportStore>> Open(const std::string& path);
  ~ReportStore();
  // The handle, for the other stores of the same database.
  [[nodiscard]] const std::shared_ptr<DashboardDatabase>& database() const { return shared_; }

  [[nodiscard]] Result<StoredReport> Add(const std::string& body, int64_t received_ms);
  // Stores several reports in one transaction (one commit for all), in order;
  // `also` (if set) runs in the same transaction, after them: its error rolls
  // everything back.
  [[nodiscard]] Status AddAll(const std::vector<std::string>& bodies, int64_t received_ms,
                              const std::function<Status(SqliteDb&)>& also = {});
  // The newest report since the last Clear(), if any.
  [[nodiscard]] Result<std::optional<StoredReport>> Latest();
  // The newest `limit` reports, newest first (history is kept across Clear()),
  // one per minute: of reports with the same report.file_name the newest stands.
  [[nodiscard]] Result<std::vector<StoredReport>> Recent(int limit);
  // Empties the latest-report slot (DELETE /report).
  [[nodiscard]] Status Clear();

  // Records (or updates) the outcome of a scheduled run, as of run.updated_ms.
  [[nodiscard]] Status PutRun(const events::RunRecord& run);
  // Runs, newest minute first; only failed ones when `failed_only`.
  [[nodiscard]] Result<std::vector<events::RunRecord>> Runs(int limit, bool failed_only);
  [[nodiscard]] Result<int64_t> FailedRunCount();

  // The model registry's records as `pfad fraud retrain` posts them (docs/FRAUD.md section 9),
  // one per (model file, version); listed newest first, as posted.
  [[nodiscard]] Status PutModel(const std::string& model_file, int64_t version, const std::string& body,
                                int64_t received_ms);
  [[nodiscard]] Result<std::vector<std::string>> Models(int limit);

 private:
  explicit ReportStore(std::shared_ptr<DashboardDatabase> shared)
      : shared_(std::move(shared)), db_(shared_->db.get()), mutex_(shared_->mutex) {}
  std::shared_ptr<DashboardDatabase> shared_;
  SqliteDb* db_;
  std::mutex& mutex_;
};

}  // namespace pfad::dashboard
