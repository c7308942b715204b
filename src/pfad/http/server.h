// PFAD's HTTP/1.1 server, for the endpoints its own processes serve: the
// dashboard's API, page and event stream, the ingester's metrics, the demo's
// schema registry.
//
// Epoll event loops (one per `threads`): keep-alive connections, pipelined
// requests and long-lived event streams cost no thread each. A handler runs on
// its loop's thread and answers through its Responder, at once or later from
// any thread (the dashboard answers a POST once its report is committed); a
// connection's pipelined requests are answered in order. A Responder dropped
// unanswered answers 500, so no client waits forever.
//
// Limits: request head over `max_header_bytes` -> 431, body over
// `max_body_bytes` -> 413 (the body is not read), malformed request -> 400,
// a request not complete within `request_timeout` -> 408; each closes the
// connection. Idle keep-alive connections close after `idle_timeout`.
// Bodies come with Content-Length or chunked transfer coding; "Expect:
// 100-continue" is honoured. Requests, answers and their wire form are in
// parser.h.
//
// TLS: with ServerOptions::tls_cert_file and tls_key_file (PEM), every
// connection speaks HTTPS (TLS 1.2 or later, OpenSSL, tls.h); without them,
// plain HTTP. A client that fails the handshake is closed.
//
// Time: the timeouts and stream keep-alives read ServerOptions::clock, checked
// about once a second of that clock. A test gives the server a ManualClock,
// advances it and calls Wake() instead of sleeping.
#pragma once

#include "pfad/common/clock.h"
#include "pfad/common/status.h"
#include "pfad/http/parser.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace pfad::http {

namespace detail {
struct Mailbox;
}

// The sending end of an event stream (server-sent events): what Send queues
// goes out in order; ": keep-alive" comments keep a silent stream open.
class Stream {
 public:
  // Queues `data` for the client; false once the client has gone or the server stopped.
  bool Send(std::string data);
  [[nodiscard]] bool open() const { return open_.load(std::memory_order_relaxed); }

 private:
  friend class Responder;
  friend class EventLoop;
  Stream(std::shared_ptr<detail::Mailbox> box, uint64_t connection)
      : box_(std::move(box)), connection_(connection) {}
  std::shared_ptr<detail::Mailbox> box_;
  uint64_t connection_;
  std::atomic<bool> open_{true};
};

// Answers one request, once, from any thread.
class Responder {
 public:
  Responder(std::shared_ptr<detail::Mailbox> box, uint64_t connection);
  Responder(Responder&& other) noexcept;
  Responder& operator=(Responder&& other) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();  // unanswered: 500

  void Send(Response response);
  // Answers 200 with an open-ended body fed by the returned stream.
  std::shared_ptr<Stream> OpenStream(std::string content_type, Headers headers = {});

 private:
  std::shared_ptr<detail::Mailbox> box_;  // null once answered
  uint64_t connection_ = 0;
};

using Handler = std::function<void(Request& request, Responder responder)>;
using SyncHandler = std::function<Response(const Request& request)>;
// The body of an error the server answers itself (404, 405, 413, ...).
using ErrorRenderer = std::function<Response(int status, std::string_view message)>;
// A JSON error answer, {"detail": message} (FastAPI's shape): the default ErrorRenderer.
Response DetailResponse(int status, std::string_view message);

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 = any free port
  int threads = 1;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds stream_keepalive{15'000};
  std::string name = "http";  // for log lines
  // HTTPS: a PEM certificate (chain) and its private key; both empty = plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Where the timeouts read the time; must outlive the server.
  const Clock* clock = &DefaultClock();
  // Told of every answer, on the loop's thread, once it is written: the pattern
  // of the route that took the request (e.g. "/schemas/ids/{}"; "" when no route
  // did: 404, 405, or a request refused before routing) and the status (200 for
  // an event stream). For request counters with a bounded route label; keep it cheap.
  std::function<void(std::string_view route, int status)> observe;
};

class EventLoop;
class TlsContext;

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // stops
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Routes, before Start. A pattern is a path whose "{}" segments match any one
  // segment (captured in order): "/schemas/ids/{}". First match wins; a path
  // that matches only other methods' routes answers 405, no match 404.
  void Route(std::string method, std::string pattern, Handler handler);
  void Get(std::string pattern, SyncHandler handler);
  void Post(std::string pattern, SyncHandler handler);
  void Delete(std::string pattern, SyncHandler handler);
  // Default: {"detail": message} as JSON.
  void SetErrorRenderer(ErrorRenderer renderer);
  // Runs on each loop's thread after it has handled one round of ready
  // connections, before it waits again: for work the round's handlers queued
  // (the dashboard commits every report POSTed in a round in one transaction
  // and answers them then). Set before Start.
  void AfterRound(std::function<void()> hook);

  // Binds, listens and starts the loops; returns once connections are accepted.
  // Invalid when the TLS certificate or key cannot be used.
  [[nodiscard]] Status Start();
  // Stops accepting, closes every connection and stream, joins the loops. Idempotent.
  void Stop();
  [[nodiscard]] int port() const { return port_; }
  // Makes every loop check its timeouts against the clock now, rather than at
  // its next wake-up (after a ManualClock moved). Between Start and Stop.
  void Wake();

 private:
  friend class EventLoop;
  // The handler of the first route whose pattern matches `raw_path` and whose
  // method is the request's, with the captures added to `request`; nullptr
  // when none (`path_known`: another method's route matched the path).
  // `pattern` (optional) is set to the route's pattern.
  const Handler* FindRoute(std::string_view raw_path, Request& request, bool& path_known,
                           const std::string** pattern = nullptr) const;

  struct RouteEntry {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  // "{}" = capture
    Handler handler;
  };
  ServerOptions options_;
  std::vector<RouteEntry> routes_;
  ErrorRenderer render_error_;
  std::shared_ptr<TlsContext> tls_;  // null = plain HTTP
  std::function<void()> after_round_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::vector<std::unique_ptr<EventLoop>> loops_;
  std::vector<std::thread> threads_;
};

}  // namespace pfad::http
