#include "pfad/produce/event_producer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "pfad/common/log.h"
#include "pfad/events/avro.h"
#include "pfad/gen/traffic_mix.h"
#include "pfad/kafka/error.h"
#include "pfad/kafka/producer.h"
#include "pfad/kafka/registry.h"
#include "pfad/produce/latency_histogram.h"

namespace pfad::produce {
namespace {

using SteadyClock = std::chrono::steady_clock;

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

// What the delivery reports of one worker update (only from that worker's thread;
// labels_delivered is read by the progress reporter too).
struct Deliveries {
  std::string labels_topic;
  LatencyHistogram latency;
  std::atomic<int64_t> labels_delivered{0};
  std::atomic<int64_t> bytes{0};                     // keys and values queued
  prometheus::Histogram* latency_seconds = nullptr;  // this worker's, when measured
  int logged_failures = 0;

  void On(const kafka::DeliveryReport& report) {
    const bool label = report.topic == labels_topic;
    if (label && report.error.ok()) {
      labels_delivered.fetch_add(1, std::memory_order_relaxed);
    } else if (report.error.ok()) {
      const int64_t nanos = SteadyNanos() - reinterpret_cast<intptr_t>(report.opaque);
      latency.Add(nanos);
      if (latency_seconds != nullptr) latency_seconds->Observe(static_cast<double>(nanos) / 1e9);
    } else if (logged_failures++ < 10) {
      Logger("produce")->error("delivery failed: topic={} partition={} error={}", report.topic,
                               report.partition, report.error.message());
    }
  }
};

uint64_t WorkerSeed(uint64_t seed, int worker) {
  // Distinct, reproducible streams per worker; worker 0 uses the seed itself.
  return seed + static_cast<uint64_t>(worker) * 0x9E3779B97F4A7C15ULL;
}

// One worker's events: the reference stream, with labelled actors when a fraud share is set.
Result<std::unique_ptr<gen::TrafficMix>> WorkerMix(const ProduceOptions& options, int worker) {
  return gen::TrafficMix::Make({.reference = {.seed = WorkerSeed(options.seed, worker)},
                                .fraud_share = options.fraud_share.value_or(0),
                                .labels = gen::LabelCollection::kPerActor});
}

// Queues one label for the labels topic, waiting while the local queue is full.
// Returns false on a fatal error.
bool SendLabel(kafka::Producer& producer, const std::string& topic, const events::FraudLabel& label,
               std::string& error) {
  const std::string key = label.entity_id.ToString();
  const std::string value = events::LabelToJson(label);
  while (true) {
    const Status st = producer.Produce(topic, {.key = key, .value = value});
    if (st.ok()) return true;
    if (!kafka::IsRetriable(st)) {
      error = st.message();
      return false;
    }
    producer.Poll(std::chrono::milliseconds(20));
  }
}

// Worker w's share of `total`.
int64_t Share(int64_t total, int workers, int w) { return total / workers + (w < total % workers ? 1 : 0); }

// Timestamp source of one worker: live wall clock, or spread over a backfill window.
// Unpaced, the live clock is read every 8th event (microseconds apart at full
// speed; the stamps are milliseconds).
class Timestamps {
 public:
  Timestamps(const ProduceOptions& options, const Clock& clock, int64_t share)
      : clock_(clock), share_(share), read_every_(options.rate > 0 ? 1 : 8) {
    if (options.start_time_ms || options.minutes > 0) {
      backfill_ = true;
      const int64_t minutes = std::max<int64_t>(1, options.minutes);
      span_ms_ = minutes * 60'000;
      start_ms_ =
          options.start_time_ms ? *options.start_time_ms : (clock.NowMillis() / 60'000) * 60'000 - span_ms_;
    }
  }
  int64_t At(int64_t index) {
    if (!backfill_) {
      if (index % read_every_ == 0) now_ms_ = clock_.NowMillis();
      return now_ms_;
    }
    return start_ms_ + index * span_ms_ / std::max<int64_t>(1, share_);
  }

 private:
  const Clock& clock_;
  int64_t share_;
  int64_t read_every_;
  int64_t now_ms_ = 0;
  bool backfill_ = false;
  int64_t start_ms_ = 0;
  int64_t span_ms_ = 0;
};

// Events waiting to be handed to the producer, a partition's batch at a time
// (one ProduceBatch call per batch instead of one Produce per event). With the
// default partitioner (murmur2_random) partitions are chosen here with the same
// hashing, so a user's partition is the one every client computes; with another
// configured partitioner, one batch goes unpartitioned and the producer's
// partitioner places each event.
class PartitionBatches {
 public:
  static constexpr size_t kBatch = 64;

