#include "pfad/ingest/ingester.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "pfad/http/server.h"
#include "pfad/common/log.h"
#include "pfad/events/avro.h"
#include "pfad/events/avro_resolve.h"
#include "pfad/ingest/minute_object.h"
#include "pfad/kafka/registry.h"

namespace pfad::ingest {
namespace {

auto Log() { return Logger("ingest"); }

struct TopicPartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, TopicPartitionListDeleter>;

// Counters shared with the metrics endpoint.
struct Metrics {
  std::atomic<int64_t> events_in{0}, events_stored{0}, objects_written{0}, object_updates{0}, dlq{0},
      write_failures{0}, lag{0}, window_latency_ms{-1}, window_latency_max_ms{-1}, open_windows{0},
      buffered_events{0};

  [[nodiscard]] std::string Text() const {
    std::string out;
    const auto add = [&](std::string_view name, std::string_view type, std::string_view help, int64_t value) {
      out += fmt::format("# HELP pfad_ingest_{0} {1}\n# TYPE pfad_ingest_{0} {2}\npfad_ingest_{0} {3}\n", name, help,
                         type, value);
    };
    add("events_in_total", "counter", "Messages consumed.", events_in);
    add("events_stored_total", "counter", "Events added to minute objects.", events_stored);
    add("objects_written_total", "counter", "Minute object writes that added events.", objects_written);
    add("object_updates_total", "counter", "Writes that merged into an existing object.", object_updates);
    add("dlq_total", "counter", "Messages sent to the dead-letter topic.", dlq);
    add("write_failures_total", "counter", "Failed object writes (retried).", write_failures);
    add("lag_messages", "gauge", "Messages behind the ends of the assigned partitions.", lag);
    add("window_latency_ms", "gauge", "Last on-time minute: stored minus (minute end + grace).", window_latency_ms);
    add("window_latency_max_ms", "gauge", "Largest window latency so far.", window_latency_max_ms);
    add("open_windows", "gauge", "Minutes waiting to close.", open_windows);
    add("buffered_events", "gauge", "Events waiting in open windows.", buffered_events);
    return out;
  }
};

// A window on its way to storage, and what came of it.
struct WriteJob {
  MinuteWindow window;
  int64_t close_at_ms = 0;
  int64_t staged_events = 0;  // its first events already sent ahead as EncodeJobs
};
// Row groups of a window that is still open, encoded ahead (StagedObject).
struct EncodeJob {
  uint64_t window_id = 0;
  std::vector<events::Event> events;
};
// A window whose events changed (partitions revoked): forget what was encoded.
struct DiscardJob {
  uint64_t window_id = 0;
};
struct WriteDone {
  WriteJob job;
  Result<StoredMinute> result;
  int64_t stored_wall_ms = 0;
};

// Writes windows one after another on its own thread, so consuming goes on
// while an object is encoded and uploaded; between writes it encodes the row
// groups of open windows ahead, so a closing minute has little left to encode.
class WindowWriter {
 public:
  WindowWriter(MinuteObjectWriter writer, int64_t row_group_rows, const Clock& clock)
      : writer_(std::move(writer)), row_group_rows_(row_group_rows), clock_(clock) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~WindowWriter() {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void Submit(WriteJob job) {
    {
      std::lock_guard lock(mutex_);
      queue_.emplace_back(std::move(job));
      ++pending_;
    }
    cv_.notify_all();
  }

  void Submit(EncodeJob job) { Enqueue(std::move(job)); }
  void Submit(DiscardJob job) { Enqueue(std::move(job)); }

  // Finished writes (waiting up to `wait` for at least one when any is pending).
  std::vector<WriteDone> Collect(std::chrono::milliseconds wait) {
    std::unique_lock lock(mutex_);
    if (done_.empty() && pending_ > 0 && wait.count() > 0) {
      cv_.wait_for(lock, wait, [&] { return !done_.empty(); });
    }
    std::vector<WriteDone> out(std::make_move_iterator(done_.begin()), std::make_move_iterator(done_.end()));
    done_.clear();
    return out;
  }

  [[nodiscard]] int pending() {
    std::lock_guard lock(mutex_);
    return pending_;
  }

 private:
  using Job = std::variant<WriteJob, EncodeJob, DiscardJob>;

  void Enqueue(Job job) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(job));
    }
    cv_.notify_all();
  }

