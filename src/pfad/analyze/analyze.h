// The per-minute analysis job (docs/DESIGN.md, "Analysis job").
//
// AnalyzeMinute decides between "no data" and a real report, has an engine
// count the object's events and writes the JSON report beside it. The engine
// is the local C++ one unless the request names another (an EventCounter,
// e.g. the Spark engine in pfad/spark), so every engine shares every other
// behaviour of that section: names, no-data cases, error kinds, atomic writes.
//
// The local engine reads only the event_type and status columns, streams the
// file row group by row group on all cores (memory is bounded by one batch
// per thread, not by the file).
#pragma once

#include "pfad/analyze/report.h"
#include "pfad/common/clock.h"
#include "pfad/common/config_file.h"
#include "pfad/common/settings.h"
#include "pfad/common/status.h"
#include "pfad/storage/object_store.h"

#include <arrow/io/type_fwd.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace pfad::analyze {

struct AnalyzeOptions {
  int threads = 0;             // 0 = one per core
  int64_t batch_rows = 65536;  // rows decoded at a time per thread
};

// The analysis settings: defaults <- [analyze] threads / engine of the config
// file <- PFAD_ENGINE. The Spark engine's own settings are spark::SparkConfig.
struct AnalyzeConfig {
  AnalyzeOptions options;        // of the local engine
  std::string engine = "local";  // "local" or "spark"

  static Result<AnalyzeConfig> Resolve(const ConfigFile& file);
  // The rows Resolve reads (key, environment, default, unit, description); `pfad config` prints them.
  static const SettingsTable<AnalyzeConfig>& Settings();
};

// Counts the events of one Parquet file. Invalid when the bytes are not a
// readable Parquet file or lack the event_type/status columns.
Result<EventCounts> CountEvents(const std::shared_ptr<arrow::io::RandomAccessFile>& file,
                                const AnalyzeOptions& options);

// "<stem>" of an input object: its basename without ".parquet".
std::string ReportStem(const storage::ObjectUri& input);
// Where the report of `input` goes: `out` itself when it names a .json object,
// `out/<stem>.json` when it names a directory/prefix, else `<input dir>/<stem>.json`.
storage::ObjectUri ReportLocation(const storage::ObjectUri& input,
                                  const std::optional<storage::ObjectUri>& out);

// An analysis engine: counts the events of one minute object that exists.
// Errors say what failed: Invalid when the object itself is at fault (not
// Parquet, corrupt, missing columns), IOError when a service failed (store or
// engine unreachable, access denied); both name the object.
class EventCounter {
 public:
  virtual ~EventCounter() = default;
  [[nodiscard]] virtual Result<EventCounts> Count(const storage::ObjectStore& store,
                                                  const storage::ObjectUri& uri,
                                                  const storage::ObjectInfo& info) const = 0;
  // "local", "spark": for logs and messages.
  [[nodiscard]] virtual std::string_view name() const = 0;
};

// The local C++ engine over an ObjectStore.
class LocalEventCounter final : public EventCounter {
 public:
  explicit LocalEventCounter(AnalyzeOptions options = {}) : options_(options) {}
  [[nodiscard]] Result<EventCounts> Count(const storage::ObjectStore& store, const storage::ObjectUri& uri,
                                          const storage::ObjectInfo& info) const override;
  [[nodiscard]] std::string_view name() const override { return "local"; }

 private:
  AnalyzeOptions options_;
};

struct AnalyzeRequest {
  storage::ObjectUri input;
  std::optional<storage::ObjectUri> output;
  AnalyzeOptions options;                      // of the local engine, when `engine` is null
  std::shared_ptr<const EventCounter> engine;  // null = the local engine
};

struct AnalyzeOutcome {
  Report report;
  storage::ObjectUri written_to;
};

// The stores a request reads from and writes to: the input's, and for the
// output the same one unless the output is on the other kind of storage (S3
// against a local path), which then gets its own.
struct AnalyzeStores {
  std::shared_ptr<storage::ObjectStore> input;
  std::shared_ptr<storage::ObjectStore> output;
};
Result<AnalyzeStores> OpenAnalyzeStores(const AnalyzeRequest& request, const storage::StorageConfig& storage);

// The whole job: decide between "no data" and a real report, count, and write
// the report atomically. Errors (missing bucket/dir, no access, corrupt object,
// missing columns) write nothing and name the object and the cause.
Result<AnalyzeOutcome> AnalyzeMinute(const storage::ObjectStore& input_store,
                                     const storage::ObjectStore& output_store, const AnalyzeRequest& request,
                                     const Clock& clock = DefaultClock());

}  // namespace pfad::analyze
