#include "pfad/produce/producer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <mutex>
#include <thread>
#include <vector>

#include "pfad/common/log.h"
#include "pfad/events/avro.h"
#include "pfad/events/generator.h"
#include "pfad/kafka/registry.h"

namespace pfad::produce {
namespace {

using SteadyClock = std::chrono::steady_clock;

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

// Delivery latencies in log-spaced buckets (about 2% wide), from 1 µs to ~100 s.
class LatencyHistogram {
 public:
  void Add(int64_t nanos) {
    const double us = std::max(1.0, static_cast<double>(nanos) / 1000.0);
    const auto bucket = static_cast<size_t>(std::min<double>(kBuckets - 1, std::log(us) / kLogStep));
    ++counts_[bucket];
    max_ns_ = std::max(max_ns_, nanos);
  }
  void Merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    max_ns_ = std::max(max_ns_, other.max_ns_);
  }
  [[nodiscard]] double PercentileMs(double p) const {
    int64_t total = 0;
    for (auto c : counts_) total += c;
    if (total == 0) return 0;
    const auto rank = static_cast<int64_t>(std::ceil(p * static_cast<double>(total)));
    int64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::exp((static_cast<double>(i) + 0.5) * kLogStep) / 1000.0;
    }
    return MaxMs();
  }
  [[nodiscard]] double MaxMs() const { return static_cast<double>(max_ns_) / 1e6; }

 private:
  static constexpr size_t kBuckets = 1000;
  static constexpr double kLogStep = 0.02;
  std::array<int64_t, kBuckets> counts_{};
  int64_t max_ns_ = 0;
};

// What the delivery callback of one worker updates (only from that worker's thread).
struct Deliveries {
  std::atomic<int64_t> delivered{0};
  std::atomic<int64_t> failed{0};
  LatencyHistogram latency;
  int logged_failures = 0;
};

void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* opaque) {
  auto* d = static_cast<Deliveries*>(opaque);
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    d->delivered.fetch_add(1, std::memory_order_relaxed);
    d->latency.Add(SteadyNanos() - reinterpret_cast<intptr_t>(msg->_private));
  } else {
    d->failed.fetch_add(1, std::memory_order_relaxed);
    if (d->logged_failures++ < 10) {
      Logger("produce")->error("delivery failed: topic={} partition={} error={}",
                               rd_kafka_topic_name(msg->rkt), msg->partition, rd_kafka_err2str(msg->err));
    }
  }
}

uint64_t WorkerSeed(uint64_t seed, int worker) {
  // Distinct, reproducible streams per worker; worker 0 uses the seed itself.
  return seed + static_cast<uint64_t>(worker) * 0x9E3779B97F4A7C15ULL;
}

// Worker w's share of `total`.
int64_t Share(int64_t total, int workers, int w) { return total / workers + (w < total % workers ? 1 : 0); }

