// The ingest stage: Kafka topic user_interactions -> one Parquet object per
// Asia/Tehran minute in S3/MinIO or a local directory, every event exactly once.
//
// How "exactly once" holds with at-least-once delivery:
// - offsets are committed by hand, and only up to the smallest offset still
//   held in a window that is not yet stored (and only after DLQ messages are
//   acknowledged), so a crash re-reads, never skips;
// - every object write merges with what is stored, by event_id, under a
//   conditional write (minute_object.h), so a re-read event is never stored twice,
//   whichever ingester of the group writes it.
//
// Bad messages (no Confluent header, unknown schema id, an unreadable writer
// schema, invalid Avro, too late) go to the DLQ topic with headers naming the
// error and the source; they never stop the stage. After each object write a
// JSON notification goes to the windows topic so analysis can start at once.
#pragma once

#include "pfad/common/clock.h"
#include "pfad/common/status.h"
#include "pfad/ingest/window.h"
#include "pfad/kafka/client.h"
#include "pfad/storage/object_store.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace pfad::ingest {

struct IngestOptions {
  std::string bootstrap = "127.0.0.1:9092";
  std::string registry_url;  // Confluent-compatible base URL
  std::string topic = "user_interactions";
  std::string group = "pfad-ingest";
  // Static group membership (group.instance.id): an ingester restarted with the
  // same id takes its partitions back at once instead of waiting for the
  // group to expel the dead member (session timeout, or up to 5 minutes when
  // it died while joining). Empty = dynamic membership.
  std::string instance_id;
  std::string dlq_topic;      // default <topic>.dlq
  std::string windows_topic;  // default <topic>.windows
  storage::ObjectUri sink;    // directory or s3://bucket[/prefix]
  WindowOptions windows;
  int64_t row_group_rows = 262'144;
  int64_t max_buffered_events = 2'000'000;  // stop fetching while this many wait (bounds RSS in catch-up)
  kafka::Properties properties;             // librdkafka overrides (-X), for consumer and producer
  int metrics_port = 0;                     // 0 = no endpoint
  std::string metrics_host = "127.0.0.1";
  std::chrono::milliseconds connect_timeout{10'000};
  bool until_idle = false;  // exit once every partition is idle and every window is stored
};

// Counters of a run (also served on the metrics endpoint).
struct IngestStats {
  int64_t events_in = 0;         // messages consumed
  int64_t events_stored = 0;     // events added to objects
  int64_t objects_written = 0;   // object writes that added events
  int64_t object_updates = 0;    // ... of which rewrote an existing object
  int64_t dlq = 0;               // messages sent to the DLQ
  int64_t write_failures = 0;    // failed object writes (retried)
  int64_t lag = 0;               // messages behind the partitions' ends
  int64_t window_latency_ms = -1;      // last on-time window: stored - (minute end + grace)
  int64_t window_latency_max_ms = -1;
  int64_t first_message_wall_ms = 0;
  int64_t last_store_wall_ms = 0;
};

// Sets options' defaults that depend on others (DLQ and windows topic names).
IngestOptions WithDefaults(IngestOptions options);

// Validates options that need no network.
Status Validate(const IngestOptions& options);

// Consumes until `stop` turns true (or, with until_idle, the input is drained),
// then commits what is stored and returns. Fails only when the stage cannot go
// on: the broker, the topics or the sink are unreachable at start, or the DLQ
// refuses a message.
Result<IngestStats> Run(const IngestOptions& options, std::shared_ptr<storage::ObjectStore> store,
                        const std::atomic<bool>& stop, const Clock& clock);

}  // namespace pfad::ingest
