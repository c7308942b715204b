// Stores closed minute windows one after another on its own thread, so
// consuming goes on while an object is encoded and uploaded; between writes it
// hands the full row groups of open windows to the sinks ahead (Prepare). With
// several sinks (object store and warehouse) each job runs in all of them at
// once, one thread per sink, and the next job waits for the slowest. A window
// is stored when every sink has stored it; a failure of any sink returns the
// window for a retry (sinks merge by event_id, so storing again is safe).
#pragma once

#include "pfad/common/clock.h"
#include "pfad/ingest/sink.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <variant>
#include <vector>

namespace pfad::ingest {

// A window on its way to storage.
struct WriteJob {
  MinuteWindow window;
  int64_t close_at_ms = 0;
  int64_t prepared_events = 0;  // its first events already handed over with Prepare
};

// What came of a write. `result` is the first sink's (the one announced), or
// the first failure.
struct WriteDone {
  WriteJob job;
  Result<StoredMinute> result;
  int64_t stored_wall_ms = 0;
};

class WindowWriter {
 public:
  WindowWriter(std::vector<std::unique_ptr<MinuteSink>> sinks, const Clock& clock);
  ~WindowWriter();  // finishes the write in progress; open windows are not written

  // Checks every sink (before the first Submit).
  [[nodiscard]] Status CheckSinks();
  void Submit(WriteJob job);
  // The next `events` of an open window, to prepare ahead.
  void Prepare(uint64_t window_id, std::vector<events::Event> events);
  // An open window's events changed (partitions revoked): sinks forget it.
  void Discard(uint64_t window_id);

  // Finished writes, waiting up to `wait` for at least one when any is pending.
  std::vector<WriteDone> Collect(std::chrono::milliseconds wait);
  [[nodiscard]] int pending();
  // Events of the windows submitted and not yet collected.
  [[nodiscard]] int64_t pending_events();

 private:
  struct PrepareJob {
    uint64_t window_id = 0;
    std::vector<events::Event> events;
  };
  struct DiscardJob {
    uint64_t window_id = 0;
  };
  using Job = std::variant<WriteJob, PrepareJob, DiscardJob>;

  void Enqueue(Job job);
  void Loop();
  Result<StoredMinute> Store(const WriteJob& job);
  // Calls fn(i) for every sink i concurrently (sink 0 on this thread) and waits for all.
  template <typename Fn>
  void OnEverySink(const Fn& fn);

  std::vector<std::unique_ptr<MinuteSink>> sinks_;  // this thread's only
  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::vector<WriteDone> done_;
  int pending_ = 0;
  int64_t pending_events_ = 0;
  bool closing_ = false;
  std::thread thread_;
};

}  // namespace pfad::ingest