  void Encode(EncodeJob& job) {
    if (broken_.contains(job.window_id)) return;
    if (Status st = staged_[job.window_id].Append(job.events, row_group_rows_); !st.ok()) {
      Log()->warn("encoding ahead failed (the minute is encoded when it closes instead): {}", st.ToString());
      staged_.erase(job.window_id);
      broken_.insert(job.window_id);
    }
  }

  Result<StoredMinute> Write(const WriteJob& job) {
    broken_.erase(job.window.id);
    auto node = staged_.extract(job.window.id);
    if (!node.empty() && node.mapped().events_seen() == job.staged_events) {
      return writer_.Write(job.window.minute, job.window.events, std::move(node.mapped()));
    }
    return writer_.Write(job.window.minute, job.window.events);
  }

  void Loop() {
    for (;;) {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;
      Job next = std::move(queue_.front());
      queue_.pop_front();
      const bool closing = closing_;
      lock.unlock();
      if (auto* encode = std::get_if<EncodeJob>(&next)) {
        if (!closing) Encode(*encode);  // at shutdown, open minutes are re-read, not written
        continue;
      }
      if (auto* discard = std::get_if<DiscardJob>(&next)) {
        staged_.erase(discard->window_id);
        broken_.erase(discard->window_id);
        continue;
      }
      WriteJob job = std::move(std::get<WriteJob>(next));
      auto result = Write(job);
      const int64_t stored = clock_.NowMillis();
      lock.lock();
      done_.push_back({std::move(job), std::move(result), stored});
      --pending_;
      lock.unlock();
      cv_.notify_all();
    }
  }

  MinuteObjectWriter writer_;
  const int64_t row_group_rows_;
  const Clock& clock_;
  std::unordered_map<uint64_t, StagedObject> staged_;  // this thread's only
  std::unordered_set<uint64_t> broken_;                // windows whose encoding ahead failed
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::vector<WriteDone> done_;
  int pending_ = 0;
  bool closing_ = false;
  std::thread thread_;
};

// Delivery state of the producer that writes DLQ messages and notifications.
struct Deliveries {
  std::atomic<int64_t> pending{0};
  std::atomic<int64_t> failed{0};
  std::mutex mutex;
  std::string last_error;
};

void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* opaque) {
  auto* d = static_cast<Deliveries*>(opaque);
  if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++d->failed;
    std::lock_guard lock(d->mutex);
    d->last_error = fmt::format("{} ({})", rd_kafka_err2str(msg->err), rd_kafka_topic_name(msg->rkt));
  }
  --d->pending;
}

class Ingester {
 public:
  Ingester(const IngestOptions& options, std::shared_ptr<storage::ObjectStore> store, const std::atomic<bool>& stop,
           const Clock& clock, events::MinuteCalendar calendar)
      : options_(options),
        store_(std::move(store)),
        stop_(stop),
        clock_(clock),
        windows_(std::move(calendar), options.windows),
        registry_({.url = options.registry_url}) {}

