// The server's event loop, one per thread (internal to pfad_http; users see
// only server.h).
//
// Each loop owns an epoll set: the shared listening socket (EPOLLEXCLUSIVE,
// so one loop takes each new connection), an eventfd that wakes it, and its
// connections. A connection reads requests through parser.h, hands each
// complete one to its route's handler and writes the answers back in request
// order: while a handler owes an answer, later pipelined requests wait in the
// input buffer. Answers and stream data from other threads arrive through the
// loop's Mailbox and the eventfd.
//
// Time: every deadline (request_timeout -> 408, idle_timeout, stream
// keep-alive comments, the pause after running out of descriptors) is read
// from ServerOptions::clock. The loop checks them at most once a second of
// that clock, on whatever wakes it first: an event, its own wait timeout (at
// most a second of real time), or Wake(). With a ManualClock, a test advances
// the clock and calls Server::Wake() instead of sleeping.
#pragma once

#include "pfad/common/clock.h"
#include "pfad/common/status.h"
#include "pfad/http/parser.h"
#include "pfad/http/server.h"
#include "pfad/http/tls.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace pfad::http {

namespace detail {

// What a handler's answer or a stream's data becomes on its way to the loop.
struct Delivery {
  enum class Kind { kResponse, kStreamOpen, kStreamData };
  uint64_t connection = 0;
  Kind kind = Kind::kResponse;
  Response response;               // kResponse; kStreamOpen: content type and headers
  std::string data;                // kStreamData
  std::shared_ptr<Stream> stream;  // kStreamOpen
};

// A loop's inbox, shared with the Responders and Streams that outlive a call.
struct Mailbox {
  std::mutex mutex;
  bool closed = false;
  int wake_fd = -1;
  std::vector<Delivery> items;
  std::thread::id loop_thread;
  EventLoop* loop = nullptr;  // valid on the loop thread while open
  ErrorRenderer render_error;

  // Queues `d` and wakes the loop; false once the loop has stopped.
  bool Post(Delivery d);
  // Wakes the loop with nothing to deliver, unless it has stopped.
  void Wake();
};

}  // namespace detail

class EventLoop {
 public:
  EventLoop(Server& server, int listen_fd);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  [[nodiscard]] Status Init();
  // Serves until Shutdown; on the loop's own thread.
  void Run();
  // From any thread: makes Run return soon.
  void Shutdown();
  // From any thread: makes the loop re-check its deadlines against the clock.
  void Wake();
  // On the loop thread: apply an answer now.
  void Apply(detail::Delivery d);

  [[nodiscard]] std::shared_ptr<detail::Mailbox> mailbox() const { return box_; }

 private:
  // Milliseconds of the injected clock's monotonic time.
  using Millis = std::chrono::milliseconds;

  struct Connection {
    int fd = -1;
    uint64_t id = 0;
    std::unique_ptr<TlsSession> tls;  // null = plain HTTP
    std::string in;
    size_t scanned = 0;  // bytes of `in` already searched for the end of the head
    std::optional<Head> head;
    std::string out;
    size_t out_sent = 0;
    bool awaiting = false;               // a request was handed to its handler; its answer is not in yet
    const std::string* route = nullptr;  // the awaited request's route pattern (null: none matched)
    bool in_dispatch = false;
    bool keep_alive = true;
    bool head_method = false;
    bool http10 = false;
    bool continue_sent = false;
    bool close_after_write = false;
    bool peer_closed = false;
    std::shared_ptr<Stream> stream;
    uint32_t events = 0;  // registered epoll events
    Millis last_activity{};
    Millis request_started{};
    Millis last_write{};
    bool request_pending = false;  // bytes of an unfinished request are in
    // Answered and shut for writing, reading and dropping what the client still
    // sends (see Linger).
    bool lingering = false;
    Millis linger_started{};
  };

  [[nodiscard]] Millis Now() const;
  void Accept();
  void OnReadable(Connection& c);
  void Process(Connection& c);
  void Dispatch(Connection& c, Head head);
  void Fail(Connection& c, int status, std::string_view message);
  void Flush(Connection& c);
  void UpdateInterest(Connection& c);
  void Close(Connection& c);
  // recv/send on the connection, through its TLS session when it has one.
  ssize_t Receive(Connection& c, char* buffer, size_t size);
  ssize_t Transmit(Connection& c, const char* data, size_t size);
  // Closes after the last answer as web servers do ("lingering close"): shuts
  // the socket for writing, then drops whatever the client still sends until
  // it closes, goes quiet or a bound passes. Closing with unread input at once
  // makes the kernel reset the connection, and a client still sending its body
  // (Python's urllib with an oversized POST) loses the answer, e.g. the 413.
  void Linger(Connection& c);
  void DropLingeringInput(Connection& c);
  void Drain();
  void Sweep();

  Server& server_;
  const ServerOptions& options_;
  const Clock& clock_;
  int listen_fd_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  bool accepting_ = true;
  Millis accept_resume_{};
  std::atomic<bool> running_{true};
  std::shared_ptr<detail::Mailbox> box_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  uint64_t next_id_;
  std::vector<Connection*> closing_;
};

}  // namespace pfad::http
