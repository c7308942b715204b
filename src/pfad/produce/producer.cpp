#include "pfad/produce/producer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <condition_variable>
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

// Delivery latencies in log-linear buckets: 32 per power of two of microseconds
// (about 3% wide), from 1 µs to ~2^32 µs; no floating point per delivery.
class LatencyHistogram {
 public:
  void Add(int64_t nanos) {
    const uint64_t us = std::max<uint64_t>(1, static_cast<uint64_t>(std::max<int64_t>(0, nanos)) / 1000);
    const int exp = 63 - __builtin_clzll(us);  // floor(log2(us))
    const uint64_t sub = exp >= 5 ? (us >> (exp - 5)) & 31 : (us << (5 - exp)) & 31;
    ++counts_[std::min(kBuckets - 1, static_cast<size_t>(exp) * 32 + sub)];
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
      if (seen >= rank) {
        const double low = std::ldexp(1.0 + static_cast<double>(i % 32) / 32.0, static_cast<int>(i / 32));
        return std::min(low * (1.0 + 0.5 / 32.0) / 1000.0, MaxMs());  // bucket middle, in ms
      }
    }
    return MaxMs();
  }
  [[nodiscard]] double MaxMs() const { return static_cast<double>(max_ns_) / 1e6; }

 private:
  static constexpr size_t kBuckets = 33 * 32;
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
      start_ms_ = options.start_time_ms ? *options.start_time_ms
                                        : (clock.NowMillis() / 60'000) * 60'000 - span_ms_;
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

// Events waiting to be handed to librdkafka, a partition's batch at a time
// (rd_kafka_produce_batch: one call per batch instead of one rd_kafka_producev
// per event). With the default partitioner (murmur2_random) partitions are
// chosen here with librdkafka's own murmur2_random, so a user's partition is
// the one every client computes; with another configured partitioner, one
// batch goes to librdkafka unpartitioned and it partitions each event.
class PartitionBatches {
 public:
  static constexpr size_t kBatch = 64;

  // `partitions` = 0: let librdkafka's configured partitioner choose.
  PartitionBatches(rd_kafka_t* rk, rd_kafka_topic_t* rkt, int32_t partitions)
      : rk_(rk), rkt_(rkt), partitions_(partitions), batches_(static_cast<size_t>(std::max(1, partitions))) {}

  // Queues one event (key = 16 UUID bytes, value = the framed Avro body); hands
  // its partition's batch over when it is full. Returns false on a fatal error.
  bool Add(const uint8_t* key, const std::string& value, std::atomic<int64_t>& generated, std::string& error) {
    const int32_t p =
        partitions_ > 0 ? rd_kafka_msg_partitioner_murmur2_random(rkt_, key, 16, partitions_, nullptr, nullptr) : 0;
    Batch& b = batches_[static_cast<size_t>(p)];
    b.items.push_back({b.bytes.size(), value.size()});
    b.bytes.append(reinterpret_cast<const char*>(key), 16);
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
    const int32_t partition = partitions_ > 0 ? index : RD_KAFKA_PARTITION_UA;
    messages_.assign(b.items.size(), rd_kafka_message_t{});
    // Latency counts from here, where the batch is handed to librdkafka.
    const auto enqueued = reinterpret_cast<void*>(static_cast<intptr_t>(SteadyNanos()));
    for (size_t i = 0; i < b.items.size(); ++i) {
      const Item& it = b.items[i];
      rd_kafka_message_t& m = messages_[i];
      m.key = b.bytes.data() + it.offset;
      m.key_len = 16;
      m.payload = b.bytes.data() + it.offset + 16;
      m.len = it.value_size;
      m._private = enqueued;
    }
    size_t done = 0;
    while (done < messages_.size()) {
      const int n = static_cast<int>(messages_.size() - done);
      const int good = rd_kafka_produce_batch(rkt_, partition, RD_KAFKA_MSG_F_COPY, messages_.data() + done, n);
      generated.fetch_add(good, std::memory_order_relaxed);
      // A full local queue fails the rest of the batch from the first refused message on.
      size_t refused = done;
      while (refused < messages_.size() && messages_[refused].err == RD_KAFKA_RESP_ERR_NO_ERROR) ++refused;
      if (refused == messages_.size()) break;
      const rd_kafka_resp_err_t err = messages_[refused].err;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        error = rd_kafka_err2str(err);
        return false;
      }
      for (size_t i = refused; i < messages_.size(); ++i) messages_[i].err = RD_KAFKA_RESP_ERR_NO_ERROR;
      done = refused;
      rd_kafka_poll(rk_, 20);  // let deliveries drain the local queue
    }
    rd_kafka_poll(rk_, 0);
    b.items.clear();
    b.bytes.clear();
    return true;
  }

  rd_kafka_t* rk_;
  rd_kafka_topic_t* rkt_;
  int32_t partitions_;
  std::vector<Batch> batches_;
  std::vector<rd_kafka_message_t> messages_;
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
    Timestamps stamps(options, clock, share);
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
  int32_t partitions = 0;
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
      PFAD_ASSIGN_OR_RAISE(partitions,
                           kafka::WaitForTopic(rk.get(), options.bootstrap, options.topic, options.connect_timeout));
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
    const kafka::TopicPtr topic(rd_kafka_topic_new(rk, options.topic.c_str(), nullptr));
    const auto fail = [&](std::string reason) {
      std::lock_guard lock(fatal_mutex);
      fatal_reason = std::move(reason);
      fatal.store(true);
    };
    if (!topic) return fail(rd_kafka_err2str(rd_kafka_last_error()));
    const auto partitioner = ProducerProperties(options, w).at("partitioner");
    PartitionBatches batches(rk, topic.get(), partitioner == "murmur2_random" ? partitions : 0);
    std::string error;
    const int64_t share = options.count ? Share(*options.count, options.workers, w) : INT64_MAX;
    events::EventGenerator generator({.seed = WorkerSeed(options.seed, w)});
    Timestamps stamps(options, clock, share);
    std::string frame;
    const bool timed = options.duration.has_value() || worker_rate > 0;
    for (int64_t i = 0; i < share && !stop.load(std::memory_order_relaxed) && !fatal.load(); ++i) {
      const auto now = timed ? SteadyClock::now() : SteadyClock::time_point();
      if (options.duration && now - started >= *options.duration) break;
      if (worker_rate > 0) {
        const auto due = started + std::chrono::duration_cast<SteadyClock::duration>(
                                       std::chrono::duration<double>(static_cast<double>(i) / worker_rate));
        if (now < due && !batches.SendAll(generated, error)) return fail(error);  // nothing waits while we wait
        while (SteadyClock::now() < due && !stop.load(std::memory_order_relaxed)) {
          rd_kafka_poll(rk, 0);
          std::this_thread::sleep_until(std::min(due, SteadyClock::now() + std::chrono::milliseconds(5)));
        }
      }
      const events::Event e = generator.Next(stamps.At(i));
      frame.clear();
      events::AppendConfluentHeader(schema_id, frame);
      events::AppendAvro(e, frame);
      if (!batches.Add(e.user_id.bytes.data(), frame, generated, error)) return fail(error);
    }
    if (!batches.SendAll(generated, error)) return fail(error);
    // Flush: wait for every queued event's acknowledgement (or its final failure).
    while (rd_kafka_outq_len(rk) > 0) {
      rd_kafka_flush(rk, 500);
      char reason[512];
      if (rd_kafka_fatal_error(rk, reason, sizeof(reason)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fail(reason);
        break;
      }
    }
  };

  const auto snapshot = [&](SteadyClock::time_point at) {
    ProduceStats s;
    s.generated = generated.load();
    for (const auto& d : deliveries) {
      s.delivered += d->delivered.load();
      s.failed += d->failed.load();
    }
    s.seconds = std::chrono::duration<double>(at - started).count();
    return s;
  };

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
        if (progress) progress(snapshot(SteadyClock::now()));
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
