#include "pfad/ingest/ingester.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>

#include "pfad/common/log.h"
#include "pfad/events/avro.h"
#include "pfad/http/server.h"
#include "pfad/ingest/object_sink.h"
#include "pfad/kafka/error.h"
#include "pfad/kafka/registry.h"

namespace pfad::ingest {
namespace {

auto Log() { return Logger("ingest"); }

std::vector<int32_t> PartitionsOf(const std::vector<kafka::TopicPartition>& list) {
  std::vector<int32_t> out;
  for (const auto& tp : list) out.push_back(tp.partition);
  return out;
}

}  // namespace

Ingester::Ingester(const IngestOptions& options, kafka::Consumer& consumer, kafka::Producer& producer,
                   WriterSchemas& schemas, std::vector<std::unique_ptr<MinuteSink>> sinks,
                   events::MinuteCalendar calendar, const Clock& clock, const std::atomic<bool>& stop)
    : options_(options),
      consumer_(consumer),
      producer_(producer),
      schemas_(schemas),
      clock_(clock),
      stop_(stop),
      windows_(std::move(calendar), options.windows),
      writer_(std::move(sinks), clock),
      dlq_(producer, options.dlq_topic, "ingest"),
      announcer_(producer, options.windows_topic),
      progress_(consumer, options.topic) {
  last_commit_ = last_log_ = clock_.MonotonicSeconds();
}

Status Ingester::Open() {
  PFAD_ASSIGN_OR_RAISE(topic_partitions_, producer_.WaitForTopic(options_.topic, options_.connect_timeout));
  // Its side topics are created when missing, one partition each.
  for (const std::string& topic : {options_.dlq_topic, options_.windows_topic}) {
    PFAD_RETURN_NOT_OK(
        producer_.EnsureTopic(topic, 1, options_.topics.replication_factor, options_.connect_timeout)
            .status());
  }
  PFAD_RETURN_NOT_OK(writer_.CheckSinks());
  return consumer_.Subscribe(options_.topic);
}

void Ingester::OnRebalance(const kafka::Rebalance& rebalance) {
  const std::vector<int32_t> partitions = PartitionsOf(rebalance.partitions);
  if (rebalance.kind == kafka::RebalanceKind::kAssigned) {
    // A group whose static members (group.instance.id) last consumed another
    // topic: the broker hands a rejoining static member its stored assignment
    // without a rebalance, so it gets the old topic's partitions and would read
    // nothing, silently. Stop and say so instead.
    for (const auto& tp : rebalance.partitions) {
      if (tp.topic == options_.topic) continue;
      fatal_ = Status::IOError("group '", options_.group, "' assigned this member partition ", tp.partition,
                               " of topic '", tp.topic, "', not of '", options_.topic, "'",
                               options_.instance_id.empty()
                                   ? std::string()
                                   : " (its static member '" + options_.instance_id +
                                         "' still holds an assignment made for that topic)",
                               ": use another group, or stop every member and wait for the broker's session "
                               "timeout before reusing it");
      Log()->error("{}", fatal_.message());
      return;
    }
    Log()->info("assigned partitions={}", fmt::join(partitions, ","));
    windows_.Assign(partitions, clock_.NowMillis());
    return;
  }
  // Revoked: finish the writes in flight and commit what is stored, so the next
  // owner starts where stored data ends; events still in open windows are
  // dropped here and re-read by the next owner.
  DrainWrites();
  Commit(/*sync=*/true);
  for (const auto& [id, prepared] : prepared_) writer_.Discard(id);
  prepared_.clear();
  const int64_t dropped = windows_.Revoke(partitions);
  for (int32_t p : partitions) committed_.erase(p);
  Log()->info("revoked partitions={} dropped_open_events={} (re-read by their next owner)",
              fmt::join(partitions, ","), dropped);
}

void Ingester::Handle(const kafka::Message& msg, int64_t now) {
  ++metrics_.events_in;
  if (metrics_.first_message_wall_ms == 0) metrics_.first_message_wall_ms = now;
  std::string_view kind;
  std::string error;
  auto split = events::SplitConfluentFrame(msg.value);
  if (!split.ok()) {
    kind = "bad-frame";
    error = split.status().message();
  } else {
    auto decoder = schemas_.Decoder(split->first);
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
  if (Status st = dlq_.Publish(msg, kind, error); !st.ok()) {
    fatal_ = st;
    return;
  }
  ++metrics_.dlq;
  windows_.Skipped(msg.partition, msg.offset, now);
}

void Ingester::SubmitDue(int64_t now) {
  if (now < write_backoff_until_) return;
  for (auto& window : windows_.TakeDue(now)) {
    const int64_t close_at = window.minute.end_ms + options_.windows.grace_ms;
    int64_t prepared = 0;
    if (auto it = prepared_.find(window.id); it != prepared_.end()) {
      prepared = it->second;
      prepared_.erase(it);
    }
    writer_.Submit(
        WriteJob{.window = std::move(window), .close_at_ms = close_at, .prepared_events = prepared});
  }
}

bool Ingester::StorageBehind(int64_t now) {
  if (windows_.buffered_events() + writer_.pending_events() < options_.max_buffered_events) return false;
  // Only a write on its way (or its retry) frees events. Events that wait for their
  // minute to close are freed by reading on: a minute larger than the bound closes
  // when the next one begins.
  return writer_.pending() > 0 || now < write_backoff_until_;
}

void Ingester::PrepareAhead() {
  const auto rows = static_cast<size_t>(options_.row_group_rows);
  windows_.ForEachOpen([&](const MinuteWindow& window) {
    if (window.late || window.events.size() < rows) return;
    int64_t& prepared = prepared_[window.id];
    while (window.events.size() - static_cast<size_t>(prepared) >= rows) {
      const auto from = window.events.begin() + prepared;
      writer_.Prepare(window.id, std::vector<events::Event>(from, from + static_cast<std::ptrdiff_t>(rows)));
      prepared += static_cast<int64_t>(rows);
    }
  });
}

void Ingester::ProcessWrites(std::chrono::milliseconds wait) {
  for (auto& done : writer_.Collect(wait)) {
    if (!done.result.ok()) {
      ++metrics_.write_failures;
      // One error per outage (a full disk fails every minute on every retry); the rest at debug level.
      if (failed_writes_in_row_++ == 0) {
        Log()->error(
            "writing minute={} failed, retrying with backoff up to {} ms; nothing is committed past it "
            "(further failures are logged at debug level until a write succeeds): {}",
            done.job.window.minute.Name(), kMaxWriteBackoffMs, done.result.status().message());
      } else {
        Log()->debug("writing minute={} failed again: {}", done.job.window.minute.Name(),
                     done.result.status().message());
      }
      write_backoff_ms_ = std::clamp<int64_t>(write_backoff_ms_ * 2, 500, kMaxWriteBackoffMs);
      write_backoff_until_ = clock_.NowMillis() + write_backoff_ms_;
      windows_.Returned(std::move(done.job.window));
      continue;
    }
    write_backoff_ms_ = 0;
    if (failed_writes_in_row_ > 0) {
      Log()->info("writing works again after {} failed attempts", failed_writes_in_row_);
      failed_writes_in_row_ = 0;
    }
    const StoredMinute& stored = *done.result;
    windows_.Stored(done.job.window.id);
    metrics_.last_store_wall_ms = done.stored_wall_ms;
    if (stored.added > 0) {
      metrics_.events_stored += stored.added;
      ++metrics_.objects_written;
      if (stored.update) ++metrics_.object_updates;
    }
    if (stored.added > 0 && !stored.object.key.empty()) {  // a warehouse-only write has no object to announce
      announcer_.Publish({.object = stored.object.ToString(),
                          .minute = stored.minute,
                          .rows = stored.rows,
                          .added = stored.added,
                          .update = stored.update,
                          .close_at_ms = done.job.close_at_ms,
                          .stored_at_ms = done.stored_wall_ms});
    }
    if (!done.job.window.late) metrics_.RecordLatency(done.stored_wall_ms - done.job.close_at_ms);
    Log()->info(
        "stored object={} rows={} added={} update={} late={} latency_ms={} (read {} encode {} store {}; "
        "{} rows encoded ahead)",
        stored.object.ToString(), stored.rows, stored.added, stored.update, done.job.window.late,
        done.stored_wall_ms - done.job.close_at_ms, stored.read_ms, stored.encode_ms, stored.store_ms,
        stored.encoded_ahead);
  }
}

void Ingester::DrainWrites() {
  while (writer_.pending() > 0) ProcessWrites(std::chrono::milliseconds(200));
  ProcessWrites(std::chrono::milliseconds(0));
}

void Ingester::Commit(bool sync) {
  std::vector<kafka::TopicPartition> moved;
  for (const auto& [p, offset] : windows_.CommittableOffsets()) {
    if (auto it = committed_.find(p); it != committed_.end() && it->second == offset) continue;
    moved.push_back({.topic = options_.topic, .partition = p, .offset = offset});
  }
  if (moved.empty()) return;
  // DLQ messages below these offsets must be acknowledged first.
  if (producer_.in_flight() > 0) (void)producer_.Flush(std::chrono::seconds(10));
  if (producer_.failed() > 0) {
    fatal_ = Status::IOError("the DLQ/notification producer could not deliver: ", producer_.last_failure());
    return;
  }
  if (producer_.in_flight() > 0) return;  // not acknowledged yet: commit next time
  if (Status st = consumer_.Commit(moved, sync); !st.ok()) {
    Log()->warn("offset commit failed (re-read after a restart, not lost): {}", st.message());
    return;
  }
  for (const auto& tp : moved) committed_[tp.partition] = tp.offset;
}

bool Ingester::Step() {
  if (stop_ || !fatal_.ok()) return false;
  int64_t now = clock_.NowMillis();
  if (!StorageBehind(now)) {
    batch_.clear();
    consumer_.Poll(std::chrono::milliseconds(100), 10'000, batch_);
    now = clock_.NowMillis();
    for (const kafka::Message& msg : batch_) {
      if (msg.error.ok()) {
        if (fatal_.ok() && !stop_) Handle(msg, now);
      } else {
        Log()->warn("consumer: {}", msg.error.message());
        if (kafka::IsFatal(msg.error)) fatal_ = msg.error;
      }
    }
  } else {
    ProcessWrites(std::chrono::milliseconds(100));  // storage is behind: let it catch up
  }
  SubmitDue(now);
  PrepareAhead();
  ProcessWrites(std::chrono::milliseconds(0));
  producer_.Poll(std::chrono::milliseconds(0));
  const double mono = clock_.MonotonicSeconds();
  if (mono - last_commit_ >= 1.0) {
    Commit(/*sync=*/false);
    last_commit_ = mono;
  }
  if (mono - last_lag_ >= 1.0) {
    UpdateLag();
    last_lag_ = mono;
  }
  if (mono - last_log_ >= 10.0) {
    Log()->info("{}", metrics_.LogLine());
    last_log_ = mono;
  }
  if (options_.until_idle && !windows_.assigned().empty() && windows_.open_windows() == 0 &&
      windows_.in_flight() == 0 && windows_.AllIdle(clock_.NowMillis())) {
    // Everything read is stored and nothing arrives: done if nothing is left to
    // read, here or in partitions other members hold.
    UpdateLag();
    if (lag_known_ && metrics_.lag == 0 && mono - last_drained_check_ >= 1.0) {
      last_drained_check_ = mono;
      if (OthersDrained()) return false;
    }
  }
  return fatal_.ok() && !stop_;
}

void Ingester::UpdateLag() {
  const GroupProgress::Lag lag = progress_.Measure(windows_.assigned(), committed_);
  for (const auto& [p, caught_up] : lag.caught_up) windows_.SetCaughtUp(p, caught_up);
  metrics_.lag = lag.messages;
  lag_known_ = lag.known;
  metrics_.open_windows = static_cast<int64_t>(windows_.open_windows());
  metrics_.buffered_events = windows_.buffered_events();
}

bool Ingester::OthersDrained() {
  const auto unfinished = progress_.Unfinished(windows_.assigned(), topic_partitions_);
  if (!unfinished) return false;
  const std::string waiting = fmt::format("{}", fmt::join(*unfinished, ","));
  if (!unfinished->empty() && waiting != waiting_for_) {
    Log()->info(
        "until-idle: my partitions are done; waiting for partitions [{}] (held by other group members, "
        "not yet stored)",
        waiting);
  }
  waiting_for_ = waiting;
  return unfinished->empty();
}

Result<IngestStats> Ingester::Finish() {
  // Stop: what is being written is finished and committed; open windows are
  // not written (their events are re-read after a restart).
  DrainWrites();
  Commit(/*sync=*/true);
  (void)producer_.Flush(std::chrono::seconds(10));
  UpdateLag();
  Log()->info("final {}", metrics_.LogLine());
  consumer_.Close();
  if (!fatal_.ok()) return fatal_;
  return metrics_.Snapshot();
}

Result<IngestStats> Run(const IngestOptions& options, std::shared_ptr<storage::ObjectStore> store,
                        const std::atomic<bool>& stop, const Clock& clock) {
  std::vector<std::unique_ptr<MinuteSink>> sinks;
  sinks.push_back(std::make_unique<ObjectSink>(std::move(store), options.sink, options.row_group_rows));
  return Run(options, std::move(sinks), stop, clock);
}

Result<IngestStats> Run(const IngestOptions& given, std::vector<std::unique_ptr<MinuteSink>> sinks,
                        const std::atomic<bool>& stop, const Clock& clock) {
  if (sinks.empty()) return Status::Invalid("no sink: give an object store sink or a warehouse sink");
  const IngestOptions options = WithDefaults(given);
  PFAD_RETURN_NOT_OK(Validate(options));
  PFAD_ASSIGN_OR_RAISE(auto calendar, events::MinuteCalendar::Open());
  kafka::SchemaRegistryClient registry({.url = options.registry_url});
  WriterSchemas schemas([&registry](int32_t id) { return registry.SchemaById(id); }, stop, clock);
  Ingester* ingester = nullptr;  // set before the first Poll, the only place rebalances arrive
  PFAD_ASSIGN_OR_RAISE(auto consumer,
                       kafka::Consumer::Make(ConsumerProperties(options),
                                             [&](const kafka::Rebalance& r) { ingester->OnRebalance(r); }));
  PFAD_ASSIGN_OR_RAISE(auto producer, kafka::Producer::Make(ProducerProperties(options)));
  std::string sink_names;
  for (const auto& sink : sinks) sink_names += (sink_names.empty() ? "" : ",") + sink->Name();
  Ingester loop(options, *consumer, *producer, schemas, std::move(sinks), std::move(calendar), clock, stop);
  ingester = &loop;
  PFAD_RETURN_NOT_OK(loop.Open());
  Log()->info(
      "ingesting topic={} group={} sink={} grace_ms={} lookback_ms={} idle_timeout_ms={} librdkafka={}",
      options.topic, options.group, sink_names, options.windows.grace_ms, options.windows.lookback_ms,
      options.windows.idle_timeout_ms, kafka::LibraryVersion());
  std::unique_ptr<http::Server> metrics_server;
  if (options.metrics_port > 0) {
    PFAD_ASSIGN_OR_RAISE(metrics_server,
                         ServeMetrics(loop.metrics(), options.metrics_host, options.metrics_port));
  }
  while (loop.Step()) {
  }
  return loop.Finish();
}

}  // namespace pfad::ingest
