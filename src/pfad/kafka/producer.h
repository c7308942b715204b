// kafka::Producer: one librdkafka producer handle. Messages are copied on
// Produce; delivery reports come back through the handler given at Make, on the
// thread that calls Poll or Flush. The producer also counts what it has in
// flight and what failed, so a caller can hold an offset commit until the
// messages it depends on are acknowledged.
#pragma once

#include "pfad/common/status.h"
#include "pfad/kafka/client.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pfad::kafka {

inline constexpr int32_t kAnyPartition = -1;  // the configured partitioner chooses

using Headers = std::vector<std::pair<std::string, std::string>>;

struct OutgoingMessage {
  std::string_view key;
  std::string_view value;
  int32_t partition = kAnyPartition;
  const Headers* headers = nullptr;
  void* opaque = nullptr;  // handed back in the delivery report
};

struct DeliveryReport {
  std::string_view topic;
  int32_t partition = kAnyPartition;
  int64_t offset = -1;
  Status error;  // OK when acknowledged (kafka/error.h tells retriable from fatal)
  void* opaque = nullptr;
};
using DeliveryHandler = std::function<void(const DeliveryReport&)>;

class Producer {
 public:
  virtual ~Producer() = default;

  // Queues a copy of `message` for `topic`. A retriable error (the local queue
  // is full) means: Poll, then try again.
  [[nodiscard]] virtual Status Produce(const std::string& topic, const OutgoingMessage& message) = 0;
  // Queues `messages` for one partition (kAnyPartition: the partitioner chooses)
  // in one call; returns how many were queued from the front. Those after the
  // first refused one are not queued; `error` says why (retriable when full).
  virtual size_t ProduceBatch(const std::string& topic, int32_t partition,
                              std::span<const OutgoingMessage> messages, Status& error);
  // Serves delivery reports, waiting up to `timeout` for one.
  virtual void Poll(std::chrono::milliseconds timeout) = 0;
  // Waits until every queued message is acknowledged or failed, at most `timeout`;
  // retriable error when some are still in flight then.
  [[nodiscard]] virtual Status Flush(std::chrono::milliseconds timeout) = 0;
  // Waits until `topic` exists (its partition count), at most `timeout`.
  virtual Result<int32_t> WaitForTopic(const std::string& topic, std::chrono::milliseconds timeout) = 0;
  // WaitForTopic, creating the topic first when it does not exist (partitions,
  // replication_factor -1 = the broker's default); a broker that refuses gives
  // an error naming the topic. Kafka Connect creates its dead-letter topic the
  // same way. This default, for fakes, only waits.
  virtual Result<int32_t> EnsureTopic(const std::string& topic, int32_t /*partitions*/,
                                      int32_t /*replication_factor*/, std::chrono::milliseconds timeout) {
    return WaitForTopic(topic, timeout);
  }
  // The partition murmur2_random (the Java client's key hashing) gives `key`.
  [[nodiscard]] virtual int32_t PartitionFor(const std::string& topic, std::string_view key,
                                             int32_t partitions) = 0;
  // A fatal error of the client (fenced producer, ...; the message is the reason), else OK.
  [[nodiscard]] virtual Status FatalError() const = 0;

  // Queued and not yet acknowledged or failed.
  [[nodiscard]] int64_t in_flight() const { return queued_.load() - delivered_.load() - failed_.load(); }
  [[nodiscard]] int64_t delivered() const { return delivered_.load(); }
  [[nodiscard]] int64_t failed() const { return failed_.load(); }
  // The last delivery failure ("" when none).
  [[nodiscard]] std::string last_failure() const;

  // A librdkafka producer with `properties`; Invalid for a refused property.
  static Result<std::unique_ptr<Producer>> Make(const Properties& properties,
                                                DeliveryHandler on_delivery = nullptr);

 protected:
  // Bookkeeping for implementations.
  void CountQueued(int64_t n) { queued_.fetch_add(n, std::memory_order_relaxed); }
  void CountDelivery(const DeliveryReport& report);

 private:
  std::atomic<int64_t> queued_{0}, delivered_{0}, failed_{0};
  mutable std::mutex failure_mutex_;
  std::string last_failure_;
};

}  // namespace pfad::kafka
