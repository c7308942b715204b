// How far the ingester is behind the ends of its partitions, and whether the
// rest of its group has stored everything (for --until-idle: a member that
// joined while a dead one still held partitions must not call the topic done).
#pragma once

#include "pfad/kafka/consumer.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pfad::ingest {

class GroupProgress {
 public:
  GroupProgress(kafka::Consumer& consumer, std::string topic)
      : consumer_(consumer), topic_(std::move(topic)) {}

  struct Lag {
    int64_t messages = 0;               // behind the ends of the assigned partitions
    bool known = false;                 // every assigned partition answered
    std::map<int32_t, bool> caught_up;  // per assigned partition: nothing left to read
  };
  // Lag per assigned partition: its end minus where this consumer is (its
  // position, else the committed offset, else the partition start). `committed`
  // caches committed offsets read from the broker.
  Lag Measure(const std::set<int32_t>& assigned, std::map<int32_t, int64_t>& committed);

  // The partitions of the topic (0..partitions-1) not in `mine` whose committed
  // offsets are below their ends; nullopt when the broker could not tell.
  std::optional<std::vector<int32_t>> Unfinished(const std::set<int32_t>& mine, int32_t partitions);

 private:
  kafka::Consumer& consumer_;
  std::string topic_;
};

}  // namespace pfad::ingest