// Timestamp source of one worker: live wall clock, or spread over a backfill window.
class Timestamps {
 public:
  Timestamps(const ProduceOptions& options, const Clock& clock, int64_t share) : clock_(clock), share_(share) {
    if (options.start_time_ms || options.minutes > 0) {
      backfill_ = true;
      const int64_t minutes = std::max<int64_t>(1, options.minutes);
      span_ms_ = minutes * 60'000;
      start_ms_ = options.start_time_ms ? *options.start_time_ms
                                        : (clock.NowMillis() / 60'000) * 60'000 - span_ms_;
    }
  }
  int64_t At(int64_t index) const {
    if (!backfill_) return clock_.NowMillis();
    return start_ms_ + index * span_ms_ / std::max<int64_t>(1, share_);
  }

 private:
  const Clock& clock_;
  int64_t share_;
  bool backfill_ = false;
  int64_t start_ms_ = 0;
  int64_t span_ms_ = 0;
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
  if (options.rate < 0) return Status::Invalid("--rate must be >= 0");
  if (options.count && *options.count < 0) return Status::Invalid("--count must be >= 0");
  if (options.minutes < 0) return Status::Invalid("--minutes must be >= 0");
  if ((options.start_time_ms || options.minutes > 0) && !options.count) {
    return Status::Invalid("backfill (--start-time/--minutes) needs --count: how many events to spread");
  }
  return kafka::MakeConf(ProducerProperties(options, 0)).status();
}

Status GenerateOnly(const ProduceOptions& options, const Clock& clock,
                    const std::function<void(int, const events::Event&)>& sink) {
  PFAD_RETURN_NOT_OK(Validate(options));
  if (!options.count) return Status::Invalid("generating without Kafka needs --count");
  for (int w = 0; w < options.workers; ++w) {
    const int64_t share = Share(*options.count, options.workers, w);
    events::EventGenerator generator({.seed = WorkerSeed(options.seed, w)});
    const Timestamps stamps(options, clock, share);
    for (int64_t i = 0; i < share; ++i) sink(w, generator.Next(stamps.At(i)));
  }
  return Status::OK();
}

Result<ProduceStats> Run(const ProduceOptions& options, const std::atomic<bool>& stop, const Clock& clock,
                         const std::function<void(const ProduceStats&)>& progress) {
  PFAD_RETURN_NOT_OK(Validate(options));
  auto log = Logger("produce");

  kafka::SchemaRegistryClient registry({.url = options.registry_url});
  if (options.registry_url.empty()) return Status::Invalid("no schema registry: set --registry or PFAD_REGISTRY_URL");
  PFAD_ASSIGN_OR_RAISE(const int32_t schema_id, registry.Register(options.topic + "-value", events::EventAvroSchema()));
  log->info("schema id {} for subject {}-value", schema_id, options.topic);

  // One producer per worker, all connected before any event is generated.
  std::vector<std::unique_ptr<Deliveries>> deliveries;
  std::vector<kafka::HandlePtr> producers;
  for (int w = 0; w < options.workers; ++w) {
    deliveries.push_back(std::make_unique<Deliveries>());
    PFAD_ASSIGN_OR_RAISE(auto conf, kafka::MakeConf(ProducerProperties(options, w)));
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &OnDelivery);
    rd_kafka_conf_set_opaque(conf.get(), deliveries.back().get());
    char err[512];
    kafka::HandlePtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof(err)));
    if (!rk) return Status::Invalid("cannot create a Kafka producer: ", err);
    conf.release();  // owned by rk now
    if (w == 0) {
      PFAD_RETURN_NOT_OK(kafka::WaitForTopic(rk.get(), options.bootstrap, options.topic, options.connect_timeout).status());
    }
    producers.push_back(std::move(rk));
  }

  std::atomic<int64_t> generated{0};
  std::atomic<bool> fatal{false};
  std::mutex fatal_mutex;
  std::string fatal_reason;
  const auto started = SteadyClock::now();
  const double worker_rate = options.rate / options.workers;

  const auto work = [&](int w) {
    rd_kafka_t* rk = producers[static_cast<size_t>(w)].get();
    const int64_t share = options.count ? Share(*options.count, options.workers, w) : INT64_MAX;
    events::EventGenerator generator({.seed = WorkerSeed(options.seed, w)});
    const Timestamps stamps(options, clock, share);
    std::string frame;
    for (int64_t i = 0; i < share && !stop.load(std::memory_order_relaxed) && !fatal.load(); ++i) {
      const auto now = SteadyClock::now();
      if (options.duration_s && std::chrono::duration<double>(now - started).count() >= *options.duration_s) break;
      if (worker_rate > 0) {
        const auto due = started + std::chrono::duration_cast<SteadyClock::duration>(
                                       std::chrono::duration<double>(static_cast<double>(i) / worker_rate));
        while (SteadyClock::now() < due && !stop.load(std::memory_order_relaxed)) {
          rd_kafka_poll(rk, 0);
          std::this_thread::sleep_until(std::min(due, SteadyClock::now() + std::chrono::milliseconds(5)));
        }
      }
      const events::Event e = generator.Next(stamps.At(i));
      frame.clear();
      events::AppendConfluentHeader(schema_id, frame);
      events::AppendAvro(e, frame);
      while (true) {
        const auto err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(options.topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(e.user_id.bytes.data(), e.user_id.bytes.size()),
            RD_KAFKA_V_VALUE(frame.data(), frame.size()),
            RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<intptr_t>(SteadyNanos()))), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          rd_kafka_poll(rk, 20);  // let deliveries drain the local queue
          continue;
        }
        std::lock_guard lock(fatal_mutex);
        fatal_reason = rd_kafka_err2str(err);
        fatal.store(true);
        return;
      }
      generated.fetch_add(1, std::memory_order_relaxed);
      rd_kafka_poll(rk, 0);
    }
    // Flush: wait for every queued event's acknowledgement (or its final failure).
    while (rd_kafka_outq_len(rk) > 0) {
      rd_kafka_flush(rk, 500);
      char reason[512];
      if (rd_kafka_fatal_error(rk, reason, sizeof(reason)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        std::lock_guard lock(fatal_mutex);
        fatal_reason = reason;
        fatal.store(true);
        break;
      }
    }
  };

  const auto snapshot = [&] {
    ProduceStats s;
    s.generated = generated.load();
    for (const auto& d : deliveries) {
      s.delivered += d->delivered.load();
      s.failed += d->failed.load();
    }
    s.seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
    return s;
  };

  {
    std::vector<std::jthread> threads;
    for (int w = 0; w < options.workers; ++w) threads.emplace_back(work, w);
    std::atomic<bool> done{false};
    std::jthread reporter([&] {
      while (!done.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        if (!done.load() && progress) progress(snapshot());
      }
    });
    for (auto& t : threads) t.join();
    done.store(true);
  }

  ProduceStats stats = snapshot();
  LatencyHistogram latency;
  for (const auto& d : deliveries) latency.Merge(d->latency);
  stats.latency_p50_ms = latency.PercentileMs(0.50);
  stats.latency_p99_ms = latency.PercentileMs(0.99);
  stats.latency_max_ms = latency.MaxMs();
  producers.clear();  // destroy handles before their delivery state
  if (fatal.load()) {
    return Status::IOError("Kafka producer failed: ", fatal_reason, " (", stats.delivered, " delivered, ",
                           stats.generated - stats.delivered, " not)");
  }
  return stats;
}

}  // namespace pfad::produce
