// kafka::Consumer: one librdkafka consumer handle, in a group (Subscribe) or on
// partitions chosen by the caller (Assign). Offsets are committed only by
// Commit: auto-commit and auto offset store are always off, so a caller commits
// exactly what it has stored. Rebalances reach the handler given at Make, on
// the thread that calls Poll; the consumer applies the (incremental or eager)
// assignment itself once the handler returns, so a handler only does its own
// bookkeeping (finish writes, commit, forget revoked state).
#pragma once

#include "pfad/common/status.h"
#include "pfad/kafka/client.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pfad::kafka {

inline constexpr int64_t kOffsetEnd = -1;        // the partition's end (only new messages)
inline constexpr int64_t kOffsetBeginning = -2;  // the partition's start
inline constexpr int64_t kOffsetStored = -1000;  // the committed offset (auto.offset.reset otherwise)

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = kOffsetStored;
  bool operator==(const TopicPartition&) const = default;
};

// One consumed message, or a consumer error (error not OK). The views point
// into memory the message owns.
struct Message {
  std::string_view topic;
  std::string_view key;
  std::string_view value;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;
  Status error;
  std::unique_ptr<void, void (*)(void*)> owner{nullptr, nullptr};
};

enum class RebalanceKind { kAssigned, kRevoked };
struct Rebalance {
  RebalanceKind kind;
  std::vector<TopicPartition> partitions;
};
using RebalanceHandler = std::function<void(const Rebalance&)>;

struct Watermarks {
  int64_t low = 0;
  int64_t high = 0;  // the next offset to be written
};

class Consumer {
 public:
  virtual ~Consumer() = default;

  // Joins the group (group.id) for `topic`.
  [[nodiscard]] virtual Status Subscribe(const std::string& topic) = 0;
  // Reads exactly these partitions from their offsets (no group assignment).
  [[nodiscard]] virtual Status Assign(const std::vector<TopicPartition>& partitions) = 0;
  // Appends up to `max` messages to `out`, waiting up to `timeout` for the first.
  // Rebalance handlers run inside this call. End-of-partition events are not messages.
  virtual void Poll(std::chrono::milliseconds timeout, size_t max, std::vector<Message>& out) = 0;
  // Commits these offsets (each the next offset to read); `sync` waits for the broker.
  [[nodiscard]] virtual Status Commit(const std::vector<TopicPartition>& offsets, bool sync) = 0;
  // The committed offsets of these partitions (offset < 0: none), asking the broker.
  virtual Result<std::vector<TopicPartition>> Committed(const std::vector<TopicPartition>& partitions,
                                                        std::chrono::milliseconds timeout) = 0;
  // The next offset this consumer will read from the partition, when known.
  [[nodiscard]] virtual std::optional<int64_t> Position(const std::string& topic, int32_t partition) = 0;
  // The partition's watermarks: the last fetched ones when `timeout` is 0 and
  // some were fetched, else asked from the broker.
  virtual Result<Watermarks> QueryWatermarks(const std::string& topic, int32_t partition,
                                             std::chrono::milliseconds timeout) = 0;
  // Waits until `topic` exists (its partition count), at most `timeout`.
  virtual Result<int32_t> WaitForTopic(const std::string& topic, std::chrono::milliseconds timeout) = 0;
  // A fatal error of the client, else OK.
  [[nodiscard]] virtual Status FatalError() const = 0;
  // Leaves the group (revoking through the handler); also done by the destructor.
  virtual void Close() = 0;

  // A librdkafka consumer with `properties` (group.id required for Subscribe).
  static Result<std::unique_ptr<Consumer>> Make(const Properties& properties,
                                                RebalanceHandler on_rebalance = nullptr);
};

}  // namespace pfad::kafka
