// An injectable clock: anything time-dependent takes a Clock so tests can drive
// time without sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

namespace pfad {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, milliseconds since the Unix epoch (UTC).
  [[nodiscard]] virtual int64_t NowMillis() const = 0;
  // Monotonic time in seconds, for measuring durations.
  [[nodiscard]] virtual double MonotonicSeconds() const = 0;
  // Lets `duration` of this clock's time pass (retry delays, tick intervals).
  virtual void SleepFor(std::chrono::milliseconds duration) const = 0;
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] int64_t NowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  [[nodiscard]] double MonotonicSeconds() const override {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  void SleepFor(std::chrono::milliseconds duration) const override { std::this_thread::sleep_for(duration); }
};

// A clock that moves only when told to; SleepFor moves it at once, so waiting
// code runs without sleeping.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ms = 0) : now_ms_(now_ms) {}
  [[nodiscard]] int64_t NowMillis() const override { return now_ms_; }
  [[nodiscard]] double MonotonicSeconds() const override { return static_cast<double>(now_ms_) / 1000.0; }
  void SleepFor(std::chrono::milliseconds duration) const override { now_ms_ += duration.count(); }
  void Advance(int64_t ms) { now_ms_ += ms; }
  void Set(int64_t ms) { now_ms_ = ms; }

 private:
  // Atomic: a test moves it while a server's loop thread reads it.
  mutable std::atomic<int64_t> now_ms_;
};

// The process-wide system clock.
const Clock& DefaultClock();

}  // namespace pfad
