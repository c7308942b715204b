// Minute windows of the ingester: which events wait for which minute object,
// when a minute is complete enough to write, and which Kafka offsets are safe
// to commit. Pure bookkeeping with the time passed in, so every rule is unit
// tested without Kafka, storage or sleeping.
//
// Rules (docs/DESIGN.md, "Minute objects"):
// - An event belongs to the Asia/Tehran minute of its event_timestamp.
// - Event time: each assigned partition's watermark is the largest timestamp it
//   delivered; the stage's watermark is the smallest of those over partitions
//   that are not idle (a partition is idle when it has nothing left to read
//   and delivered nothing for `idle_timeout`; at first it waits until it
//   delivers or times out).
// - A minute closes when the watermark passes its end + grace, or, when every
//   partition is idle, when the wall clock passes its end + grace.
// - An event whose minute is already due when it arrives is late: it opens a
//   late window, written `late_delay` after its first event (merged with the
//   stored object). Later than end + lookback behind the watermark: too late.
// - A partition's committable offset is the smallest offset still held in a
//   window (open or being written), else the next offset to consume.
#pragma once

#include "pfad/events/event.h"
#include "pfad/events/minute.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

namespace pfad::ingest {

struct WindowOptions {
  int64_t grace_ms = 5'000;
  int64_t lookback_ms = 60 * 60'000;
  int64_t idle_timeout_ms = 5'000;
  int64_t late_delay_ms = 1'000;
};

// One minute's events on their way to its object.
struct MinuteWindow {
  uint64_t id = 0;
  events::Minute minute;
  std::vector<events::Event> events;
  std::vector<int32_t> partitions;        // partition of each event (parallel to `events`)
  std::map<int32_t, int64_t> min_offset;  // smallest offset held, per partition
  int64_t opened_wall_ms = 0;
  bool late = false;
};

class MinuteWindows {
 public:
  MinuteWindows(events::MinuteCalendar calendar, WindowOptions options);

  // Partitions now consumed (they start non-idle at `now_wall_ms`).
  void Assign(const std::vector<int32_t>& partitions, int64_t now_wall_ms);
  // Partitions taken away: their events leave the open windows (they are
  // re-read by the next owner from the committed offset). Returns how many.
  int64_t Revoke(const std::vector<int32_t>& partitions);

  enum class Admission { kAdded, kTooLate };
  // Places one decoded event. kTooLate: nothing was kept; the caller sends the
  // message to the DLQ and then calls Skipped.
  Admission Add(int32_t partition, int64_t offset, const events::Event& event, int64_t now_wall_ms);
  // Whether the partition has nothing left to read (its lag is 0); a partition
  // with a backlog is never idle, however long its messages take to arrive.
  void SetCaughtUp(int32_t partition, bool caught_up);
  // A message that holds no event here (DLQ'd, or not an event): it only moves
  // the partition's next offset.
  void Skipped(int32_t partition, int64_t offset, int64_t now_wall_ms);

  // Windows ready to write, oldest first; they stay "in flight" (their offsets
  // held back) until Stored or Returned.
  std::vector<MinuteWindow> TakeDue(int64_t now_wall_ms);
  // Every open window, e.g. at shutdown when a caller wants them written.
  std::vector<MinuteWindow> TakeAll();
  void Stored(uint64_t window_id);
  // A write that failed: its events come back as an open window (merged with
  // one opened meanwhile for the same minute).
  void Returned(MinuteWindow window);

  // Offsets safe to commit (the next offset to read), per assigned partition
  // that has consumed anything.
  [[nodiscard]] std::map<int32_t, int64_t> CommittableOffsets() const;
  // The event-time watermark (epoch ms), if there is one.
  [[nodiscard]] std::optional<int64_t> Watermark(int64_t now_wall_ms) const;

  // No assigned partition delivered anything for `idle_timeout`.
  [[nodiscard]] bool AllIdle(int64_t now_wall_ms) const;

  // Calls f(window) for every open window, oldest first (read only).
  template <typename F>
  void ForEachOpen(F&& f) const {
    for (const auto& [start, window] : open_) f(window);
  }

  [[nodiscard]] size_t open_windows() const { return open_.size(); }
  [[nodiscard]] size_t in_flight() const { return in_flight_.size(); }
  [[nodiscard]] int64_t buffered_events() const { return buffered_; }
  [[nodiscard]] const std::set<int32_t>& assigned() const { return assigned_; }

 private:
  struct PartitionState {
    std::optional<int64_t> max_timestamp_ms;
    int64_t last_message_wall_ms = 0;
    std::optional<int64_t> next_offset;
    bool caught_up = true;
  };
  [[nodiscard]] bool Idle(const PartitionState& state, int64_t now_wall_ms) const;
  [[nodiscard]] bool Due(const MinuteWindow& window, std::optional<int64_t> watermark, bool all_idle,
                         int64_t now_wall_ms) const;
  const events::Minute& MinuteOf(int64_t timestamp_ms);

  events::MinuteCalendar calendar_;
  WindowOptions options_;
  std::set<int32_t> assigned_;
  std::map<int32_t, PartitionState> partitions_;
  std::map<int64_t, MinuteWindow> open_;                      // by minute start
  std::map<uint64_t, std::map<int32_t, int64_t>> in_flight_;  // window id -> min offsets
  uint64_t next_id_ = 1;
  size_t expected_window_events_ = 0;  // size of recent windows: reserved up front, no regrowth
  int64_t buffered_ = 0;
  events::Minute last_minute_{};  // cache: consecutive events mostly share a minute
};

}  // namespace pfad::ingest