  // `partitions` = 0: let the configured partitioner choose.
  PartitionBatches(kafka::Producer& producer, std::string topic, int32_t partitions)
      : producer_(producer),
        topic_(std::move(topic)),
        partitions_(partitions),
        batches_(static_cast<size_t>(std::max(1, partitions))) {}

  // Queues one event (key = 16 UUID bytes, value = the framed Avro body); hands
  // its partition's batch over when it is full. Returns false on a fatal error.
  bool Add(const uint8_t* key, const std::string& value, std::atomic<int64_t>& generated,
           std::string& error) {
    const std::string_view key_view(reinterpret_cast<const char*>(key), 16);
    const int32_t p = partitions_ > 0 ? producer_.PartitionFor(topic_, key_view, partitions_) : 0;
    Batch& b = batches_[static_cast<size_t>(p)];
    b.items.push_back({b.bytes.size(), value.size()});
    b.bytes.append(key_view);
    b.bytes.append(value);
    if (b.items.size() < kBatch) return true;
    return Send(p, generated, error);
  }

  // Hands every partial batch over.
  bool SendAll(std::atomic<int64_t>& generated, std::string& error) {
    for (int32_t p = 0; p < static_cast<int32_t>(batches_.size()); ++p) {
      if (!batches_[static_cast<size_t>(p)].items.empty() && !Send(p, generated, error)) return false;
    }
    return true;
  }

 private:
  struct Item {
    size_t offset;  // of the key; the value follows it
    size_t value_size;
  };
  struct Batch {
    std::string bytes;
    std::vector<Item> items;
  };

  bool Send(int32_t index, std::atomic<int64_t>& generated, std::string& error) {
    Batch& b = batches_[static_cast<size_t>(index)];
    const int32_t partition = partitions_ > 0 ? index : kafka::kAnyPartition;
    messages_.resize(b.items.size());
    // Latency counts from here, where the batch is handed to the producer.
    const auto enqueued = reinterpret_cast<void*>(static_cast<intptr_t>(SteadyNanos()));
    for (size_t i = 0; i < b.items.size(); ++i) {
      const Item& it = b.items[i];
      messages_[i] = {.key = std::string_view(b.bytes.data() + it.offset, 16),
                      .value = std::string_view(b.bytes.data() + it.offset + 16, it.value_size),
                      .opaque = enqueued};
    }
    std::span<const kafka::OutgoingMessage> rest(messages_);
    while (!rest.empty()) {
      Status st;
      const size_t queued = producer_.ProduceBatch(topic_, partition, rest, st);
      generated.fetch_add(static_cast<int64_t>(queued), std::memory_order_relaxed);
      rest = rest.subspan(queued);
      if (rest.empty()) break;
      if (!kafka::IsRetriable(st)) {  // a full local queue is retriable: wait for deliveries
        error = st.message();
        return false;
      }
      producer_.Poll(std::chrono::milliseconds(20));
    }
    producer_.Poll(std::chrono::milliseconds(0));
    b.items.clear();
    b.bytes.clear();
    return true;
  }

