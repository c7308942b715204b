// The loop half of EventLoop (declared in event_loop.h, which says how it
// works): epoll, the wake-up eventfd and Mailbox, accepting, deadlines. What
// happens on one connection is in connection.cpp.
#include "pfad/http/event_loop.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "pfad/common/log.h"

namespace pfad::http {
namespace {

constexpr uint64_t kListenId = 0;
constexpr uint64_t kWakeId = 1;
constexpr uint64_t kFirstConnectionId = 2;
// How often, in the clock's time, deadlines are checked.
constexpr std::chrono::milliseconds kSweepInterval{1000};
// A lingering connection closes after this long without input, or this long
// after its last answer whatever the client does.
constexpr std::chrono::milliseconds kLingerQuiet{2000};
constexpr std::chrono::milliseconds kLingerMax{10000};
// How long accepting pauses when the process is out of descriptors.
constexpr std::chrono::milliseconds kAcceptPause{100};

void WakeFd(int fd) {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(fd, &one, sizeof(one));
}

}  // namespace

namespace detail {

bool Mailbox::Post(Delivery d) {
  std::lock_guard lock(mutex);
  if (closed) return false;
  items.push_back(std::move(d));
  if (items.size() == 1) WakeFd(wake_fd);
  return true;
}

void Mailbox::Wake() {
  std::lock_guard lock(mutex);
  if (!closed) WakeFd(wake_fd);
}

}  // namespace detail

using detail::Delivery;

EventLoop::EventLoop(Server& server, int listen_fd)
    : server_(server),
      options_(server.options_),
      clock_(*server.options_.clock),
      listen_fd_(listen_fd),
      box_(std::make_shared<detail::Mailbox>()),
      next_id_(kFirstConnectionId) {}

EventLoop::Millis EventLoop::Now() const {
  return std::chrono::round<Millis>(std::chrono::duration<double>(clock_.MonotonicSeconds()));
}

EventLoop::~EventLoop() {
  for (auto& [id, c] : connections_) {
    if (c->stream) c->stream->open_ = false;
    ::close(c->fd);
  }
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Status EventLoop::Init() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0)
    return Status::IOError("cannot create an event loop: ", std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.u64 = kListenId;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) {
    return Status::IOError("cannot watch the listening socket: ", std::strerror(errno));
  }
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeId;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    return Status::IOError("cannot watch the wake-up descriptor: ", std::strerror(errno));
  }
  box_->wake_fd = wake_fd_;
  box_->loop = this;
  box_->render_error = server_.render_error_;
  return Status::OK();
}

void EventLoop::Shutdown() {
  running_.store(false);
  std::lock_guard lock(box_->mutex);
  WakeFd(wake_fd_);
}

void EventLoop::Wake() { box_->Wake(); }