  Status Open();
  Result<IngestStats> Loop();

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                          void* opaque) {
    static_cast<Ingester*>(opaque)->Rebalance(rk, err, parts);
  }

 private:
  void Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  void Handle(const rd_kafka_message_t& msg, int64_t now);
  Status SendToDlq(const rd_kafka_message_t& msg, std::string_view kind, std::string_view error);
  // The decoder for a schema id; KeyError/Invalid when the message belongs in
  // the DLQ; waits (retrying) while the registry is unreachable.
  Result<std::shared_ptr<const events::WriterSchemaDecoder>> Decoder(int32_t schema_id);
  void SubmitDue(int64_t now);
  // Sends full row groups of open windows to be encoded ahead.
  void StageAhead();
  void ProcessWrites(std::chrono::milliseconds wait);
  void Notify(const StoredMinute& stored, int64_t close_at_ms, int64_t stored_wall_ms);
  // Commits the committable offsets that moved; sync at rebalance and shutdown.
  void Commit(bool sync);
  void DrainWrites();
  void UpdateLag();
  // With --until-idle: whether the group has stored everything in the partitions
  // this member does not hold (their committed offsets are at the end). A member
  // that joined while a dead one still held partitions must not call the topic done.
  bool OthersDrained();
  void LogProgress(bool final);
  [[nodiscard]] IngestStats Stats() const;

  const IngestOptions& options_;
  std::shared_ptr<storage::ObjectStore> store_;
  const std::atomic<bool>& stop_;
  const Clock& clock_;
  MinuteWindows windows_;
  kafka::SchemaRegistryClient registry_;
  std::unordered_map<int32_t, Result<std::shared_ptr<const events::WriterSchemaDecoder>>> decoders_;
  std::unique_ptr<Deliveries> deliveries_ = std::make_unique<Deliveries>();  // outlives the producer
  kafka::HandlePtr consumer_;
  kafka::HandlePtr producer_;
  std::unique_ptr<WindowWriter> writer_;
  Metrics metrics_;
  std::map<int32_t, int64_t> committed_;
  std::unordered_map<uint64_t, int64_t> staged_;  // open window id -> events sent to be encoded ahead
  int64_t write_backoff_until_ = 0;
  int64_t write_backoff_ms_ = 0;
  int64_t first_message_wall_ms_ = 0;
  int64_t last_store_wall_ms_ = 0;
  bool lag_known_ = false;
  int32_t topic_partitions_ = 0;
  std::string waiting_for_;  // partitions OthersDrained() last found unfinished, for the log
  Status fatal_;
};

Status Ingester::Open() {
  kafka::Properties consumer_props = {
      {"bootstrap.servers", options_.bootstrap},
      {"group.id", options_.group},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false"},
      {"fetch.wait.max.ms", "50"},
      // Prefetch. librdkafka 2.0 checks these "per partition" limits against the
      // consumer queue the partitions are forwarded to, i.e. all partitions together,
      // and once either is reached it fetches nothing until its broker thread next
      // wakes, up to a second later. So the queue must hold more than a second of
      // consumption: with 150,000 messages / 16 MiB a 3,000,000-event backlog took
      // 10.4 s in 1 s stalls, with these 4.4 s (bench/ingest_bench.py; ~90 MiB more
      // RSS while catching up, none when live).
      {"queued.max.messages.kbytes", "65536"},
      {"queued.min.messages", "500000"},
      {"client.id", "pfad-ingest"},
  };
  if (!options_.instance_id.empty()) consumer_props["group.instance.id"] = options_.instance_id;
  kafka::Properties producer_props = {
      {"bootstrap.servers", options_.bootstrap},
      {"acks", "all"},
      {"enable.idempotence", "true"},
      {"linger.ms", "5"},
      {"client.id", "pfad-ingest-dlq"},
  };
  // -X properties go to both handles; those only one kind accepts are dropped
  // from the other (librdkafka says which kind a property is for).
  for (const auto& [k, v] : options_.properties) {
    consumer_props[k] = v;
    producer_props[k] = v;
  }
  char err[512];
  {
    PFAD_ASSIGN_OR_RAISE(auto conf, kafka::MakeConf(consumer_props));
    rd_kafka_conf_set_rebalance_cb(conf.get(), &Ingester::OnRebalance);
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof(err));
    if (handle == nullptr) return Status::Invalid("cannot create the Kafka consumer: ", err);
    (void)conf.release();  // owned by the handle now
    consumer_.reset(handle);
  }
  {
    PFAD_ASSIGN_OR_RAISE(auto conf, kafka::MakeConf(producer_props));
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &OnDelivery);
    rd_kafka_conf_set_opaque(conf.get(), deliveries_.get());
    rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof(err));
    if (handle == nullptr) return Status::Invalid("cannot create the Kafka producer: ", err);
    (void)conf.release();
    producer_.reset(handle);
  }
  for (const std::string& topic : {options_.topic, options_.dlq_topic, options_.windows_topic}) {
    PFAD_ASSIGN_OR_RAISE(const int32_t partitions,
                         kafka::WaitForTopic(producer_.get(), options_.bootstrap, topic, options_.connect_timeout));
    if (topic == options_.topic) topic_partitions_ = partitions;
  }
  PFAD_RETURN_NOT_OK(store_->CheckContainer(options_.sink.Child("probe.parquet")));
  rd_kafka_poll_set_consumer(consumer_.get());
  PartitionList topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), options_.topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (const auto e = rd_kafka_subscribe(consumer_.get(), topics.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::IOError("cannot subscribe to ", options_.topic, ": ", rd_kafka_err2str(e));
  }
  writer_ = std::make_unique<WindowWriter>(MinuteObjectWriter(store_, options_.sink, options_.row_group_rows),
                                           options_.row_group_rows, clock_);
  Log()->info("ingesting topic={} group={} sink={} grace_ms={} lookback_ms={} idle_timeout_ms={} librdkafka={}",
              options_.topic, options_.group, options_.sink.ToString(), options_.windows.grace_ms,
              options_.windows.lookback_ms, options_.windows.idle_timeout_ms, kafka::LibraryVersion());
  return Status::OK();
}

