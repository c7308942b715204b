// `pfad labels consume`: fills the labels store (label_store.h) from the labels topic and,
// optionally, the dashboard's review verdicts (reviews.h), each label exactly once as read.
//
// It is a process of its own, not a side stream of the ingester: labels come at their own
// rate (a chargeback weeks after the events), fail in their own ways (a bad message from an
// outside system) and must keep flowing while the ingester is redeployed.
//
// How "exactly once" holds with at-least-once delivery (the labels topic, group pfad-labels):
// - a batch (up to batch_messages, or batch_time, or until the topic is idle) is parsed; a
//   message that is no label goes to `<labels topic>.dlq` with the DLQ headers
//   (kafka/dlq.h, kind "invalid-label"); the labels of each partition are written as one
//   object per UTC day named `kafka-<partition>-<first offset>-<last offset>`, each with
//   ref "<topic>/<partition>/<offset>";
// - only then, and once the DLQ producer has nothing in flight, are the offsets committed
//   (sync). A failed write is retried with backoff; nothing is committed past it;
// - a crash between write and commit re-reads the batch and writes it again (the same
//   object, or another with refs already stored): the store's readers keep one row per ref,
//   so every label counts once.
// Reviews resume after the highest review id in the store's stems (reviews.h).
#pragma once

#include "pfad/common/clock.h"
#include "pfad/common/config_file.h"
#include "pfad/common/settings.h"
#include "pfad/common/status.h"
#include "pfad/events/topics.h"
#include "pfad/kafka/client.h"
#include "pfad/kafka/consumer.h"
#include "pfad/kafka/dlq.h"
#include "pfad/kafka/producer.h"
#include "pfad/labels/reviews.h"
#include "pfad/storage/object_store.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pfad::labels {

struct LabelsOptions {
  std::string bootstrap = "127.0.0.1:9092";
  std::string topic{events::kEventsTopic};  // the events topic: labels are read from <topic>.labels
  std::string group = "pfad-labels";
  std::string prefix;  // where the labels store is: directory, file:// or s3://bucket/prefix
  int64_t batch_messages = 10'000;
  std::chrono::milliseconds batch_time{1000};
  std::string dashboard_url;  // "" = no reviews
  std::string dashboard_token;
  std::string dashboard_ca;
  std::chrono::milliseconds review_poll{2000};
  std::chrono::milliseconds connect_timeout{10'000};
  bool once = false;             // stop once the topic (as it was at start) and the reviews are taken
  kafka::Properties properties;  // librdkafka overrides, for consumer and producer
  kafka::TopicDefaults topics;   // for creating the DLQ topic when missing

  [[nodiscard]] std::string LabelsTopic() const { return events::LabelsTopic(topic); }
  [[nodiscard]] std::string DlqTopic() const { return events::DlqTopic(LabelsTopic()); }

  // Defaults, then the config file's [labels] table, then the environment
  // (PFAD_LABELS_PREFIX, PFAD_DASHBOARD_READ_TOKEN / PFAD_DASHBOARD_TOKEN, PFAD_DASHBOARD_CA);
  // the [kafka] properties and [topics] defaults.
  static Result<LabelsOptions> Resolve(const ConfigFile& file);
  // The rows Resolve reads; `pfad config` prints them.
  static const SettingsTable<LabelsOptions>& Settings();
};

// Invalid when a setting cannot work (no prefix, an empty topic, a batch of nothing, ...).
Status Validate(const LabelsOptions& options);
kafka::Properties ConsumerProperties(const LabelsOptions& options);
kafka::Properties ProducerProperties(const LabelsOptions& options);

// "kafka-<partition>-<first offset, 20 digits>-<last offset, 20 digits>". Both ends: an object
// is only ever replaced by one of the same messages (offsets never change), so a consumer that
// reads a range again in other batches (after a crash, or a zombie member still writing after
// a rebalance) adds objects and never shrinks one holding committed labels.
std::string KafkaStem(int32_t partition, int64_t first_offset, int64_t last_offset);

struct LabelsStats {
  int64_t messages = 0;        // read from the labels topic
  int64_t labels_written = 0;  // labels from the topic written (a re-read batch counts again)
  int64_t dlq = 0;
  int64_t reviews = 0;          // reviews taken as labels
  int64_t reviews_refused = 0;  // reviews that were no label (logged)
  int64_t batches = 0;
  int64_t objects_written = 0;
  int64_t write_failures = 0;
};

class LabelConsumer {
 public:
  // `reviews` may be null (no dashboard). Nothing here owns the clients or the store.
  LabelConsumer(const LabelsOptions& options, kafka::Consumer& consumer, kafka::Producer& producer,
                const storage::ObjectStore& store, storage::ObjectUri prefix, ReviewSource* reviews,
                const Clock& clock, const std::atomic<bool>& stop);

  // Checks the topic, the store and the DLQ topic, finds where reviews resume, subscribes;
  // with `once`, notes the ends of the topic's partitions.
  [[nodiscard]] Status Open();
  // One batch: read, write, commit; reviews when due. False once the run is over (stop,
  // a fatal error, or with `once` everything is taken).
  bool Step();
  // Writes and commits what was read, closes the consumer; the run's error, else the counts.
  Result<LabelsStats> Finish();

  void OnRebalance(const kafka::Rebalance& rebalance);
  [[nodiscard]] const LabelsStats& stats() const { return stats_; }

 private:
  // Polls until the batch is full, batch_time has passed or the topic is idle.
  void Collect();
  // Parses, DLQs, writes and commits the batch (retrying the write). False when the batch
  // could not be finished (stop during a retry, or a fatal error).
  bool FlushBatch();
  [[nodiscard]] Status WaitForDlq();
  // With `once`: every partition's committed offset is at its end as it was at Open.
  bool CaughtUp();
  void ReachedOffset(int32_t partition, int64_t committed);
  // With `once`: takes the reviews there are now, retrying until connect_timeout.
  void DrainReviews();

  const LabelsOptions& options_;
  kafka::Consumer& consumer_;
  kafka::Producer& producer_;
  const storage::ObjectStore& store_;
  storage::ObjectUri prefix_;
  const Clock& clock_;
  const std::atomic<bool>& stop_;
  std::string labels_topic_;
  kafka::DlqPublisher dlq_;
  std::optional<ReviewPoller> reviews_;
  std::vector<kafka::Message> batch_, polled_;
  std::map<int32_t, int64_t> targets_;  // with `once`: partition -> its end at Open
  double last_caught_up_check_ = -1e18;
  int64_t write_failures_in_row_ = 0;
  LabelsStats stats_;
  Status fatal_;
  static constexpr int64_t kMaxWriteBackoffMs = 10'000;
};

// The composition root: the store at options.prefix (with `storage`), the Kafka clients, the
// dashboard's reviews when a URL is given, then LabelConsumer until `stop` (or, with `once`,
// until everything is taken). Fails at start when the broker, the labels topic or the store
// cannot be reached.
Result<LabelsStats> Run(const LabelsOptions& options, const storage::StorageConfig& storage,
                        const std::atomic<bool>& stop, const Clock& clock);

}  // namespace pfad::labels
