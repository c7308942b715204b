// The ingester's counters: updated by the loop, read by the metrics endpoint
// (Prometheus text format) and returned as IngestStats when the run ends.
#pragma once

#include "pfad/common/status.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace pfad::http {
class Server;
}

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
  std::atomic<int64_t> events_in{0}, events_stored{0}, objects_written{0}, object_updates{0}, dlq{0},
      write_failures{0}, lag{0}, window_latency_ms{-1}, window_latency_max_ms{-1}, open_windows{0},
      buffered_events{0}, first_message_wall_ms{0}, last_store_wall_ms{0};

  // Prometheus text exposition format, version 0.0.4.
  [[nodiscard]] std::string PrometheusText() const;
  // One log line of the counters.
  [[nodiscard]] std::string LogLine() const;
  [[nodiscard]] IngestStats Snapshot() const;
  // A window stored `latency_ms` after it was due.
  void RecordLatency(int64_t latency_ms);
};

// Serves GET /metrics on host:port until the returned server is destroyed.
Result<std::unique_ptr<http::Server>> ServeMetrics(const IngestMetrics& metrics, const std::string& host,
                                                   int port);

}  // namespace pfad::ingest