void Ingester::Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  std::vector<int32_t> partitions;
  for (int i = 0; i < parts->cnt; ++i) partitions.push_back(parts->elems[i].partition);
  const bool cooperative = std::string_view(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    Log()->info("assigned partitions={}", fmt::join(partitions, ","));
    windows_.Assign(partitions, clock_.NowMillis());
    if (cooperative) {
      if (auto* e = rd_kafka_incremental_assign(rk, parts)) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, parts);
    }
    return;
  }
  // Revoked: finish the writes in flight and commit what is stored, so the next
  // owner starts where stored data ends; events still in open windows are
  // dropped here and re-read by the next owner.
  DrainWrites();
  Commit(/*sync=*/true);
  for (const auto& [id, staged] : staged_) writer_->Submit(DiscardJob{.window_id = id});
  staged_.clear();
  const int64_t dropped = windows_.Revoke(partitions);
  for (int32_t p : partitions) committed_.erase(p);
  Log()->info("revoked partitions={} dropped_open_events={} (re-read by their next owner)",
              fmt::join(partitions, ","), dropped);
  if (cooperative) {
    if (auto* e = rd_kafka_incremental_unassign(rk, parts)) rd_kafka_error_destroy(e);
  } else {
    rd_kafka_assign(rk, nullptr);
  }
}

