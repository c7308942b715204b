// kafka::TopicPublisher: keyed messages to one topic, each call all-or-error.
// For small, rare messages (fraud alerts): Publish queues them, flushes and
// fails unless every one was acknowledged, so the caller can retry the lot.
// The producer (acks=all, idempotence on) is made on first use and kept.
#pragma once

#include "pfad/common/status.h"
#include "pfad/kafka/client.h"
#include "pfad/kafka/producer.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace pfad::kafka {

class TopicPublisher {
 public:
  // `properties` over the defaults (bootstrap.servers from `bootstrap`, acks=all,
  // idempotence, message.timeout.ms = `timeout`).
  TopicPublisher(std::string bootstrap, std::string topic, Properties properties = {},
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(15'000));

  // Sends {key, value} pairs; an error when any is not acknowledged within the timeout
  // (or the topic is missing and cannot be created), naming the topic.
  [[nodiscard]] Status Publish(const std::vector<std::pair<std::string, std::string>>& messages);

  [[nodiscard]] const std::string& topic() const { return topic_; }

 private:
  std::string topic_;
  Properties properties_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::unique_ptr<Producer> producer_;
};

}  // namespace pfad::kafka
