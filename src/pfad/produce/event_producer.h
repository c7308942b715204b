// The pipeline's source (docs/DESIGN.md, "Kafka topics"): generated events produced to
// Kafka as Confluent-framed Avro, keyed by the 16 raw bytes of user_id.
//
// Each worker is a thread with its own librdkafka producer (acks=all,
// idempotence on, snappy, batch.size 32768, linger.ms 20 unless overridden)
// and its own generator, seeded from --seed and the worker index, so the same
// seed and worker count give the same events. The schema is registered once
// (or found) under <topic>-value; nothing is re-registered per message.
// Delivery failures are counted, logged and reported; nothing is dropped silently.
//
// With a fraud share, each worker's generator is a gen::TrafficMix (labelled
// actors mixed into the reference stream, docs/FRAUD.md section 1) and the
// labels go to topic <topic>.labels as JSON (events::LabelToJson), key = the
// entity id text: one message per entity when its actor ends, and for the
// actors still running when produce stops. That topic is created when missing,
// with the event topic's partitions; produce fails before sending any event when
// the broker refuses.
#pragma once

#include "pfad/common/clock.h"
#include "pfad/common/config_file.h"
#include "pfad/common/settings.h"
#include "pfad/common/status.h"
#include "pfad/events/event.h"
#include "pfad/events/labels.h"
#include "pfad/events/topics.h"
#include "pfad/kafka/client.h"
#include "pfad/metrics/metrics.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace pfad::produce {

struct ProduceMetrics;

struct ProduceOptions {
  std::string bootstrap = "127.0.0.1:9092";
  std::string registry_url;  // Confluent-compatible base URL
  std::string topic{events::kEventsTopic};
  int workers = 1;
  double rate = 0;                                    // events/s over all workers; 0 = as fast as possible
  std::optional<int64_t> count;                       // stop after this many events
  std::optional<std::chrono::milliseconds> duration;  // stop after this long
  uint64_t seed = 0;
  // Backfill: timestamps spread evenly over `minutes` minutes from `start_time_ms`
  // (default: that many minutes before now, on a minute boundary). Needs `count`.
  std::optional<int64_t> start_time_ms;
  int64_t minutes = 0;
  // Set: labelled actors make up about this share of users (0 <= share < 1).
  std::optional<double> fraud_share;
  kafka::Properties properties;                       // librdkafka overrides (-X key=value)
  std::chrono::milliseconds connect_timeout{10'000};  // to reach the broker at start
  kafka::TopicDefaults topics;                        // for creating the labels topic when missing
  // Where the producer's metrics go (ProduceMetrics); null = not measured.
  std::shared_ptr<ProduceMetrics> metrics;

  // Defaults <- [produce] bootstrap / registry / topic / connect_timeout_s and
  // the [kafka] table (librdkafka properties) of the config file <-
  // PFAD_KAFKA_BOOTSTRAP / PFAD_REGISTRY_URL.
  static Result<ProduceOptions> Resolve(const ConfigFile& file);
  // The rows Resolve reads (key, environment, default, unit, description); `pfad config` prints them.
  static const SettingsTable<ProduceOptions>& Settings();
};

struct ProduceStats {
  int64_t generated = 0;
  int64_t delivered = 0;  // events
  int64_t failed = 0;     // events and labels
  int64_t labels_delivered = 0;
  double seconds = 0;
  // Enqueue-to-acknowledgement latency of delivered events, milliseconds.
  double latency_p50_ms = 0;
  double latency_p99_ms = 0;
  double latency_max_ms = 0;
};

// The producer's metrics (docs/OPERATIONS.md, "Metrics reference"): counters
// brought up to date about twice a second from the workers' own counts, the
// delivery latency observed per acknowledgement into one histogram per worker
// (label `worker`, bounded by --workers: no lock shared between workers).
struct ProduceMetrics {
  explicit ProduceMetrics(std::shared_ptr<metrics::Registry> registry);
  std::shared_ptr<metrics::Registry> registry;
  metrics::Count generated, delivered, errors, bytes, labels_delivered;
  prometheus::Family<prometheus::Histogram>& latency;
  // /health: not ready while deliveries fail and none succeed.
  std::atomic<int64_t> recent_delivered{0}, recent_errors{0};
  std::atomic<bool> connected{false};
  [[nodiscard]] metrics::CheckResult Health() const;
};

// The librdkafka properties a worker starts from (defaults, then overrides).
kafka::Properties ProducerProperties(const ProduceOptions& options, int worker);

// Validates options that need no network (counts, rates, properties).
Status Validate(const ProduceOptions& options);

// The events the workers would send, in per-worker order, without Kafka: the
// same events for the same options. Calls `sink(worker, event)` for each, and
// `label_sink(worker, label)` for each label when Run would send it.
Status GenerateOnly(const ProduceOptions& options, const Clock& clock,
                    const std::function<void(int, const events::Event&)>& sink,
                    const std::function<void(int, const events::FraudLabel&)>& label_sink = nullptr);

// Produces until count/duration is reached or `stop` turns true, then flushes.
// `progress` is called about twice a second from the calling thread.
Result<ProduceStats> Run(const ProduceOptions& options, const std::atomic<bool>& stop, const Clock& clock,
                         const std::function<void(const ProduceStats&)>& progress);

}  // namespace pfad::produce