Result<std::shared_ptr<const events::WriterSchemaDecoder>> Ingester::Decoder(int32_t schema_id) {
  if (auto it = decoders_.find(schema_id); it != decoders_.end()) return it->second;
  for (int64_t backoff_ms = 500;; backoff_ms = std::min<int64_t>(backoff_ms * 2, 10'000)) {
    auto text = registry_.SchemaById(schema_id);
    if (text.ok()) {
      auto decoder = events::WriterSchemaDecoder::Make(*text);
      if (!decoder.ok()) {
        decoder = Status::Invalid("writer schema ", schema_id, " cannot be read as the event schema: ",
                                  decoder.status().message());
      }
      return decoders_.emplace(schema_id, std::move(decoder)).first->second;
    }
    if (text.status().IsKeyError()) return decoders_.emplace(schema_id, text.status()).first->second;
    // The registry is unreachable: not the message's fault; wait, never DLQ.
    Log()->warn("schema registry unreachable, retrying in {} ms: {}", backoff_ms, text.status().message());
    if (stop_) return Status::Cancelled("stopping");
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
  }
}

Status Ingester::SendToDlq(const rd_kafka_message_t& msg, std::string_view kind, std::string_view error) {
  rd_kafka_headers_t* headers = rd_kafka_headers_new(6);
  const auto header = [&](const char* name, const std::string& value) {
    rd_kafka_header_add(headers, name, -1, value.data(), static_cast<ssize_t>(value.size()));
  };
  rd_kafka_timestamp_type_t ts_type;
  const int64_t ts = rd_kafka_message_timestamp(&msg, &ts_type);
  header("pfad.error", std::string(error));
  header("pfad.error.kind", std::string(kind));
  header("pfad.source.topic", rd_kafka_topic_name(msg.rkt));
  header("pfad.source.partition", std::to_string(msg.partition));
  header("pfad.source.offset", std::to_string(msg.offset));
  header("pfad.source.timestamp", std::to_string(ts));
  ++deliveries_->pending;
  const auto e = rd_kafka_producev(
      producer_.get(), RD_KAFKA_V_TOPIC(options_.dlq_topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_KEY(msg.key, msg.key_len), RD_KAFKA_V_VALUE(msg.payload, msg.len), RD_KAFKA_V_HEADERS(headers),
      RD_KAFKA_V_END);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    --deliveries_->pending;
    rd_kafka_headers_destroy(headers);  // not taken over on failure
    return Status::IOError("cannot send to the DLQ topic ", options_.dlq_topic, ": ", rd_kafka_err2str(e));
  }
  ++metrics_.dlq;
  Log()->warn("dlq kind={} partition={} offset={} error={}", kind, msg.partition, msg.offset, error);
  return Status::OK();
}

void Ingester::Handle(const rd_kafka_message_t& msg, int64_t now) {
  ++metrics_.events_in;
  if (first_message_wall_ms_ == 0) first_message_wall_ms_ = now;
  const std::string_view frame(static_cast<const char*>(msg.payload), msg.payload != nullptr ? msg.len : 0);
  std::string_view kind;
  std::string error;
  auto split = events::SplitConfluentFrame(frame);
  if (!split.ok()) {
    kind = "bad-frame";
    error = split.status().message();
  } else {
    auto decoder = Decoder(split->first);
    if (!decoder.ok()) {
      if (decoder.status().IsCancelled()) return;  // stopping: the message is re-read later
      kind = decoder.status().IsKeyError() ? "unknown-schema" : "unreadable-schema";
      error = decoder.status().message();
    } else {
      auto event = (*decoder)->Decode(split->second);
      if (!event.ok()) {
        kind = "invalid-avro";
        error = event.status().message();
      } else if (windows_.Add(msg.partition, msg.offset, *event, now) == MinuteWindows::Admission::kAdded) {
        return;
      } else {
        kind = "too-late";
        error = fmt::format("event_timestamp {} is more than the lookback ({} ms) behind the watermark",
                            event->event_timestamp_ms, options_.windows.lookback_ms);
      }
    }
  }
  if (Status st = SendToDlq(msg, kind, error); !st.ok()) {
    fatal_ = st;
    return;
  }
  windows_.Skipped(msg.partition, msg.offset, now);
}

void Ingester::SubmitDue(int64_t now) {
  if (now < write_backoff_until_) return;
  for (auto& window : windows_.TakeDue(now)) {
    const int64_t close_at = window.minute.end_ms + options_.windows.grace_ms;
    int64_t staged = 0;
    if (auto it = staged_.find(window.id); it != staged_.end()) {
      staged = it->second;
      staged_.erase(it);
    }
    writer_->Submit(WriteJob{.window = std::move(window), .close_at_ms = close_at, .staged_events = staged});
  }
}

void Ingester::StageAhead() {
  const auto rows = static_cast<size_t>(options_.row_group_rows);
  windows_.ForEachOpen([&](const MinuteWindow& window) {
    if (window.late || window.events.size() < rows) return;
    int64_t& staged = staged_[window.id];
    while (window.events.size() - static_cast<size_t>(staged) >= rows) {
      const auto from = window.events.begin() + staged;
      writer_->Submit(EncodeJob{.window_id = window.id, .events = std::vector<events::Event>(from, from + rows)});
      staged += static_cast<int64_t>(rows);
    }
  });
}

void Ingester::Notify(const StoredMinute& stored, int64_t close_at_ms, int64_t stored_wall_ms) {
  const std::string body = fmt::format(
      R"({{"object":"{}","minute":"{}","rows":{},"added":{},"update":{},"close_at_ms":{},"stored_at_ms":{}}})",
      stored.object.ToString(), stored.minute, stored.rows, stored.added, stored.update, close_at_ms, stored_wall_ms);
  ++deliveries_->pending;
  const auto e = rd_kafka_producev(producer_.get(), RD_KAFKA_V_TOPIC(options_.windows_topic.c_str()),
                                   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                   RD_KAFKA_V_KEY(stored.minute.data(), stored.minute.size()),
                                   RD_KAFKA_V_VALUE(const_cast<char*>(body.data()), body.size()), RD_KAFKA_V_END);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    --deliveries_->pending;
    Log()->warn("could not announce object={}: {}", stored.object.ToString(), rd_kafka_err2str(e));
  }
}

