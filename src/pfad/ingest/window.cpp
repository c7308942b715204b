#include "pfad/ingest/window.h"

#include <algorithm>

namespace pfad::ingest {
namespace {

void HoldOffset(std::map<int32_t, int64_t>& min_offset, int32_t partition, int64_t offset) {
  auto [it, inserted] = min_offset.try_emplace(partition, offset);
  if (!inserted) it->second = std::min(it->second, offset);
}

}  // namespace

MinuteWindows::MinuteWindows(events::MinuteCalendar calendar, WindowOptions options)
    : calendar_(std::move(calendar)), options_(options) {}

void MinuteWindows::Assign(const std::vector<int32_t>& partitions, int64_t now_wall_ms) {
  for (int32_t p : partitions) {
    assigned_.insert(p);
    partitions_[p] = PartitionState{.last_message_wall_ms = now_wall_ms};
  }
}

int64_t MinuteWindows::Revoke(const std::vector<int32_t>& partitions) {
  const std::set<int32_t> revoked(partitions.begin(), partitions.end());
  int64_t dropped = 0;
  for (auto it = open_.begin(); it != open_.end();) {
    MinuteWindow& w = it->second;
    size_t kept = 0;
    for (size_t i = 0; i < w.events.size(); ++i) {
      if (revoked.contains(w.partitions[i])) continue;
      w.events[kept] = w.events[i];
      w.partitions[kept] = w.partitions[i];
      ++kept;
    }
    dropped += static_cast<int64_t>(w.events.size() - kept);
    w.events.resize(kept);
    w.partitions.resize(kept);
    for (int32_t p : revoked) w.min_offset.erase(p);
    it = w.events.empty() ? open_.erase(it) : std::next(it);
  }
  for (int32_t p : revoked) {
    assigned_.erase(p);
    partitions_.erase(p);
  }
  buffered_ -= dropped;
  return dropped;
}

const events::Minute& MinuteWindows::MinuteOf(int64_t timestamp_ms) {
  if (timestamp_ms < last_minute_.start_ms || timestamp_ms >= last_minute_.end_ms) {
    last_minute_ = calendar_.MinuteOf(timestamp_ms);
  }
  return last_minute_;
}

MinuteWindows::Admission MinuteWindows::Add(int32_t partition, int64_t offset, const events::Event& event,
                                            int64_t now_wall_ms) {
  const events::Minute& minute = MinuteOf(event.event_timestamp_ms);
  const auto watermark = Watermark(now_wall_ms);
  if (watermark && minute.end_ms + options_.lookback_ms <= *watermark) return Admission::kTooLate;

  PartitionState& state = partitions_[partition];
  state.max_timestamp_ms =
      std::max(state.max_timestamp_ms.value_or(event.event_timestamp_ms), event.event_timestamp_ms);
  state.last_message_wall_ms = now_wall_ms;
  state.next_offset = std::max(state.next_offset.value_or(offset + 1), offset + 1);

  auto [it, opened] = open_.try_emplace(minute.start_ms);
  MinuteWindow& w = it->second;
  if (opened) {
    w.id = next_id_++;
    w.minute = minute;
    w.opened_wall_ms = now_wall_ms;
    w.events.reserve(expected_window_events_);
    w.partitions.reserve(expected_window_events_);
    // Due the moment it opens: a late minute, merged into its stored object.
    w.late = Due(w, watermark, AllIdle(now_wall_ms), now_wall_ms);
  }
  w.events.push_back(event);
  w.partitions.push_back(partition);
  HoldOffset(w.min_offset, partition, offset);
  ++buffered_;
  return Admission::kAdded;
}

void MinuteWindows::Skipped(int32_t partition, int64_t offset, int64_t now_wall_ms) {
  PartitionState& state = partitions_[partition];
  state.last_message_wall_ms = now_wall_ms;
  state.next_offset = std::max(state.next_offset.value_or(offset + 1), offset + 1);
}

void MinuteWindows::SetCaughtUp(int32_t partition, bool caught_up) {
  if (auto it = partitions_.find(partition); it != partitions_.end()) it->second.caught_up = caught_up;
}

bool MinuteWindows::Idle(const PartitionState& state, int64_t now_wall_ms) const {
  return state.caught_up && now_wall_ms - state.last_message_wall_ms >= options_.idle_timeout_ms;
}

bool MinuteWindows::AllIdle(int64_t now_wall_ms) const {
  return std::all_of(assigned_.begin(), assigned_.end(), [&](int32_t p) {
    auto it = partitions_.find(p);
    return it == partitions_.end() || Idle(it->second, now_wall_ms);
  });
}

std::optional<int64_t> MinuteWindows::Watermark(int64_t now_wall_ms) const {
  std::optional<int64_t> watermark;
  for (int32_t p : assigned_) {
    auto it = partitions_.find(p);
    if (it == partitions_.end()) continue;
    const PartitionState& s = it->second;
    if (Idle(s, now_wall_ms)) continue;            // idle: not holding back
    if (!s.max_timestamp_ms) return std::nullopt;  // active but nothing seen yet: wait for it
    watermark = std::min(watermark.value_or(*s.max_timestamp_ms), *s.max_timestamp_ms);
  }
  return watermark;
}

bool MinuteWindows::Due(const MinuteWindow& w, std::optional<int64_t> watermark, bool all_idle,
                        int64_t now_wall_ms) const {
  if (w.late) return now_wall_ms - w.opened_wall_ms >= options_.late_delay_ms;
  const int64_t close_at = w.minute.end_ms + options_.grace_ms;
  if (watermark && *watermark >= close_at) return true;
  return all_idle && now_wall_ms >= close_at;
}

std::vector<MinuteWindow> MinuteWindows::TakeDue(int64_t now_wall_ms) {
  std::vector<MinuteWindow> due;
  const auto watermark = Watermark(now_wall_ms);
  const bool all_idle = AllIdle(now_wall_ms);
  for (auto it = open_.begin(); it != open_.end();) {
    if (Due(it->second, watermark, all_idle, now_wall_ms)) {
      if (!it->second.late) {  // a growing vector doubles: reserve what a full minute held (+10%)
        expected_window_events_ = it->second.events.size() + it->second.events.size() / 10;
      }
      in_flight_[it->second.id] = it->second.min_offset;
      buffered_ -= static_cast<int64_t>(it->second.events.size());
      due.push_back(std::move(it->second));
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
  return due;
}

std::vector<MinuteWindow> MinuteWindows::TakeAll() {
  std::vector<MinuteWindow> all;
  for (auto& [start, w] : open_) {
    in_flight_[w.id] = w.min_offset;
    all.push_back(std::move(w));
  }
  open_.clear();
  buffered_ = 0;
  return all;
}

void MinuteWindows::Stored(uint64_t window_id) { in_flight_.erase(window_id); }

void MinuteWindows::Returned(MinuteWindow window) {
  in_flight_.erase(window.id);
  buffered_ += static_cast<int64_t>(window.events.size());
  auto [it, inserted] = open_.try_emplace(window.minute.start_ms);
  if (inserted) {
    it->second = std::move(window);
    return;
  }
  MinuteWindow& w = it->second;
  w.events.insert(w.events.end(), window.events.begin(), window.events.end());
  w.partitions.insert(w.partitions.end(), window.partitions.begin(), window.partitions.end());
  for (const auto& [p, off] : window.min_offset) HoldOffset(w.min_offset, p, off);
  w.opened_wall_ms = std::min(w.opened_wall_ms, window.opened_wall_ms);
}

std::map<int32_t, int64_t> MinuteWindows::CommittableOffsets() const {
  std::map<int32_t, int64_t> offsets;
  for (int32_t p : assigned_) {
    auto it = partitions_.find(p);
    if (it != partitions_.end() && it->second.next_offset) offsets[p] = *it->second.next_offset;
  }
  const auto hold = [&](const std::map<int32_t, int64_t>& min_offset) {
    for (const auto& [p, off] : min_offset) {
      if (auto it = offsets.find(p); it != offsets.end()) it->second = std::min(it->second, off);
    }
  };
  for (const auto& [start, w] : open_) hold(w.min_offset);
  for (const auto& [id, min_offset] : in_flight_) hold(min_offset);
  return offsets;
}

}  // namespace pfad::ingest
