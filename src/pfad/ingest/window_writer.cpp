#include "pfad/ingest/window_writer.h"

#include <future>

namespace pfad::ingest {

WindowWriter::WindowWriter(std::vector<std::unique_ptr<MinuteSink>> sinks, const Clock& clock)
    : sinks_(std::move(sinks)), clock_(clock) {
  thread_ = std::thread([this] { Loop(); });
}

WindowWriter::~WindowWriter() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Status WindowWriter::CheckSinks() {
  for (auto& sink : sinks_) PFAD_RETURN_NOT_OK(sink->Check());
  return Status::OK();
}

void WindowWriter::Submit(WriteJob job) {
  {
    std::lock_guard lock(mutex_);
    pending_events_ += static_cast<int64_t>(job.window.events.size());
    queue_.emplace_back(std::move(job));
    ++pending_;
  }
  cv_.notify_all();
}

void WindowWriter::Prepare(uint64_t window_id, std::vector<events::Event> events) {
  Enqueue(PrepareJob{.window_id = window_id, .events = std::move(events)});
}

void WindowWriter::Discard(uint64_t window_id) { Enqueue(DiscardJob{.window_id = window_id}); }

std::vector<WriteDone> WindowWriter::Collect(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  if (done_.empty() && pending_ > 0 && wait.count() > 0) {
    cv_.wait_for(lock, wait, [&] { return !done_.empty(); });
  }
  std::vector<WriteDone> out(std::make_move_iterator(done_.begin()), std::make_move_iterator(done_.end()));
  done_.clear();
  for (const auto& done : out) pending_events_ -= static_cast<int64_t>(done.job.window.events.size());
  return out;
}

int WindowWriter::pending() {
  std::lock_guard lock(mutex_);
  return pending_;
}

int64_t WindowWriter::pending_events() {
  std::lock_guard lock(mutex_);
  return pending_events_;
}

void WindowWriter::Enqueue(Job job) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(job));
  }
  cv_.notify_all();
}

template <typename Fn>
void WindowWriter::OnEverySink(const Fn& fn) {
  std::vector<std::future<void>> others;
  for (size_t i = 1; i < sinks_.size(); ++i)
    others.push_back(std::async(std::launch::async, [&fn, i] { fn(i); }));
  fn(0);
  for (auto& other : others) other.get();
}

Result<StoredMinute> WindowWriter::Store(const WriteJob& job) {
  std::vector<Result<StoredMinute>> results(sinks_.size(), Status::Cancelled("not stored"));
  OnEverySink([&](size_t i) { results[i] = sinks_[i]->Store(job.window, job.prepared_events); });
  for (size_t i = 0; i < sinks_.size(); ++i) {
    if (!results[i].ok()) {
      return Status(results[i].status().code(), sinks_[i]->Name() + ": " + results[i].status().message());
    }
  }
  return std::move(results.front());
}

void WindowWriter::Loop() {
  for (;;) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
    if (queue_.empty()) return;
    Job next = std::move(queue_.front());
    queue_.pop_front();
    const bool closing = closing_;
    lock.unlock();
    if (auto* prepare = std::get_if<PrepareJob>(&next)) {
      if (closing) continue;  // at shutdown, open minutes are re-read, not written
      OnEverySink([&](size_t i) { sinks_[i]->Prepare(prepare->window_id, prepare->events); });
      continue;
    }
    if (auto* discard = std::get_if<DiscardJob>(&next)) {
      for (auto& sink : sinks_) sink->Discard(discard->window_id);
      continue;
    }
    WriteJob job = std::move(std::get<WriteJob>(next));
    auto result = Store(job);
    const int64_t stored = clock_.NowMillis();
    lock.lock();
    done_.push_back({std::move(job), std::move(result), stored});
    --pending_;
    lock.unlock();
    cv_.notify_all();
  }
}

}  // namespace pfad::ingest