void Ingester::ProcessWrites(std::chrono::milliseconds wait) {
  for (auto& done : writer_->Collect(wait)) {
    if (!done.result.ok()) {
      ++metrics_.write_failures;
      write_backoff_ms_ = std::clamp<int64_t>(write_backoff_ms_ * 2, 500, 10'000);
      write_backoff_until_ = clock_.NowMillis() + write_backoff_ms_;
      Log()->error("writing minute={} failed, retrying in {} ms (nothing is committed past it): {}",
                   done.job.window.minute.Name(), write_backoff_ms_, done.result.status().message());
      windows_.Returned(std::move(done.job.window));
      continue;
    }
    write_backoff_ms_ = 0;
    const StoredMinute& stored = *done.result;
    windows_.Stored(done.job.window.id);
    last_store_wall_ms_ = done.stored_wall_ms;
    if (stored.added > 0) {
      metrics_.events_stored += stored.added;
      ++metrics_.objects_written;
      if (stored.update) ++metrics_.object_updates;
      Notify(stored, done.job.close_at_ms, done.stored_wall_ms);
    }
    if (!done.job.window.late) {
      const int64_t latency = done.stored_wall_ms - done.job.close_at_ms;
      metrics_.window_latency_ms = latency;
      metrics_.window_latency_max_ms = std::max<int64_t>(metrics_.window_latency_max_ms, latency);
    }
    Log()->info("stored object={} rows={} added={} update={} late={} latency_ms={} (read {} encode {} store {}; "
                "{} rows encoded ahead)",
                stored.object.ToString(), stored.rows, stored.added, stored.update, done.job.window.late,
                done.stored_wall_ms - done.job.close_at_ms, stored.read_ms, stored.encode_ms, stored.store_ms,
                stored.encoded_ahead);
  }
}

void Ingester::DrainWrites() {
  while (writer_ && writer_->pending() > 0) ProcessWrites(std::chrono::milliseconds(200));
  if (writer_) ProcessWrites(std::chrono::milliseconds(0));
}

void Ingester::Commit(bool sync) {
  const auto offsets = windows_.CommittableOffsets();
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& [p, offset] : offsets) {
    if (auto it = committed_.find(p); it != committed_.end() && it->second == offset) continue;
    rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), p)->offset = offset;
  }
  if (list->cnt == 0) return;
  // DLQ messages below these offsets must be acknowledged first.
  if (deliveries_->pending > 0) rd_kafka_flush(producer_.get(), 10'000);
  if (deliveries_->failed > 0) {
    std::lock_guard lock(deliveries_->mutex);
    fatal_ = Status::IOError("the DLQ/notification producer could not deliver: ", deliveries_->last_error);
    return;
  }
  if (deliveries_->pending > 0) return;  // not acknowledged yet: commit next time
  const auto e = rd_kafka_commit(consumer_.get(), list.get(), sync ? 0 : 1);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    Log()->warn("offset commit failed (re-read after a restart, not lost): {}", rd_kafka_err2str(e));
    return;
  }
  for (int i = 0; i < list->cnt; ++i) committed_[list->elems[i].partition] = list->elems[i].offset;
}

