// The ingester's counters, in the process's metrics registry
// (pfad/metrics/metrics.h; served on --metrics-port with /health): updated by
// the loop, returned as IngestStats when the run ends. Names and meanings:
// docs/OPERATIONS.md, "Metrics reference".
#pragma once

#include "pfad/common/status.h"
#include "pfad/metrics/metrics.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace pfad::ingest {

// Counters of a run (also served on the metrics endpoint).
struct IngestStats {
  int64_t events_in = 0;           // messages consumed
  int64_t events_stored = 0;       // events added to objects
  int64_t objects_written = 0;     // object writes that added events
  int64_t object_updates = 0;      // ... of which rewrote an existing object
  int64_t dlq = 0;                 // messages sent to the DLQ
  int64_t write_failures = 0;      // failed object writes (retried)
  int64_t lag = 0;                 // messages behind the partitions' ends
  int64_t window_latency_ms = -1;  // last on-time window: stored - (minute end + grace)
  int64_t window_latency_max_ms = -1;
  int64_t first_message_wall_ms = 0;
  int64_t last_store_wall_ms = 0;
};

struct IngestMetrics {
  // Registers the pfad_ingest_* families in `registry` (null: a registry of its own).
  explicit IngestMetrics(std::shared_ptr<metrics::Registry> registry = nullptr);

  std::shared_ptr<metrics::Registry> registry;
  metrics::Count events_in, events_stored, objects_written, object_updates, dlq, write_failures;
  metrics::Level lag, open_windows, buffered_events;
  prometheus::Histogram& window_latency_seconds;
  // Not exported: the run's statistics, and /health's view of the writes.
  std::atomic<int64_t> window_latency_ms{-1}, window_latency_max_ms{-1}, first_message_wall_ms{0},
      last_store_wall_ms{0}, failed_writes_in_row{0};

  // One log line of the counters.
  [[nodiscard]] std::string LogLine() const;
  [[nodiscard]] IngestStats Snapshot() const;
  // A window stored `latency_ms` after it was due.
  void RecordLatency(int64_t latency_ms);
  // /health: ready unless the object writes are failing.
  [[nodiscard]] metrics::CheckResult WritesHealth() const;
};

}  // namespace pfad::ingest
