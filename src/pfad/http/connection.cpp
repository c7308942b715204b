// The per-connection half of EventLoop (declared in event_loop.h): reading
// requests, handing them to their routes, applying answers in request order,
// writing, and closing. The loop itself (epoll, accepting, deadlines) is in
// event_loop.cpp.
#include "pfad/http/event_loop.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <exception>

#include "pfad/common/log.h"

namespace pfad::http {

using detail::Delivery;

void EventLoop::OnReadable(Connection& c) {
  if (c.lingering) {
    DropLingeringInput(c);
    return;
  }
  char buf[64 * 1024];
  bool got = false;
  while (true) {
    const ssize_t n = Receive(c, buf, sizeof(buf));
    if (n > 0) {
      if (c.stream) continue;  // a stream's client has nothing more to say; ignore it
      if (!c.request_pending && c.in.empty()) c.request_started = Now();
      c.request_pending = true;
      c.in.append(buf, static_cast<size_t>(n));
      got = true;
      // Enough to hold a whole request: the rest waits in the socket.
      if (c.in.size() > options_.max_header_bytes + options_.max_body_bytes + 65536) break;
      // A short read drained the socket; a TLS read returns one record at a
      // time, so keep reading until the session waits for the socket.
      if (!c.tls && static_cast<size_t>(n) < sizeof(buf)) break;
      continue;
    }
    if (n == 0) {
      c.peer_closed = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    Close(c);  // reset by the peer
    return;
  }
  c.last_activity = Now();
  if (got) Process(c);
  if (c.fd < 0) return;
  if (c.peer_closed) {
    // Nothing more will arrive: finish what is owed, then close.
    if (c.stream || (!c.awaiting && c.out_sent >= c.out.size())) {
      Close(c);
      return;
    }
    c.close_after_write = true;
  }
  UpdateInterest(c);
}

void EventLoop::Process(Connection& c) {
  const ServerOptions& o = options_;
  while (c.fd >= 0 && !c.awaiting && !c.stream && !c.close_after_write && !c.in.empty()) {
    if (!c.head) {
      const size_t from = c.scanned > 3 ? c.scanned - 3 : 0;
      const size_t end = c.in.find("\r\n\r\n", from);
      if (end == std::string::npos) {
        c.scanned = c.in.size();
        if (c.in.size() > o.max_header_bytes) Fail(c, 431, "Request header too large.");
        break;
      }
      if (end + 4 > o.max_header_bytes) {
        Fail(c, 431, "Request header too large.");
        break;
      }
      auto parsed = ParseHead(std::string_view(c.in).substr(0, end + 4), o.max_body_bytes);
      if (auto* e = std::get_if<ParseError>(&parsed)) {
        Fail(c, e->status, e->message);
        break;
      }
      c.head = std::move(std::get<Head>(parsed));
    }
    Head& h = *c.head;
    const std::string_view rest = std::string_view(c.in).substr(h.head_bytes);
    size_t consumed = 0;
    if (h.chunked) {
      const BodyState st = DecodeChunked(rest, o.max_body_bytes, h.request.body, consumed);
      if (st == BodyState::kTooLarge) {
        Fail(c, 413, "Request body too large.");
        break;
      }
      if (st == BodyState::kMalformed) {
        Fail(c, 400, "Malformed chunked body.");
        break;
      }
      if (st == BodyState::kIncomplete) {
        if (h.expect_continue && !c.continue_sent) {
          c.out += "HTTP/1.1 100 Continue\r\n\r\n";
          c.continue_sent = true;
        }
        break;
      }
    } else {
      if (rest.size() < h.content_length) {
        if (h.expect_continue && !c.continue_sent) {
          c.out += "HTTP/1.1 100 Continue\r\n\r\n";
          c.continue_sent = true;
        }
        break;
      }
      h.request.body.assign(rest.substr(0, h.content_length));
      consumed = h.content_length;
    }
    Head head = std::move(h);
    c.head.reset();
    c.in.erase(0, head.head_bytes + consumed);
    c.scanned = 0;
    c.continue_sent = false;
    c.request_pending = !c.in.empty();
    if (c.request_pending) c.request_started = Now();
    Dispatch(c, std::move(head));
  }
  Flush(c);
}

void EventLoop::Dispatch(Connection& c, Head head) {
  c.awaiting = true;
  c.keep_alive = head.keep_alive;
  c.head_method = head.head_method;
  c.http10 = head.http10;
  Request& req = head.request;
  bool path_known = false;
  c.route = nullptr;
  const Handler* handler = server_.FindRoute(head.raw_path, req, path_known, &c.route);
  c.in_dispatch = true;
  const uint64_t id = c.id;
  if (handler == nullptr) {
    Responder(box_, id).Send(
        server_.render_error_(path_known ? 405 : 404, path_known ? "Method Not Allowed" : "Not Found"));
  } else {
    try {
      (*handler)(req, Responder(box_, id));
    } catch (const std::exception& e) {
      Logger(options_.name)->error("{} {}: {}", req.method, req.path, e.what());
      if (c.awaiting)
        Responder(box_, id).Send(server_.render_error_(500, std::string("Internal error: ") + e.what()));
    }
  }
  c.in_dispatch = false;
}

void EventLoop::Fail(Connection& c, int status, std::string_view message) {
  c.keep_alive = false;
  c.head_method = false;
  SerializeResponse(server_.render_error_(status, message), false, false, c.out);
  if (options_.observe) options_.observe("", status);
  c.close_after_write = true;
  c.in.clear();
  c.head.reset();
}

void EventLoop::Apply(Delivery d) {
  auto it = connections_.find(d.connection);
  if (it == connections_.end() || it->second->fd < 0) {
    if (d.stream) d.stream->open_ = false;
    return;
  }
  Connection& c = *it->second;
  switch (d.kind) {
    case Delivery::Kind::kResponse: {
      if (!c.awaiting) return;
      c.awaiting = false;
      c.last_activity = Now();
      SerializeResponse(d.response, c.head_method, c.keep_alive, c.out);
      if (options_.observe)
        options_.observe(c.route != nullptr ? std::string_view(*c.route) : std::string_view(),
                         d.response.status);
      if (!c.keep_alive) c.close_after_write = true;
      break;
    }
    case Delivery::Kind::kStreamOpen: {
      if (!c.awaiting) {
        d.stream->open_ = false;
        return;
      }
      c.awaiting = false;
      if (options_.observe)
        options_.observe(c.route != nullptr ? std::string_view(*c.route) : std::string_view(), 200);
      c.stream = d.stream;
      c.in.clear();
      AppendStatusLine(c.out, 200);
      c.out += "Content-Type: " + d.response.content_type + "\r\n";
      if (c.http10) {
        c.out += "Connection: close\r\n";
      } else {
        c.out += "Transfer-Encoding: chunked\r\n";
      }
      AppendHeaders(c.out, d.response.headers);
      c.out += "\r\n";
      break;
    }
    case Delivery::Kind::kStreamData: {
      if (!c.stream) return;
      if (c.http10) {
        c.out += d.data;
      } else {
        AppendChunk(c.out, d.data);
      }
      break;
    }
  }
  if (c.in_dispatch) return;  // Process() goes on and flushes
  if (c.stream) {
    Flush(c);
  } else {
    Process(c);  // answers pipelined requests that waited, and flushes
  }
  if (c.fd >= 0) UpdateInterest(c);
}

void EventLoop::Flush(Connection& c) {
  if (c.fd < 0) return;
  while (c.out_sent < c.out.size()) {
    const ssize_t n = Transmit(c, c.out.data() + c.out_sent, c.out.size() - c.out_sent);
    if (n > 0) {
      c.out_sent += static_cast<size_t>(n);
      c.last_write = Now();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      UpdateInterest(c);
      return;
    }
    Close(c);
    return;
  }
  c.out.clear();
  c.out_sent = 0;
  if (c.close_after_write && !c.awaiting) {
    Linger(c);
    return;
  }
  UpdateInterest(c);
}

void EventLoop::UpdateInterest(Connection& c) {
  if (c.fd < 0) return;
  uint32_t want = 0;
  // Read while a request may come (and while a stream's client may hang up);
  // stop while too much unanswered input is waiting.
  const size_t cap = options_.max_header_bytes + options_.max_body_bytes + 65536;
  if ((!c.peer_closed && c.in.size() <= cap) || (c.tls && c.tls->write_waits_for_read())) want |= EPOLLIN;
  if (c.out_sent < c.out.size() || (c.tls && c.tls->read_waits_for_write())) want |= EPOLLOUT;
  if (want == c.events) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = c.id;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.events = want;
}

void EventLoop::Linger(Connection& c) {
  if (c.peer_closed || c.stream || c.lingering) {
    Close(c);
    return;
  }
  if (c.tls) c.tls->Shutdown();
  ::shutdown(c.fd, SHUT_WR);
  c.lingering = true;
  c.linger_started = c.last_activity = Now();
  c.in.clear();
  c.in.shrink_to_fit();
  c.head.reset();
  c.request_pending = false;
  UpdateInterest(c);
}

void EventLoop::DropLingeringInput(Connection& c) {
  char buf[64 * 1024];
  while (true) {
    // Raw bytes, TLS or not: they are dropped unread.
    const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
    if (n > 0) {
      c.last_activity = Now();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    Close(c);  // the client closed (or reset): done
    return;
  }
}

void EventLoop::Close(Connection& c) {
  if (c.fd < 0) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  c.tls.reset();
  ::close(c.fd);
  c.fd = -1;
  if (c.stream) c.stream->open_ = false;
  closing_.push_back(&c);
}

ssize_t EventLoop::Receive(Connection& c, char* buffer, size_t size) {
  return c.tls ? c.tls->Read(buffer, size) : ::recv(c.fd, buffer, size, 0);
}

ssize_t EventLoop::Transmit(Connection& c, const char* data, size_t size) {
  return c.tls ? c.tls->Write(data, size) : ::send(c.fd, data, size, MSG_NOSIGNAL);
}

}  // namespace pfad::http