void Ingester::UpdateLag() {
  // Lag per assigned partition: its end minus where this consumer is (its
  // position, else the committed offset, else the partition start).
  int64_t lag = 0;
  bool known = true;
  for (int32_t p : windows_.assigned()) {
    int64_t low = 0;
    int64_t high = 0;
    if (rd_kafka_get_watermark_offsets(consumer_.get(), options_.topic.c_str(), p, &low, &high) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      if (rd_kafka_query_watermark_offsets(consumer_.get(), options_.topic.c_str(), p, &low, &high, 2000) !=
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        known = false;
        windows_.SetCaughtUp(p, true);  // unknown: do not hold minutes open on it
        continue;
      }
    }
    PartitionList one(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(one.get(), options_.topic.c_str(), p);
    rd_kafka_position(consumer_.get(), one.get());
    int64_t position = one->elems[0].offset;
    if (position < 0) {
      if (auto it = committed_.find(p); it != committed_.end()) {
        position = it->second;
      } else if (rd_kafka_committed(consumer_.get(), one.get(), 2000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                 one->elems[0].offset >= 0) {
        position = one->elems[0].offset;
        committed_[p] = position;
      } else {
        position = low;
      }
    }
    lag += std::max<int64_t>(0, high - position);
    windows_.SetCaughtUp(p, position >= high);
  }
  metrics_.lag = lag;
  lag_known_ = known && !windows_.assigned().empty();
  metrics_.open_windows = static_cast<int64_t>(windows_.open_windows());
  metrics_.buffered_events = windows_.buffered_events();
}

bool Ingester::OthersDrained() {
  const auto& mine = windows_.assigned();
  PartitionList others(rd_kafka_topic_partition_list_new(topic_partitions_));
  for (int32_t p = 0; p < topic_partitions_; ++p) {
    if (!mine.contains(p)) {
      rd_kafka_topic_partition_list_add(others.get(), options_.topic.c_str(), p);
    }
  }
  if (others->cnt == 0) return true;
  if (rd_kafka_committed(consumer_.get(), others.get(), 2000) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
  std::vector<int32_t> unfinished;
  for (int i = 0; i < others->cnt; ++i) {
    const auto& tp = others->elems[i];
    int64_t low = 0;
    int64_t high = 0;
    if (rd_kafka_query_watermark_offsets(consumer_.get(), options_.topic.c_str(), tp.partition, &low, &high, 2000) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      return false;
    }
    const int64_t stored_up_to = tp.err == RD_KAFKA_RESP_ERR_NO_ERROR && tp.offset >= 0 ? tp.offset : low;
    if (stored_up_to < high) unfinished.push_back(tp.partition);
  }
  const std::string waiting = fmt::format("{}", fmt::join(unfinished, ","));
  if (!unfinished.empty() && waiting != waiting_for_) {
    Log()->info("until-idle: my partitions are done; waiting for partitions [{}] (held by other group members, "
                "not yet stored)",
                waiting);
  }
  waiting_for_ = waiting;
  return unfinished.empty();
}

void Ingester::LogProgress(bool final) {
  Log()->info("{}events_in={} events_stored={} objects_written={} object_updates={} dlq={} write_failures={} lag={} "
              "open_windows={} buffered_events={} window_latency_ms={}",
              final ? "final " : "", metrics_.events_in.load(), metrics_.events_stored.load(),
              metrics_.objects_written.load(), metrics_.object_updates.load(), metrics_.dlq.load(),
              metrics_.write_failures.load(), metrics_.lag.load(), metrics_.open_windows.load(),
              metrics_.buffered_events.load(), metrics_.window_latency_ms.load());
}

IngestStats Ingester::Stats() const {
  return {.events_in = metrics_.events_in,
          .events_stored = metrics_.events_stored,
          .objects_written = metrics_.objects_written,
          .object_updates = metrics_.object_updates,
          .dlq = metrics_.dlq,
          .write_failures = metrics_.write_failures,
          .lag = metrics_.lag,
          .window_latency_ms = metrics_.window_latency_ms,
          .window_latency_max_ms = metrics_.window_latency_max_ms,
          .first_message_wall_ms = first_message_wall_ms_,
          .last_store_wall_ms = last_store_wall_ms_};
}

Result<IngestStats> Ingester::Loop() {
  std::unique_ptr<http::Server> metrics_server;
  if (options_.metrics_port > 0) {
    metrics_server = std::make_unique<http::Server>(
        http::ServerOptions{.host = options_.metrics_host, .port = options_.metrics_port, .name = "ingest"});
    metrics_server->Get("/metrics", [this](const http::Request&) {
      return http::Response{.content_type = "text/plain; version=0.0.4", .body = metrics_.Text()};
    });
    if (const Status st = metrics_server->Start(); !st.ok()) {
      return Status::IOError("cannot serve metrics: ", st.message());
    }
  }

  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(consumer_.get());
  std::unique_ptr<rd_kafka_queue_t, decltype(&rd_kafka_queue_destroy)> owned_queue(queue, &rd_kafka_queue_destroy);
  std::vector<rd_kafka_message_t*> batch(10'000);
  double last_commit = clock_.MonotonicSeconds();
  double last_log = last_commit;
  double last_lag = 0;
  double last_drained_check = 0;
  while (!stop_ && fatal_.ok()) {
    int64_t now = clock_.NowMillis();
    if (windows_.buffered_events() < options_.max_buffered_events) {
      const ssize_t n = rd_kafka_consume_batch_queue(queue, 100, batch.data(), batch.size());
      now = clock_.NowMillis();
      for (ssize_t i = 0; i < n; ++i) {
        const rd_kafka_message_t& msg = *batch[static_cast<size_t>(i)];
        if (msg.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          if (fatal_.ok() && !stop_) Handle(msg, now);
        } else if (msg.err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          Log()->warn("consumer: {}", rd_kafka_message_errstr(&msg));
          if (rd_kafka_fatal_error(consumer_.get(), nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fatal_ = Status::IOError("Kafka consumer failed: ", rd_kafka_message_errstr(&msg));
          }
        }
        rd_kafka_message_destroy(batch[static_cast<size_t>(i)]);
      }
    } else {
      ProcessWrites(std::chrono::milliseconds(100));  // storage is behind: let it catch up
    }
    SubmitDue(now);
    StageAhead();
    ProcessWrites(std::chrono::milliseconds(0));
    rd_kafka_poll(producer_.get(), 0);
    const double mono = clock_.MonotonicSeconds();
    if (mono - last_commit >= 1.0) {
      Commit(/*sync=*/false);
      last_commit = mono;
    }
    if (mono - last_lag >= 1.0) {
      UpdateLag();
      last_lag = mono;
    }
    if (mono - last_log >= 10.0) {
      LogProgress(false);
      last_log = mono;
    }
    if (options_.until_idle && !windows_.assigned().empty() && windows_.open_windows() == 0 &&
        windows_.in_flight() == 0 && windows_.AllIdle(clock_.NowMillis())) {
      // Everything read is stored and nothing arrives: done if nothing is left to
      // read, here or in partitions other members hold.
      UpdateLag();
      if (lag_known_ && metrics_.lag == 0 && mono - last_drained_check >= 1.0) {
        last_drained_check = mono;
        if (OthersDrained()) break;
      }
    }
  }
  // Stop: what is being written is finished and committed; open windows are
  // not written (their events are re-read after a restart).
  DrainWrites();
  Commit(/*sync=*/true);
  rd_kafka_flush(producer_.get(), 10'000);
  UpdateLag();
  LogProgress(true);
  rd_kafka_consumer_close(consumer_.get());
  if (!fatal_.ok()) return fatal_;
  return Stats();
}

}  // namespace

IngestOptions WithDefaults(IngestOptions options) {
  if (options.dlq_topic.empty()) options.dlq_topic = options.topic + ".dlq";
  if (options.windows_topic.empty()) options.windows_topic = options.topic + ".windows";
  return options;
}

Status Validate(const IngestOptions& options) {
  if (options.topic.empty()) return Status::Invalid("--topic must not be empty");
  if (options.group.empty()) return Status::Invalid("--group must not be empty");
  if (options.registry_url.empty()) {
    return Status::Invalid("no schema registry: set --registry or PFAD_REGISTRY_URL");
  }
  if (options.windows.grace_ms < 0 || options.windows.lookback_ms < 0 || options.windows.idle_timeout_ms <= 0) {
    return Status::Invalid("--grace and --lookback must be >= 0 and --idle-timeout > 0");
  }
  if (options.row_group_rows <= 0) return Status::Invalid("row group size must be > 0");
  if (options.sink.Basename().ends_with(".parquet")) {
    return Status::Invalid("--sink is a directory or bucket/prefix, not an object: ", options.sink.ToString());
  }
  return kafka::MakeConf(options.properties).status();
}

Result<IngestStats> Run(const IngestOptions& given, std::shared_ptr<storage::ObjectStore> store,
                        const std::atomic<bool>& stop, const Clock& clock) {
  // Each minute's Arrow buffers are freed once its object is stored; the system
  // allocator hands those pages back, where the wheel's default pool keeps them
  // (about 100 MiB more peak RSS at a million events a minute). This only takes
  // effect before the process's first Arrow allocation, which is the case here.
  ::setenv("ARROW_DEFAULT_MEMORY_POOL", "system", /*overwrite=*/0);
  const IngestOptions options = WithDefaults(given);
  PFAD_RETURN_NOT_OK(Validate(options));
  PFAD_ASSIGN_OR_RAISE(auto calendar, events::MinuteCalendar::Open());
  Ingester ingester(options, std::move(store), stop, clock, std::move(calendar));
  PFAD_RETURN_NOT_OK(ingester.Open());
  return ingester.Loop();
}

}  // namespace pfad::ingest
