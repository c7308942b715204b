#include "pfad/kafka/producer.h"

#include <unordered_map>

#include "pfad/kafka/handle.h"

namespace pfad::kafka {

std::string Producer::last_failure() const {
  std::lock_guard lock(failure_mutex_);
  return last_failure_;
}

void Producer::CountDelivery(const DeliveryReport& report) {
  if (report.error.ok()) {
    delivered_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  failed_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(failure_mutex_);
  last_failure_ = report.error.message();
}

size_t Producer::ProduceBatch(const std::string& topic, int32_t partition,
                              std::span<const OutgoingMessage> messages, Status& error) {
  size_t done = 0;
  for (OutgoingMessage m : messages) {
    m.partition = partition;
    error = Produce(topic, m);
    if (!error.ok()) break;
    ++done;
  }
  return done;
}

namespace {

class RdProducer final : public Producer {
 public:
  explicit RdProducer(DeliveryHandler on_delivery) : on_delivery_(std::move(on_delivery)) {}
  ~RdProducer() override {
    topics_.clear();
    handle_.reset();  // before the handler it may still call
  }

  Status Open(const Properties& properties) {
    PFAD_ASSIGN_OR_RAISE(auto conf, internal::MakeConf(properties));
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &RdProducer::OnDelivery);
    rd_kafka_conf_set_opaque(conf.get(), this);
    PFAD_ASSIGN_OR_RAISE(handle_, internal::MakeHandle(RD_KAFKA_PRODUCER, conf, "producer"));
    return Status::OK();
  }

  Status Produce(const std::string& topic, const OutgoingMessage& m) override {
    rd_kafka_headers_t* headers = nullptr;
    if (m.headers != nullptr) {
      headers = rd_kafka_headers_new(m.headers->size());
      for (const auto& [name, value] : *m.headers) {
        rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                            static_cast<ssize_t>(value.size()));
      }
    }
    CountQueued(1);
    const auto e = rd_kafka_producev(
        handle_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(m.partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(m.key.data(), m.key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(m.value.data()), m.value.size()), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_OPAQUE(m.opaque), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      CountQueued(-1);
      if (headers != nullptr) rd_kafka_headers_destroy(headers);  // not taken over on failure
      return internal::ErrorStatus(e, "cannot produce to " + topic);
    }
    return Status::OK();
  }

  size_t ProduceBatch(const std::string& topic, int32_t partition, std::span<const OutgoingMessage> messages,
                      Status& error) override {
    rd_kafka_topic_t* rkt = Topic(topic);
    batch_.assign(messages.size(), rd_kafka_message_t{});
    for (size_t i = 0; i < messages.size(); ++i) {
      if (messages[i].headers != nullptr) return Producer::ProduceBatch(topic, partition, messages, error);
      rd_kafka_message_t& m = batch_[i];
      m.key = const_cast<char*>(messages[i].key.data());
      m.key_len = messages[i].key.size();
      m.payload = const_cast<char*>(messages[i].value.data());
      m.len = messages[i].value.size();
      m._private = messages[i].opaque;
    }
    const int n = static_cast<int>(batch_.size());
    const int good = rd_kafka_produce_batch(rkt, partition, RD_KAFKA_MSG_F_COPY, batch_.data(), n);
    CountQueued(good);
    // librdkafka queues from the front and fails the rest from the first refused message on.
    size_t queued = 0;
    while (queued < batch_.size() && batch_[queued].err == RD_KAFKA_RESP_ERR_NO_ERROR) ++queued;
    error = queued == batch_.size() ? Status::OK()
                                    : internal::ErrorStatus(batch_[queued].err, "cannot produce to " + topic);
    return queued;
  }

  void Poll(std::chrono::milliseconds timeout) override {
    rd_kafka_poll(handle_.get(), static_cast<int>(timeout.count()));
  }

  Status Flush(std::chrono::milliseconds timeout) override {
    const auto e = rd_kafka_flush(handle_.get(), static_cast<int>(timeout.count()));
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return internal::ErrorStatus(e, "flushing the Kafka producer");
    return FatalError();
  }

  Result<int32_t> WaitForTopic(const std::string& topic, std::chrono::milliseconds timeout) override {
    return internal::WaitForTopic(handle_.get(), topic, timeout);
  }

  Result<int32_t> EnsureTopic(const std::string& topic, int32_t partitions, int32_t replication_factor,
                              std::chrono::milliseconds timeout) override {
    return internal::EnsureTopic(handle_.get(), topic, partitions, replication_factor, timeout);
  }

  int32_t PartitionFor(const std::string& topic, std::string_view key, int32_t partitions) override {
    return rd_kafka_msg_partitioner_murmur2_random(Topic(topic), key.data(), key.size(), partitions, nullptr,
                                                   nullptr);
  }

  Status FatalError() const override { return internal::FatalError(handle_.get()); }

 private:
  static void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* opaque) {
    auto* self = static_cast<RdProducer*>(opaque);
    DeliveryReport report{.topic = rd_kafka_topic_name(msg->rkt),
                          .partition = msg->partition,
                          .offset = msg->offset,
                          .opaque = msg->_private};
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      report.error = internal::ErrorStatus(
          msg->err, std::string("delivery to ") + std::string(report.topic) + " failed");
    }
    self->CountDelivery(report);
    if (self->on_delivery_) self->on_delivery_(report);
  }

  rd_kafka_topic_t* Topic(const std::string& name) {
    auto it = topics_.find(name);
    if (it == topics_.end())
      it = topics_.emplace(name, rd_kafka_topic_new(handle_.get(), name.c_str(), nullptr)).first;
    return it->second.get();
  }

  DeliveryHandler on_delivery_;
  internal::HandlePtr handle_;
  std::unordered_map<std::string, internal::TopicPtr> topics_;
  std::vector<rd_kafka_message_t> batch_;
};

}  // namespace

Result<std::unique_ptr<Producer>> Producer::Make(const Properties& properties, DeliveryHandler on_delivery) {
  auto producer = std::make_unique<RdProducer>(std::move(on_delivery));
  PFAD_RETURN_NOT_OK(producer->Open(properties));
  return std::unique_ptr<Producer>(std::move(producer));
}

}  // namespace pfad::kafka
