#include "pfad/kafka/publisher.h"

#include "pfad/kafka/error.h"

namespace pfad::kafka {

TopicPublisher::TopicPublisher(std::string bootstrap, std::string topic, Properties properties,
                               std::chrono::milliseconds timeout)
    : topic_(std::move(topic)), timeout_(timeout) {
  properties_ = {{"bootstrap.servers", std::move(bootstrap)},
                 {"acks", "all"},
                 {"enable.idempotence", "true"},
                 {"linger.ms", "5"},
                 {"message.timeout.ms", std::to_string(timeout.count())},
                 {"client.id", "pfad-publisher"}};
  for (auto& [k, v] : properties) properties_[k] = std::move(v);
}

Status TopicPublisher::Publish(const std::vector<std::pair<std::string, std::string>>& messages) {
  if (messages.empty()) return Status::OK();
  std::lock_guard lock(mutex_);
  if (!producer_) {
    PFAD_ASSIGN_OR_RAISE(producer_, Producer::Make(properties_));
    // Created when missing (one partition, the broker's replication factor), as ingest creates its DLQ.
    if (auto found = producer_->EnsureTopic(topic_, 1, -1, timeout_); !found.ok()) {
      producer_.reset();
      return found.status();
    }
  }
  const int64_t failed_before = producer_->failed();
  for (const auto& [key, value] : messages) {
    while (true) {
      const Status st = producer_->Produce(topic_, {.key = key, .value = value});
      if (st.ok()) break;
      if (!IsRetriable(st)) return st.WithMessage("topic '", topic_, "': ", st.message());
      producer_->Poll(std::chrono::milliseconds(20));
    }
  }
  PFAD_RETURN_NOT_OK(producer_->Flush(timeout_ + std::chrono::milliseconds(1000)));
  if (const int64_t failed = producer_->failed() - failed_before; failed > 0) {
    return Status::IOError(failed, " of ", messages.size(), " messages to topic '", topic_,
                           "' were not delivered: ", producer_->last_failure());
  }
  if (const Status fatal = producer_->FatalError(); !fatal.ok()) {
    producer_.reset();
    return fatal;
  }
  return Status::OK();
}

}  // namespace pfad::kafka
