#include "pfad/ingest/lag.h"

#include <algorithm>

namespace pfad::ingest {

using std::chrono::milliseconds;

GroupProgress::Lag GroupProgress::Measure(const std::set<int32_t>& assigned,
                                          std::map<int32_t, int64_t>& committed) {
  Lag lag{.known = !assigned.empty()};
  for (int32_t p : assigned) {
    auto marks = consumer_.QueryWatermarks(topic_, p, milliseconds(0));
    if (!marks.ok()) {
      lag.known = false;
      lag.caught_up[p] = true;  // unknown: do not hold minutes open on it
      continue;
    }
    std::optional<int64_t> position = consumer_.Position(topic_, p);
    if (!position) {
      if (auto it = committed.find(p); it != committed.end()) {
        position = it->second;
      } else if (auto read = consumer_.Committed({{.topic = topic_, .partition = p}}, milliseconds(2000));
                 read.ok() && !read->empty() && (*read)[0].offset >= 0) {
        position = committed[p] = (*read)[0].offset;
      } else {
        position = marks->low;
      }
    }
    lag.messages += std::max<int64_t>(0, marks->high - *position);
    lag.caught_up[p] = *position >= marks->high;
  }
  return lag;
}

std::optional<std::vector<int32_t>> GroupProgress::Unfinished(const std::set<int32_t>& mine,
                                                              int32_t partitions) {
  std::vector<kafka::TopicPartition> others;
  for (int32_t p = 0; p < partitions; ++p) {
    if (!mine.contains(p)) others.push_back({.topic = topic_, .partition = p});
  }
  if (others.empty()) return std::vector<int32_t>{};
  auto committed = consumer_.Committed(others, milliseconds(2000));
  if (!committed.ok()) return std::nullopt;
  std::vector<int32_t> unfinished;
  for (const auto& tp : *committed) {
    auto marks = consumer_.QueryWatermarks(topic_, tp.partition, milliseconds(2000));
    if (!marks.ok()) return std::nullopt;
    const int64_t stored_up_to = tp.offset >= 0 ? tp.offset : marks->low;
    if (stored_up_to < marks->high) unfinished.push_back(tp.partition);
  }
  return unfinished;
}

}  // namespace pfad::ingest
