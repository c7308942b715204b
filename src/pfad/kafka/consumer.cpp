#include "pfad/kafka/consumer.h"

#include "pfad/kafka/handle.h"

namespace pfad::kafka {
namespace {

void DestroyMessage(void* m) { rd_kafka_message_destroy(static_cast<rd_kafka_message_t*>(m)); }

internal::PartitionListPtr ToList(const std::vector<TopicPartition>& partitions) {
  internal::PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& tp : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset =
        tp.offset == kOffsetStored ? RD_KAFKA_OFFSET_STORED : tp.offset;
  }
  return list;
}

std::vector<TopicPartition> FromList(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  out.reserve(static_cast<size_t>(list->cnt));
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    out.push_back({.topic = e.topic,
                   .partition = e.partition,
                   .offset = e.err == RD_KAFKA_RESP_ERR_NO_ERROR ? e.offset : RD_KAFKA_OFFSET_INVALID});
  }
  return out;
}

class RdConsumer final : public Consumer {
 public:
  explicit RdConsumer(RebalanceHandler on_rebalance) : on_rebalance_(std::move(on_rebalance)) {}
  ~RdConsumer() override { Close(); }

  Status Open(Properties properties) {
    properties["enable.auto.commit"] = "false";
    properties["enable.auto.offset.store"] = "false";
    PFAD_ASSIGN_OR_RAISE(auto conf, internal::MakeConf(properties));
    if (on_rebalance_) rd_kafka_conf_set_rebalance_cb(conf.get(), &RdConsumer::OnRebalance);
    rd_kafka_conf_set_opaque(conf.get(), this);
    PFAD_ASSIGN_OR_RAISE(handle_, internal::MakeHandle(RD_KAFKA_CONSUMER, conf, "consumer"));
    rd_kafka_poll_set_consumer(handle_.get());
    queue_.reset(rd_kafka_queue_get_consumer(handle_.get()));
    return Status::OK();
  }

  Status Subscribe(const std::string& topic) override {
    auto list = ToList({{.topic = topic, .partition = RD_KAFKA_PARTITION_UA}});
    if (const auto e = rd_kafka_subscribe(handle_.get(), list.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return internal::ErrorStatus(e, "cannot subscribe to " + topic);
    }
    return Status::OK();
  }

  Status Assign(const std::vector<TopicPartition>& partitions) override {
    auto list = ToList(partitions);
    if (const auto e = rd_kafka_assign(handle_.get(), list.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return internal::ErrorStatus(e, "cannot assign partitions");
    }
    return Status::OK();
  }

  void Poll(std::chrono::milliseconds timeout, size_t max, std::vector<Message>& out) override {
    batch_.resize(max);
    const ssize_t n =
        rd_kafka_consume_batch_queue(queue_.get(), static_cast<int>(timeout.count()), batch_.data(), max);
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = batch_[static_cast<size_t>(i)];
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        rd_kafka_message_destroy(m);
        continue;
      }
      Message& msg = out.emplace_back();
      msg.owner = {m, &DestroyMessage};
      msg.partition = m->partition;
      msg.offset = m->offset;
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        const bool fatal = rd_kafka_fatal_error(handle_.get(), nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR;
        msg.error =
            fatal ? Status(arrow::StatusCode::IOError,
                           std::string("Kafka consumer failed: ") + rd_kafka_message_errstr(m),
                           std::make_shared<KafkaErrorDetail>(static_cast<int>(m->err), ErrorKind::kFatal))
                  : internal::ErrorStatus(m->err, "consumer");
        continue;
      }
      if (m->rkt != nullptr) msg.topic = rd_kafka_topic_name(m->rkt);
      if (m->key != nullptr) msg.key = {static_cast<const char*>(m->key), m->key_len};
      if (m->payload != nullptr) msg.value = {static_cast<const char*>(m->payload), m->len};
      msg.timestamp_ms = rd_kafka_message_timestamp(m, nullptr);
    }
  }

  Status Commit(const std::vector<TopicPartition>& offsets, bool sync) override {
    if (offsets.empty()) return Status::OK();
    auto list = ToList(offsets);
    const auto e = rd_kafka_commit(handle_.get(), list.get(), sync ? 0 : 1);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      return internal::ErrorStatus(e, "offset commit failed");
    }
    return Status::OK();
  }

  Result<std::vector<TopicPartition>> Committed(const std::vector<TopicPartition>& partitions,
                                                std::chrono::milliseconds timeout) override {
    auto list = ToList(partitions);
    if (const auto e = rd_kafka_committed(handle_.get(), list.get(), static_cast<int>(timeout.count()));
        e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return internal::ErrorStatus(e, "cannot read committed offsets");
    }
    return FromList(list.get());
  }

  std::optional<int64_t> Position(const std::string& topic, int32_t partition) override {
    auto list = ToList({{.topic = topic, .partition = partition}});
    rd_kafka_position(handle_.get(), list.get());
    const int64_t offset = list->elems[0].offset;
    if (offset < 0) return std::nullopt;
    return offset;
  }

  Result<Watermarks> QueryWatermarks(const std::string& topic, int32_t partition,
                                     std::chrono::milliseconds timeout) override {
    Watermarks w;
    if (timeout.count() == 0) {
      if (rd_kafka_get_watermark_offsets(handle_.get(), topic.c_str(), partition, &w.low, &w.high) ==
              RD_KAFKA_RESP_ERR_NO_ERROR &&
          w.high >= 0) {
        return w;
      }
      timeout = std::chrono::milliseconds(2000);
    }
    if (const auto e = rd_kafka_query_watermark_offsets(handle_.get(), topic.c_str(), partition, &w.low,
                                                        &w.high, static_cast<int>(timeout.count()));
        e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return internal::ErrorStatus(e, "cannot query the watermarks of " + topic);
    }
    return w;
  }

  Result<int32_t> WaitForTopic(const std::string& topic, std::chrono::milliseconds timeout) override {
    return internal::WaitForTopic(handle_.get(), topic, timeout);
  }

  Status FatalError() const override { return internal::FatalError(handle_.get()); }

  void Close() override {
    if (!handle_ || closed_) return;
    closed_ = true;
    queue_.reset();
    rd_kafka_consumer_close(handle_.get());
  }

 private:
  struct QueueDeleter {
    void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
  };

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                          void* opaque) {
    auto* self = static_cast<RdConsumer*>(opaque);
    const bool cooperative = std::string_view(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
    const bool assigned = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
    self->on_rebalance_({.kind = assigned ? RebalanceKind::kAssigned : RebalanceKind::kRevoked,
                         .partitions = FromList(parts)});
    if (assigned) {
      if (cooperative) {
        if (auto* e = rd_kafka_incremental_assign(rk, parts)) rd_kafka_error_destroy(e);
      } else {
        rd_kafka_assign(rk, parts);
      }
    } else if (cooperative) {
      if (auto* e = rd_kafka_incremental_unassign(rk, parts)) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }

  RebalanceHandler on_rebalance_;
  internal::HandlePtr handle_;
  std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue_;
  std::vector<rd_kafka_message_t*> batch_;
  bool closed_ = false;
};

}  // namespace

Result<std::unique_ptr<Consumer>> Consumer::Make(const Properties& properties,
                                                 RebalanceHandler on_rebalance) {
  auto consumer = std::make_unique<RdConsumer>(std::move(on_rebalance));
  PFAD_RETURN_NOT_OK(consumer->Open(properties));
  return std::unique_ptr<Consumer>(std::move(consumer));
}

}  // namespace pfad::kafka
