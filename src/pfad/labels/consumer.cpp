#include "pfad/labels/consumer.h"

#include <fmt/format.h>

#include <algorithm>

#include "pfad/common/log.h"
#include "pfad/kafka/error.h"
#include "pfad/labels/label_store.h"

namespace pfad::labels {
namespace {

auto Log() { return Logger("labels"); }

using std::chrono::milliseconds;

// The labels of one partition in a batch, and the offset to commit after them.
struct PartitionBatch {
  int64_t first_offset = -1;
  int64_t next_offset = 0;
  std::vector<events::LabelRecord> records;
};

}  // namespace

LabelConsumer::LabelConsumer(const LabelsOptions& options, kafka::Consumer& consumer,
                             kafka::Producer& producer, const storage::ObjectStore& store,
                             storage::ObjectUri prefix, ReviewSource* reviews, const Clock& clock,
                             const std::atomic<bool>& stop)
    : options_(options),
      consumer_(consumer),
      producer_(producer),
      store_(store),
      prefix_(std::move(prefix)),
      clock_(clock),
      stop_(stop),
      labels_topic_(options.LabelsTopic()),
      dlq_(producer, options.DlqTopic(), "labels") {
  if (reviews != nullptr) reviews_.emplace(*reviews, store_, prefix_, clock_, options_.review_poll);
}

Status LabelConsumer::Open() {
  auto partitions = consumer_.WaitForTopic(labels_topic_, options_.connect_timeout);
  if (!partitions.ok()) {
    return Status::IOError(partitions.status().message(),
                           " (pfad produce --fraud also creates the labels topic)");
  }
  PFAD_RETURN_NOT_OK(store_.CheckContainer(prefix_));
  if (reviews_) PFAD_RETURN_NOT_OK(reviews_->Resume());
  // Created only once the rest is known to work: a failed start leaves nothing behind.
  PFAD_RETURN_NOT_OK(
      producer_
          .EnsureTopic(options_.DlqTopic(), 1, options_.topics.replication_factor, options_.connect_timeout)
          .status());
  if (options_.once) {
    for (int32_t p = 0; p < *partitions; ++p) {
      PFAD_ASSIGN_OR_RAISE(const auto marks,
                           consumer_.QueryWatermarks(labels_topic_, p, options_.connect_timeout));
      if (marks.high > marks.low) targets_[p] = marks.high;
    }
  }
  return consumer_.Subscribe(labels_topic_);
}

void LabelConsumer::OnRebalance(const kafka::Rebalance& rebalance) {
  std::string partitions;
  for (const auto& tp : rebalance.partitions)
    partitions += (partitions.empty() ? "" : ",") + std::to_string(tp.partition);
  if (rebalance.kind == kafka::RebalanceKind::kAssigned) {
    Log()->info("assigned partitions={}", partitions);
    return;
  }
  // Revoked: what was read is written and committed now, so the next owner starts after it.
  if (!batch_.empty() && fatal_.ok()) (void)FlushBatch();
  Log()->info("revoked partitions={}", partitions);
}

void LabelConsumer::Collect() {
  const double deadline =
      clock_.MonotonicSeconds() + std::chrono::duration<double>(options_.batch_time).count();
  const auto max = static_cast<size_t>(options_.batch_messages);
  while (batch_.size() < max && !stop_ && fatal_.ok()) {
    const double left_s = deadline - clock_.MonotonicSeconds();
    if (left_s <= 0) break;
    const auto wait = std::clamp<int64_t>(static_cast<int64_t>(left_s * 1000), 1, 200);
    polled_.clear();
    consumer_.Poll(milliseconds(wait), max - batch_.size(), polled_);
    size_t got = 0;
    for (auto& msg : polled_) {
      if (!msg.error.ok()) {
        Log()->warn("consumer: {}", msg.error.message());
        if (kafka::IsFatal(msg.error)) fatal_ = msg.error;
        continue;
      }
      batch_.push_back(std::move(msg));
      ++got;
    }
    if (got == 0) break;  // idle: waiting longer buys nothing
  }
}

Status LabelConsumer::WaitForDlq() {
  while (producer_.in_flight() > 0 && !stop_) (void)producer_.Flush(milliseconds(1000));
  if (producer_.failed() > 0) {
    return Status::IOError("the DLQ topic ", options_.DlqTopic(),
                           " did not take a message: ", producer_.last_failure());
  }
  if (producer_.in_flight() > 0) return Status::Cancelled("stopped while the DLQ was being written");
  return Status::OK();
}

bool LabelConsumer::FlushBatch() {
  if (batch_.empty()) return true;
  std::map<int32_t, PartitionBatch> parts;
  int64_t dlq = 0;
  for (const auto& msg : batch_) {
    auto& part = parts[msg.partition];
    if (part.first_offset < 0) part.first_offset = msg.offset;
    part.first_offset = std::min(part.first_offset, msg.offset);
    part.next_offset = std::max(part.next_offset, msg.offset + 1);
    auto record = events::ParseLabelMessage(msg.value, msg.timestamp_ms);
    if (record.ok()) {
      record->ref = fmt::format("{}/{}/{}", msg.topic, msg.partition, msg.offset);
      part.records.push_back(std::move(*record));
      continue;
    }
    if (Status st = dlq_.Publish(msg, "invalid-label", record.status().message()); !st.ok()) {
      fatal_ = st;
      return false;
    }
    ++dlq;
  }
  int64_t written = 0, objects = 0;
  for (const auto& [partition, part] : parts) {
    if (part.records.empty()) continue;
    int64_t backoff_ms = 0;
    while (true) {
      auto uris = WriteLabelRecords(
          store_, prefix_, KafkaStem(partition, part.first_offset, part.next_offset - 1), part.records);
      if (uris.ok()) {
        objects += static_cast<int64_t>(uris->size());
        break;
      }
      ++stats_.write_failures;
      // One error per outage; the retries at debug level.
      if (write_failures_in_row_++ == 0) {
        Log()->error(
            "writing the labels of partition={} offsets {}.. failed, retrying with backoff up to {} ms; "
            "nothing "
            "is committed past them: {}",
            partition, part.first_offset, kMaxWriteBackoffMs, uris.status().message());
      } else {
        Log()->debug("writing labels failed again: {}", uris.status().message());
      }
      if (stop_) return false;  // not committed: read again after a restart
      backoff_ms = std::clamp<int64_t>(backoff_ms * 2, 250, kMaxWriteBackoffMs);
      clock_.SleepFor(milliseconds(backoff_ms));
    }
    if (write_failures_in_row_ > 0) {
      Log()->info("writing labels works again after {} failed attempts", write_failures_in_row_);
      write_failures_in_row_ = 0;
    }
    written += static_cast<int64_t>(part.records.size());
  }
  if (Status st = WaitForDlq(); !st.ok()) {
    if (!st.IsCancelled()) fatal_ = st;
    return false;
  }
  std::vector<kafka::TopicPartition> offsets;
  for (const auto& [partition, part] : parts) {
    offsets.push_back({.topic = labels_topic_, .partition = partition, .offset = part.next_offset});
  }
  if (Status st = consumer_.Commit(offsets, /*sync=*/true); !st.ok()) {
    Log()->warn("offset commit failed (the batch is read again after a restart; its labels count once): {}",
                st.message());
  } else {
    for (const auto& tp : offsets) ReachedOffset(tp.partition, tp.offset);
  }
  stats_.messages += static_cast<int64_t>(batch_.size());
  stats_.labels_written += written;
  stats_.dlq += dlq;
  stats_.objects_written += objects;
  ++stats_.batches;
  Log()->info("batch messages={} labels_written={} dlq={} objects={} partitions={}", batch_.size(), written,
              dlq, objects, parts.size());
  batch_.clear();
  return true;
}

void LabelConsumer::ReachedOffset(int32_t partition, int64_t committed) {
  if (auto it = targets_.find(partition); it != targets_.end() && committed >= it->second) targets_.erase(it);
}

bool LabelConsumer::CaughtUp() {
  if (targets_.empty()) return true;
  // Partitions this member does not commit (held by another member, or with nothing new to
  // read) are asked of the broker, at most twice a second.
  const double now = clock_.MonotonicSeconds();
  if (now - last_caught_up_check_ < 0.5) return false;
  last_caught_up_check_ = now;
  std::vector<kafka::TopicPartition> asked;
  for (const auto& [p, end] : targets_) asked.push_back({.topic = labels_topic_, .partition = p});
  auto committed = consumer_.Committed(asked, milliseconds(5000));
  if (!committed.ok()) return false;
  for (const auto& tp : *committed) ReachedOffset(tp.partition, tp.offset);
  return targets_.empty();
}

void LabelConsumer::DrainReviews() {
  if (!reviews_) return;
  const double give_up =
      clock_.MonotonicSeconds() + std::chrono::duration<double>(options_.connect_timeout).count();
  while (!stop_) {
    const Status st = reviews_->Poll();
    if (st.ok()) return;
    if (clock_.MonotonicSeconds() >= give_up) {
      fatal_ = Status::IOError(
          "--once: the reviews could not be taken within the connect timeout (the topic's "
          "labels are stored and committed): ",
          st.message());
      return;
    }
    clock_.SleepFor(std::min(options_.review_poll, milliseconds(1000)));
  }
}

bool LabelConsumer::Step() {
  if (stop_ || !fatal_.ok()) return false;
  Collect();
  if (!FlushBatch()) return false;
  if (reviews_ && reviews_->Due()) (void)reviews_->Poll();  // logged there, retried when next due
  // Checked after every batch: a topic still being written is done at its ends as they were.
  if (options_.once && CaughtUp()) {
    DrainReviews();
    return false;
  }
  return fatal_.ok() && !stop_;
}

Result<LabelsStats> LabelConsumer::Finish() {
  if (fatal_.ok()) (void)FlushBatch();  // stopping: the batch read so far is written and committed
  batch_.clear();                       // what is left is not committed: read again after a restart
  (void)producer_.Flush(milliseconds(10'000));
  if (reviews_) {
    stats_.reviews = reviews_->taken();
    stats_.reviews_refused = reviews_->refused();
  }
  Log()->info(
      "final messages={} labels_written={} dlq={} reviews={} reviews_refused={} objects={} batches={} "
      "write_failures={}",
      stats_.messages, stats_.labels_written, stats_.dlq, stats_.reviews, stats_.reviews_refused,
      stats_.objects_written, stats_.batches, stats_.write_failures);
  consumer_.Close();
  if (!fatal_.ok()) return fatal_;
  return stats_;
}

Result<LabelsStats> Run(const LabelsOptions& options, const storage::StorageConfig& storage,
                        const std::atomic<bool>& stop, const Clock& clock) {
  PFAD_RETURN_NOT_OK(Validate(options));
  PFAD_ASSIGN_OR_RAISE(const auto prefix, storage::ObjectUri::Parse(options.prefix));
  PFAD_ASSIGN_OR_RAISE(auto store, storage::ObjectStore::Open(prefix, storage));
  LabelConsumer* loop = nullptr;  // set before the first Poll, the only place rebalances arrive
  PFAD_ASSIGN_OR_RAISE(auto consumer,
                       kafka::Consumer::Make(ConsumerProperties(options), [&](const kafka::Rebalance& r) {
                         if (loop != nullptr) loop->OnRebalance(r);
                       }));
  PFAD_ASSIGN_OR_RAISE(auto producer, kafka::Producer::Make(ProducerProperties(options)));
  std::unique_ptr<DashboardReviews> reviews;
  if (!options.dashboard_url.empty()) {
    std::string url = options.dashboard_url;
    while (url.ends_with('/')) url.pop_back();
    reviews = std::make_unique<DashboardReviews>(
        DashboardAccess{.url = url, .token = options.dashboard_token, .ca_file = options.dashboard_ca});
  }
  LabelConsumer consumer_loop(options, *consumer, *producer, *store, prefix, reviews.get(), clock, stop);
  loop = &consumer_loop;
  PFAD_RETURN_NOT_OK(consumer_loop.Open());
  Log()->info("consuming topic={} group={} labels={} dlq={} dashboard={} once={} librdkafka={}",
              options.LabelsTopic(), options.group, prefix.ToString(), options.DlqTopic(),
              options.dashboard_url.empty() ? "-" : options.dashboard_url, options.once,
              kafka::LibraryVersion());
  while (consumer_loop.Step()) {
  }
  return consumer_loop.Finish();
}

}  // namespace pfad::labels
