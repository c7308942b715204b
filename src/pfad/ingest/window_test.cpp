#include "pfad/ingest/window.h"

#include <gtest/gtest.h>

namespace pfad::ingest {
namespace {

// 2025-01-15 10:00 in Tehran (UTC+03:30) = 06:30 UTC.
constexpr int64_t kT0 = 1'736'922'600'000;
constexpr int64_t kMin = 60'000;

events::Event At(int64_t ts, uint64_t id) {
  events::Event e;
  e.event_id = events::Uuid::V4(id, id);
  e.event_timestamp_ms = ts;
  return e;
}

MinuteWindows Make(WindowOptions options = {}) {
  return MinuteWindows(events::MinuteCalendar::Open().ValueOrDie(), options);
}

TEST(MinuteWindows, AMinuteClosesWhenEveryActivePartitionPassesItsEndPlusGrace) {
  auto w = Make({.grace_ms = 5'000});
  w.Assign({0, 1}, 0);
  EXPECT_EQ(w.Add(0, 10, At(kT0 + 1'000, 1), 0), MinuteWindows::Admission::kAdded);
  EXPECT_EQ(w.Add(1, 20, At(kT0 + 2'000, 2), 0), MinuteWindows::Admission::kAdded);
  // Partition 0 is past the end + grace, partition 1 is not: stays open.
  w.Add(0, 11, At(kT0 + kMin + 6'000, 3), 10);
  EXPECT_TRUE(w.TakeDue(10).empty());
  w.Add(1, 21, At(kT0 + kMin + 5'000, 4), 20);
  auto due = w.TakeDue(20);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].minute.Name(), "2025-01-15_10-00");
  EXPECT_EQ(due[0].events.size(), 2u);
  EXPECT_FALSE(due[0].late);
  EXPECT_EQ(w.open_windows(), 1u);  // 10:01 is still open
}

TEST(MinuteWindows, OffsetsAreHeldUntilTheWindowIsStored) {
  auto w = Make({.grace_ms = 0});
  w.Assign({0}, 0);
  w.Add(0, 100, At(kT0, 1), 0);
  w.Add(0, 101, At(kT0 + kMin, 2), 0);  // 10:01, closes 10:00
  EXPECT_EQ(w.CommittableOffsets().at(0), 100);
  auto due = w.TakeDue(0);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(w.CommittableOffsets().at(0), 100);  // in flight: not yet
  w.Stored(due[0].id);
  EXPECT_EQ(w.CommittableOffsets().at(0), 101);  // 10:01 still open
  w.Add(0, 102, At(kT0 + 2 * kMin, 3), 0);
  for (auto& d : w.TakeDue(0)) w.Stored(d.id);
  EXPECT_EQ(w.CommittableOffsets().at(0), 102);
}

TEST(MinuteWindows, AFailedWriteComesBackAndKeepsHoldingItsOffsets) {
  auto w = Make({.grace_ms = 0});
  w.Assign({0}, 0);
  w.Add(0, 5, At(kT0, 1), 0);
  w.Add(0, 6, At(kT0 + kMin, 2), 0);
  auto due = w.TakeDue(0);
  ASSERT_EQ(due.size(), 1u);
  w.Returned(std::move(due[0]));
  EXPECT_EQ(w.CommittableOffsets().at(0), 5);
  EXPECT_EQ(w.buffered_events(), 2);
  auto again = w.TakeDue(0);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].events.size(), 1u);
}

TEST(MinuteWindows, LateEventsOpenALateWindowWrittenAfterTheDelay) {
  auto w = Make({.grace_ms = 0, .late_delay_ms = 1'000});
  w.Assign({0}, 0);
  w.Add(0, 1, At(kT0, 1), 0);
  w.Add(0, 2, At(kT0 + 3 * kMin, 2), 0);
  for (auto& d : w.TakeDue(0)) w.Stored(d.id);  // 10:00 written
  w.Add(0, 3, At(kT0 + 30'000, 3), 100);        // 10:00 again: late
  EXPECT_TRUE(w.TakeDue(500).empty());
  auto due = w.TakeDue(1'100);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_TRUE(due[0].late);
  EXPECT_EQ(due[0].events.size(), 1u);
}

TEST(MinuteWindows, EventsLaterThanTheLookbackAreRefused) {
  auto w = Make({.grace_ms = 0, .lookback_ms = 10 * kMin});
  w.Assign({0}, 0);
  w.Add(0, 1, At(kT0 + 20 * kMin, 1), 0);
  EXPECT_EQ(w.Add(0, 2, At(kT0 + 9 * kMin, 2), 0), MinuteWindows::Admission::kTooLate);
  EXPECT_EQ(w.Add(0, 3, At(kT0 + 10 * kMin, 3), 0), MinuteWindows::Admission::kAdded);
  w.Skipped(0, 2, 0);
  EXPECT_EQ(w.CommittableOffsets().at(0), 1);
}

TEST(MinuteWindows, IdlePartitionsDoNotHoldWindowsOpen) {
  auto w = Make({.grace_ms = 0, .idle_timeout_ms = 5'000});
  w.Assign({0, 1}, 0);
  w.Add(0, 1, At(kT0, 1), 0);
  w.Add(0, 2, At(kT0 + kMin, 2), 1'000);
  EXPECT_TRUE(w.TakeDue(1'000).empty());  // partition 1 has said nothing yet
  EXPECT_FALSE(w.Watermark(1'000).has_value());
  w.Add(0, 3, At(kT0 + kMin + 1, 3), 5'500);  // partition 1 idle now (5 s since assignment)
  auto due = w.TakeDue(5'500);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].minute.Name(), "2025-01-15_10-00");
}

TEST(MinuteWindows, APartitionWithABacklogIsNeverIdle) {
  auto w = Make({.grace_ms = 0, .idle_timeout_ms = 5'000});
  w.Assign({0, 1}, 0);
  w.Add(1, 1, At(kT0, 1), 0);
  w.Add(0, 1, At(kT0, 2), 0);
  w.SetCaughtUp(1, false);  // partition 1 has more to read, just slowly
  w.Add(0, 2, At(kT0 + kMin, 3), 9'000);
  EXPECT_TRUE(w.TakeDue(9'000).empty());
  EXPECT_FALSE(w.AllIdle(20'000));
  w.SetCaughtUp(1, true);
  EXPECT_EQ(w.TakeDue(9'000).size(), 1u);
}

TEST(MinuteWindows, WhenEverythingIsIdleTheWallClockClosesPastMinutes) {
  auto w = Make({.grace_ms = 5'000, .idle_timeout_ms = 2'000});
  const int64_t now = kT0 + 10 * kMin;  // backfilled events, all in the past
  w.Assign({0}, now);
  w.Add(0, 1, At(kT0, 1), now);
  w.Add(0, 2, At(kT0 + 30'000, 2), now);
  EXPECT_TRUE(w.TakeDue(now + 1'000).empty());
  auto due = w.TakeDue(now + 2'000);
  ASSERT_EQ(due.size(), 1u);
  // A live minute (its end still ahead) stays open while idle.
  auto live = Make({.grace_ms = 5'000, .idle_timeout_ms = 2'000});
  live.Assign({0}, kT0);
  live.Add(0, 1, At(kT0 + 1'000, 1), kT0 + 1'000);
  EXPECT_TRUE(live.TakeDue(kT0 + 30'000).empty());
  EXPECT_EQ(live.TakeDue(kT0 + kMin + 5'000).size(), 1u);
}

TEST(MinuteWindows, RevokedPartitionsLeaveTheOpenWindows) {
  auto w = Make();
  w.Assign({0, 1}, 0);
  w.Add(0, 1, At(kT0, 1), 0);
  w.Add(1, 7, At(kT0 + 1, 2), 0);
  w.Add(1, 8, At(kT0 + 2 * kMin, 3), 0);
  EXPECT_EQ(w.Revoke({1}), 2);
  EXPECT_EQ(w.buffered_events(), 1);
  EXPECT_EQ(w.open_windows(), 1u);
  const auto offsets = w.CommittableOffsets();
  EXPECT_EQ(offsets.size(), 1u);
  EXPECT_EQ(offsets.at(0), 1);
}

}  // namespace
}  // namespace pfad::ingest