  kafka::Producer& producer_;
  std::string topic_;
  int32_t partitions_;
  std::vector<Batch> batches_;
  std::vector<kafka::OutgoingMessage> messages_;
};

}  // namespace

kafka::Properties ProducerProperties(const ProduceOptions& options, int worker) {
  kafka::Properties p = {
      {"bootstrap.servers", options.bootstrap},
      {"acks", "all"},
      {"enable.idempotence", "true"},
      {"compression.type", "snappy"},
      {"batch.size", "32768"},
      {"linger.ms", "20"},
      // Java clients' key hashing, so every client puts a user in the same partition.
      {"partitioner", "murmur2_random"},
      {"client.id", "pfad-produce-" + std::to_string(worker)},
  };
  for (const auto& [k, v] : options.properties) p[k] = v;
  return p;
}

Status Validate(const ProduceOptions& options) {
  if (options.workers < 1) return Status::Invalid("--workers must be at least 1");
  if (options.fraud_share && !(*options.fraud_share >= 0 && *options.fraud_share < 1)) {
    return Status::Invalid("--fraud must be >= 0 and < 1, got ", *options.fraud_share);
  }
  if (options.rate < 0) return Status::Invalid("--rate must be >= 0");
  if (options.count && *options.count < 0) return Status::Invalid("--count must be >= 0");
  if (options.minutes < 0) return Status::Invalid("--minutes must be >= 0");
  if ((options.start_time_ms || options.minutes > 0) && !options.count) {
    return Status::Invalid("backfill (--start-time/--minutes) needs --count: how many events to spread");
  }
  return kafka::CheckProperties(ProducerProperties(options, 0));
}

Status GenerateOnly(const ProduceOptions& options, const Clock& clock,
                    const std::function<void(int, const events::Event&)>& sink,
                    const std::function<void(int, const events::FraudLabel&)>& label_sink) {
  PFAD_RETURN_NOT_OK(Validate(options));
  if (!options.count) return Status::Invalid("generating without Kafka needs --count");
  for (int w = 0; w < options.workers; ++w) {
    const int64_t share = Share(*options.count, options.workers, w);
    PFAD_ASSIGN_OR_RAISE(auto mix, WorkerMix(options, w));
    Timestamps stamps(options, clock, share);
    for (int64_t i = 0; i < share; ++i) {
      sink(w, mix->Next(stamps.At(i)));
      for (const auto& label : mix->TakeEndedLabels()) {
        if (label_sink) label_sink(w, label);
      }
    }
    for (const auto& label : mix->ActiveLabels()) {
      if (label_sink) label_sink(w, label);
    }
  }
  return Status::OK();
}

Result<ProduceStats> Run(const ProduceOptions& options, const std::atomic<bool>& stop, const Clock& clock,
                         const std::function<void(const ProduceStats&)>& progress) {
  PFAD_RETURN_NOT_OK(Validate(options));
  auto log = Logger("produce");

  kafka::SchemaRegistryClient registry({.url = options.registry_url});
  if (options.registry_url.empty())
    return Status::Invalid("no schema registry: set --registry or PFAD_REGISTRY_URL");
  PFAD_ASSIGN_OR_RAISE(const int32_t schema_id,
                       registry.Register(options.topic + "-value", events::EventAvroSchema()));
  log->info("schema id {} for subject {}-value", schema_id, options.topic);

  // One producer per worker, all connected before any event is generated.
  std::vector<std::unique_ptr<Deliveries>> deliveries;
  std::vector<std::unique_ptr<kafka::Producer>> producers;
  int32_t partitions = 0;
  const std::string labels_topic = options.fraud_share ? events::LabelsTopic(options.topic) : std::string();
  for (int w = 0; w < options.workers; ++w) {
    deliveries.push_back(std::make_unique<Deliveries>());
    deliveries.back()->labels_topic = labels_topic;
    if (options.metrics) {
      deliveries.back()->latency_seconds =
          &options.metrics->latency.Add({{"worker", std::to_string(w)}}, metrics::SecondsBuckets());
    }
    PFAD_ASSIGN_OR_RAISE(
        auto producer,
        kafka::Producer::Make(ProducerProperties(options, w),
                              [d = deliveries.back().get()](const kafka::DeliveryReport& r) { d->On(r); }));
    if (w == 0) {
      PFAD_ASSIGN_OR_RAISE(partitions, producer->WaitForTopic(options.topic, options.connect_timeout));
      if (!labels_topic.empty()) {
        // Created when missing, with the event topic's partitions (labels are keyed like events).
        if (auto labels = producer->EnsureTopic(labels_topic, partitions, options.topics.replication_factor,
                                                options.connect_timeout);
            !labels.ok()) {
          return labels.status().WithMessage("--fraud sends labels to topic '", labels_topic,
                                             "': ", labels.status().message());
        }
      }
    }
    producers.push_back(std::move(producer));
  }

  std::atomic<int64_t> generated{0};
  std::atomic<bool> fatal{false};
  std::mutex fatal_mutex;
  std::string fatal_reason;
  const auto started = SteadyClock::now();
  const double worker_rate = options.rate / options.workers;

  const auto work = [&](int w) {
    kafka::Producer& producer = *producers[static_cast<size_t>(w)];
    const auto fail = [&](std::string reason) {
      std::lock_guard lock(fatal_mutex);
      fatal_reason = std::move(reason);
      fatal.store(true);
    };
    const auto partitioner = ProducerProperties(options, w).at("partitioner");
    PartitionBatches batches(producer, options.topic, partitioner == "murmur2_random" ? partitions : 0);
    std::string error;
    const int64_t share = options.count ? Share(*options.count, options.workers, w) : INT64_MAX;
    auto mix = WorkerMix(options, w);
    if (!mix.ok()) return fail(mix.status().message());
    Timestamps stamps(options, clock, share);
    std::string frame;
    const bool timed = options.duration.has_value() || worker_rate > 0;
    for (int64_t i = 0; i < share && !stop.load(std::memory_order_relaxed) && !fatal.load(); ++i) {
      const auto now = timed ? SteadyClock::now() : SteadyClock::time_point();
      if (options.duration && now - started >= *options.duration) break;
      if (worker_rate > 0) {
        const auto due = started + std::chrono::duration_cast<SteadyClock::duration>(
                                       std::chrono::duration<double>(static_cast<double>(i) / worker_rate));
        if (now < due && !batches.SendAll(generated, error))
          return fail(error);  // nothing waits while we wait
        while (SteadyClock::now() < due && !stop.load(std::memory_order_relaxed)) {
          producer.Poll(std::chrono::milliseconds(0));
          std::this_thread::sleep_until(std::min(due, SteadyClock::now() + std::chrono::milliseconds(5)));
        }
      }
      const events::Event e = (*mix)->Next(stamps.At(i));
      frame.clear();
      events::AppendConfluentHeader(schema_id, frame);
      events::AppendAvro(e, frame);
      if (!batches.Add(e.user_id.bytes.data(), frame, generated, error)) return fail(error);
      deliveries[static_cast<size_t>(w)]->bytes.fetch_add(static_cast<int64_t>(16 + frame.size()),
                                                          std::memory_order_relaxed);
      for (const auto& label : (*mix)->TakeEndedLabels()) {
        if (!SendLabel(producer, labels_topic, label, error)) return fail(error);
      }
    }
    if (!batches.SendAll(generated, error)) return fail(error);
    if (!fatal.load()) {
      for (const auto& label : (*mix)->ActiveLabels()) {
        if (!SendLabel(producer, labels_topic, label, error)) return fail(error);
      }
    }
    // Flush: wait for every queued event's acknowledgement (or its final failure).
    while (producer.in_flight() > 0) {
      (void)producer.Flush(std::chrono::milliseconds(500));  // in flight after the wait: go on waiting
      if (Status st = producer.FatalError(); !st.ok()) {
        fail(st.message());
        break;
      }
    }
  };

  const auto snapshot = [&](SteadyClock::time_point at) {
    ProduceStats s;
    s.generated = generated.load();
    // Labels first: a producer counts a delivery before its handler counts it as a label.
    for (const auto& d : deliveries)
      s.labels_delivered += d->labels_delivered.load(std::memory_order_relaxed);
    for (const auto& p : producers) {
      s.delivered += p->delivered();
      s.failed += p->failed();
    }
    s.delivered -= s.labels_delivered;
    s.seconds = std::chrono::duration<double>(at - started).count();
    return s;
  };

  // The counters move by what the workers counted since the last time.
  ProduceStats published;
  int64_t published_bytes = 0;
  const auto publish = [&](const ProduceStats& s) {
    if (!options.metrics) return;
    ProduceMetrics& m = *options.metrics;
    int64_t bytes = 0;
    for (const auto& d : deliveries) bytes += d->bytes.load(std::memory_order_relaxed);
    m.generated += s.generated - published.generated;
    m.delivered += s.delivered - published.delivered;
    m.errors += s.failed - published.failed;
    m.labels_delivered += s.labels_delivered - published.labels_delivered;
    m.bytes += bytes - published_bytes;
    m.recent_delivered = s.delivered - published.delivered;
    m.recent_errors = s.failed - published.failed;
    published = s;
    published_bytes = bytes;
  };
  if (options.metrics) options.metrics->connected = true;

  SteadyClock::time_point finished;
  {
    std::vector<std::jthread> threads;
    for (int w = 0; w < options.workers; ++w) threads.emplace_back(work, w);
    std::mutex done_mutex;
    std::condition_variable done_cv;
    bool done = false;
    std::jthread reporter([&] {
      std::unique_lock lock(done_mutex);
      while (!done_cv.wait_for(lock, std::chrono::milliseconds(500), [&] { return done; })) {
        const ProduceStats s = snapshot(SteadyClock::now());
        publish(s);
        if (progress) progress(s);
      }
    });
    for (auto& t : threads) t.join();
    finished = SteadyClock::now();  // the last acknowledgement is in
    {
      std::lock_guard lock(done_mutex);
      done = true;
    }
    done_cv.notify_all();
  }

  ProduceStats stats = snapshot(finished);
  publish(stats);
  LatencyHistogram latency;
  for (const auto& d : deliveries) latency.Merge(d->latency);
  stats.latency_p50_ms = latency.PercentileMs(0.50);
  stats.latency_p99_ms = latency.PercentileMs(0.99);
  stats.latency_max_ms = latency.MaxMs();
  producers.clear();  // destroy the producers before their delivery state
  if (fatal.load()) {
    return Status::IOError("Kafka producer failed: ", fatal_reason, " (", stats.delivered, " delivered, ",
                           stats.generated - stats.delivered, " not)");
  }
  return stats;
}

ProduceMetrics::ProduceMetrics(std::shared_ptr<metrics::Registry> given)
    : registry(given ? std::move(given) : std::make_shared<metrics::Registry>()),
      generated(metrics::CounterFamily(*registry, "pfad_produce_events_generated_total",
                                       "Events generated and handed to the Kafka producer.")
                    .Add({})),
      delivered(metrics::CounterFamily(*registry, "pfad_produce_events_delivered_total",
                                       "Events the brokers acknowledged.")
                    .Add({})),
      errors(metrics::CounterFamily(*registry, "pfad_produce_delivery_errors_total",
                                    "Messages (events and labels) whose delivery failed for good.")
                 .Add({})),
      bytes(metrics::CounterFamily(*registry, "pfad_produce_bytes_total",
                                   "Key and value bytes of the events handed to the producer.")
                .Add({})),
      labels_delivered(metrics::CounterFamily(*registry, "pfad_produce_labels_delivered_total",
                                              "Fraud labels the brokers acknowledged (--fraud).")
                           .Add({})),
      latency(metrics::HistogramFamily(*registry, "pfad_produce_delivery_latency_seconds",
                                       "Seconds from handing an event to the producer until the brokers "
                                       "acknowledged it, per worker.")) {}

metrics::CheckResult ProduceMetrics::Health() const {
  if (!connected) return {false, "connecting to Kafka"};
  const int64_t failed = recent_errors.load();
  if (failed > 0 && recent_delivered.load() == 0) {
    return {false, fmt::format("{} deliveries failed in the last half second and none succeeded", failed)};
  }
  return {true, fmt::format("{} events delivered", delivered.load())};
}

}  // namespace pfad::produce
