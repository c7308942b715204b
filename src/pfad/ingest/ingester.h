// The ingest stage: Kafka topic user_interactions -> one Parquet object per
// Asia/Tehran minute in S3/MinIO or a local directory, every event exactly once.
//
// How "exactly once" holds with at-least-once delivery:
// - offsets are committed by hand, and only up to the smallest offset still
//   held in a window that is not yet stored (and only after DLQ messages are
//   acknowledged), so a crash re-reads, never skips;
// - every sink write merges with what is stored, by event_id (sink.h), so a
//   re-read event is never stored twice, whichever ingester of the group writes it.
//
// The parts: MinuteWindows (window.h: which event waits for which minute, what
// may be committed), WindowWriter (window_writer.h: stores closed windows in
// every MinuteSink on its own thread), WriterSchemas (schemas.h), kafka::DlqPublisher
// (kafka/dlq.h) and AnnouncementPublisher (publishers.h), IngestMetrics (metrics.h). The
// Ingester below is only the loop that joins them; it talks to Kafka through
// kafka::Consumer / kafka::Producer, so tests drive it with fakes and a ManualClock.
//
// Bad messages (no Confluent header, unknown schema id, an unreadable writer
// schema, invalid Avro, too late) go to the DLQ topic; they never stop the
// stage. After each object write an announcement goes to the windows topic.
#pragma once

#include "pfad/common/clock.h"
#include "pfad/common/config_file.h"
#include "pfad/common/settings.h"
#include "pfad/common/status.h"
#include "pfad/events/topics.h"
#include "pfad/ingest/lag.h"
#include "pfad/ingest/metrics.h"
#include "pfad/ingest/publishers.h"
#include "pfad/ingest/schemas.h"
#include "pfad/ingest/sink.h"
#include "pfad/ingest/window.h"
#include "pfad/ingest/window_writer.h"
#include "pfad/kafka/client.h"
#include "pfad/kafka/consumer.h"
#include "pfad/kafka/dlq.h"
#include "pfad/kafka/producer.h"
#include "pfad/storage/object_store.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace pfad::ingest {

struct IngestOptions {
  std::string bootstrap = "127.0.0.1:9092";
  std::string registry_url;  // Confluent-compatible base URL
  std::string topic{events::kEventsTopic};
  std::string group = "pfad-ingest";
  // Static group membership (group.instance.id): an ingester restarted with the
  // same id takes its partitions back at once instead of waiting for the
  // group to expel the dead member (session timeout, or up to 5 minutes when
  // it died while joining). Empty = dynamic membership.
  std::string instance_id;
  std::string dlq_topic;        // default <topic>.dlq
  std::string windows_topic;    // default <topic>.windows
  kafka::TopicDefaults topics;  // for creating the DLQ and windows topics when missing
  storage::ObjectUri
      sink;  // directory or s3://bucket[/prefix] of the object sink (may be unset with another sink)
  WindowOptions windows;
  int64_t row_group_rows = 262'144;
  // Reading pauses while this many events are held (open minutes and writes on their
  // way) and storage is what holds them up: bounds RSS in catch-up and in an outage.
  int64_t max_buffered_events = 2'000'000;
  kafka::Properties properties;  // librdkafka overrides, for consumer and producer
  int metrics_port = 0;          // 0 = no endpoint
  std::string metrics_host = "127.0.0.1";
  std::chrono::milliseconds connect_timeout{10'000};
  bool until_idle = false;  // exit once every partition is idle and every window is stored

  // Defaults, then the config file's [ingest] table (registry, sink), then the
  // environment (PFAD_REGISTRY_URL, PFAD_INGEST_SINK).
  static Result<IngestOptions> Resolve(const ConfigFile& file);
  // The rows Resolve reads (key, environment, default, unit, description); `pfad config` prints them.
  static const SettingsTable<IngestOptions>& Settings();
};

// Sets options' defaults that depend on others (DLQ and windows topic names).
IngestOptions WithDefaults(IngestOptions options);

// Validates options that need no network.
Status Validate(const IngestOptions& options);

// The librdkafka properties of the ingester's consumer and producer.
kafka::Properties ConsumerProperties(const IngestOptions& options);
kafka::Properties ProducerProperties(const IngestOptions& options);

class Ingester {
 public:
  // `consumer` must call OnRebalance on rebalances; nothing here owns the Kafka clients.
  Ingester(const IngestOptions& options, kafka::Consumer& consumer, kafka::Producer& producer,
           WriterSchemas& schemas, std::vector<std::unique_ptr<MinuteSink>> sinks,
           events::MinuteCalendar calendar, const Clock& clock, const std::atomic<bool>& stop);

  // Checks the topics and sinks, then subscribes.
  [[nodiscard]] Status Open();
  // One pass of the loop: consume a batch, close due windows, collect writes,
  // commit and measure lag when due. False once the run is over (stop, fatal
  // error, or with until_idle the input is drained).
  bool Step();
  // Finishes the writes in flight, commits, flushes, closes the consumer.
  Result<IngestStats> Finish();

  void OnRebalance(const kafka::Rebalance& rebalance);
  [[nodiscard]] const IngestMetrics& metrics() const { return metrics_; }
  [[nodiscard]] const MinuteWindows& windows() const { return windows_; }

 private:
  void Handle(const kafka::Message& msg, int64_t now);
  void SubmitDue(int64_t now);
  [[nodiscard]] bool StorageBehind(int64_t now);
  void PrepareAhead();
  void ProcessWrites(std::chrono::milliseconds wait);
  void DrainWrites();
  // Commits the committable offsets that moved; sync at rebalance and shutdown.
  void Commit(bool sync);
  void UpdateLag();
  // With until_idle: whether the group has stored everything in the partitions
  // this member does not hold (their committed offsets are at the end).
  bool OthersDrained();

  const IngestOptions& options_;
  kafka::Consumer& consumer_;
  kafka::Producer& producer_;
  WriterSchemas& schemas_;
  const Clock& clock_;
  const std::atomic<bool>& stop_;
  MinuteWindows windows_;
  WindowWriter writer_;
  kafka::DlqPublisher dlq_;
  AnnouncementPublisher announcer_;
  GroupProgress progress_;
  IngestMetrics metrics_;
  std::vector<kafka::Message> batch_;
  std::map<int32_t, int64_t> committed_;
  std::unordered_map<uint64_t, int64_t> prepared_;  // open window id -> events handed to Prepare
  int64_t write_backoff_until_ = 0;
  int64_t write_backoff_ms_ = 0;
  int64_t failed_writes_in_row_ = 0;  // since the last successful write
  static constexpr int64_t kMaxWriteBackoffMs = 10'000;
  double last_commit_ = 0, last_log_ = 0, last_lag_ = 0, last_drained_check_ = 0;
  bool lag_known_ = false;
  int32_t topic_partitions_ = 0;
  std::string waiting_for_;  // partitions OthersDrained() last found unfinished, for the log
  Status fatal_;
};

// Consumes until `stop` turns true (or, with until_idle, the input is drained),
// then commits what is stored and returns. Fails only when the stage cannot go
// on: the broker, the topics or a sink are unreachable at start, or the DLQ
// refuses a message. Offsets are committed once every sink stored the events.
Result<IngestStats> Run(const IngestOptions& options, std::vector<std::unique_ptr<MinuteSink>> sinks,
                        const std::atomic<bool>& stop, const Clock& clock);
// The same with one sink, the object store at options.sink.
Result<IngestStats> Run(const IngestOptions& options, std::shared_ptr<storage::ObjectStore> store,
                        const std::atomic<bool>& stop, const Clock& clock);

}  // namespace pfad::ingest