void EventLoop::Run() {
  box_->loop_thread = std::this_thread::get_id();
  // OpenSSL writes to a TLS connection's socket with write(2), which raises
  // SIGPIPE when the client has gone (send with MSG_NOSIGNAL does not): blocked
  // on this thread, such a write just fails with EPIPE.
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
  std::vector<epoll_event> events(256);
  Millis next_sweep = Now() + kSweepInterval;
  while (running_.load()) {
    // Deadlines are in the clock's time, the wait in real time: wait at most
    // one interval, so a clock that runs apart from real time is still seen.
    const Millis until_sweep = std::clamp(next_sweep - Now(), Millis(0), kSweepInterval);
    int timeout_ms = static_cast<int>(until_sweep.count());
    if (!accepting_) timeout_ms = std::min(timeout_ms, static_cast<int>(kAcceptPause.count()));
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0 && errno != EINTR) {
      Logger(options_.name)->error("epoll_wait: {}", std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[static_cast<size_t>(i)].data.u64;
      const uint32_t what = events[static_cast<size_t>(i)].events;
      if (id == kListenId) {
        Accept();
        continue;
      }
      if (id == kWakeId) {
        Drain();
        continue;
      }
      auto it = connections_.find(id);
      if (it == connections_.end()) continue;
      Connection& c = *it->second;
      if (what & (EPOLLHUP | EPOLLERR)) {
        Close(c);  // reset, or closed both ways: nothing can be sent any more
        continue;
      }
      // A TLS session may wait for the other direction: a handshake answers
      // while reading, a key update is read while writing.
      const bool tls_read_waits = c.tls && c.tls->read_waits_for_write();
      const bool tls_write_waits = c.tls && c.tls->write_waits_for_read();
      if ((what & EPOLLOUT) || (tls_write_waits && (what & EPOLLIN))) Flush(c);
      if (c.fd >= 0 && ((what & EPOLLIN) || (tls_read_waits && (what & EPOLLOUT)))) OnReadable(c);
    }
    if (n > 0 && server_.after_round_) server_.after_round_();
    for (Connection* c : closing_) connections_.erase(c->id);
    closing_.clear();
    if (!accepting_ && Now() >= accept_resume_) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLEXCLUSIVE;
      ev.data.u64 = kListenId;
      if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) == 0) accepting_ = true;
    }
    if (Now() >= next_sweep) {
      Sweep();
      next_sweep = Now() + kSweepInterval;
      for (Connection* c : closing_) connections_.erase(c->id);
      closing_.clear();
    }
  }
  {
    std::lock_guard lock(box_->mutex);
    box_->closed = true;
    box_->items.clear();
    box_->loop = nullptr;
  }
}

void EventLoop::Accept() {
  while (true) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop accepting for a moment instead of spinning.
        Logger(options_.name)->warn("cannot accept a connection: {}; pausing 100 ms", std::strerror(errno));
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
        accepting_ = false;
        accept_resume_ = Now() + kAcceptPause;
      }
      return;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    if (server_.tls_) {
      auto session = TlsSession::Accept(*server_.tls_, fd);
      if (!session.ok()) {
        Logger(options_.name)->warn("{}", session.status().ToString());
        ::close(fd);
        continue;
      }
      c->tls = *std::move(session);
    }
    c->id = next_id_++;
    c->last_activity = Now();
    c->events = EPOLLIN;
    epoll_event ev{};
    ev.events = c->events;
    ev.data.u64 = c->id;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      continue;
    }
    connections_.emplace(c->id, std::move(c));
  }
}

void EventLoop::Drain() {
  uint64_t count = 0;
  [[maybe_unused]] const ssize_t n = ::read(wake_fd_, &count, sizeof(count));
  std::vector<Delivery> items;
  {
    std::lock_guard lock(box_->mutex);
    items.swap(box_->items);
  }
  for (auto& d : items) Apply(std::move(d));
}

void EventLoop::Sweep() {
  const auto now = Now();
  const ServerOptions& o = options_;
  for (auto& [id, cp] : connections_) {
    Connection& c = *cp;
    if (c.fd < 0) continue;
    if (c.lingering) {
      if (now - c.last_activity > kLingerQuiet || now - c.linger_started > kLingerMax) Close(c);
      continue;
    }
    if (c.stream) {
      if (now - c.last_write >= o.stream_keepalive) {
        if (c.http10) {
          c.out += ": keep-alive\n\n";
        } else {
          AppendChunk(c.out, ": keep-alive\n\n");
        }
        c.last_write = now;
        Flush(c);
      }
      continue;
    }
    if (c.awaiting) continue;  // the handler owes an answer
    if (c.out_sent < c.out.size()) {
      if (now - c.last_write > o.request_timeout && now - c.last_activity > o.request_timeout) Close(c);
      continue;
    }
    if (c.request_pending && now - c.request_started > o.request_timeout) {
      Fail(c, 408, "Request not completed in time.");
      Flush(c);
      continue;
    }
    if (!c.request_pending && now - c.last_activity > o.idle_timeout) Close(c);
  }
}

}  // namespace pfad::http
