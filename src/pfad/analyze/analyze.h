// The per-minute analysis job (DESIGN.md section 3), local C++ engine.
//
// Reads only the event_type and status columns of a minute's Parquet object,
// streams it row group by row group on all cores (memory is bounded by one
// batch per thread, not by the file), and writes the JSON report beside it.
#pragma once

#include "pfad/analyze/report.h"
#include "pfad/common/clock.h"
#include "pfad/common/status.h"
#include "pfad/storage/object_store.h"

#include <arrow/io/type_fwd.h>

#include <memory>
#include <optional>
#include <string>

namespace pfad::analyze {

struct AnalyzeOptions {
  int threads = 0;              // 0 = one per core
  int64_t batch_rows = 65536;   // rows decoded at a time per thread
};

// Counts the events of one Parquet file. Invalid when the bytes are not a
// readable Parquet file or lack the event_type/status columns.
Result<EventCounts> CountEvents(const std::shared_ptr<arrow::io::RandomAccessFile>& file,
                                const AnalyzeOptions& options);

// "<stem>" of an input object: its basename without ".parquet".
std::string ReportStem(const storage::ObjectUri& input);
// Where the report of `input` goes: `out` itself when it names a .json object,
// `out/<stem>.json` when it names a directory/prefix, else `<input dir>/<stem>.json`.
storage::ObjectUri ReportLocation(const storage::ObjectUri& input, const std::optional<storage::ObjectUri>& out);

struct AnalyzeRequest {
  storage::ObjectUri input;
  std::optional<storage::ObjectUri> output;
  AnalyzeOptions options;
};

struct AnalyzeOutcome {
  Report report;
  storage::ObjectUri written_to;
};

// The whole job: decide between "no data" and a real report, count, and write
// the report atomically. Errors (missing bucket/dir, no access, corrupt object,
// missing columns) write nothing and name the object and the cause.
Result<AnalyzeOutcome> AnalyzeMinute(const storage::ObjectStore& input_store,
                                     const storage::ObjectStore& output_store, const AnalyzeRequest& request,
                                     const Clock& clock = DefaultClock());

}  // namespace pfad::analyze
