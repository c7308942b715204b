#include "pfad/common/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <variant>

#include "pfad/common/log.h"

namespace pfad::http {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr uint64_t kListenId = 0;
constexpr uint64_t kWakeId = 1;
constexpr uint64_t kFirstConnectionId = 2;

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// Whether a comma-separated header value holds `token` (case-insensitive).
bool HasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (EqualsIgnoreCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; '+' is a space only in query strings. False on a bad escape.
bool Decode(std::string_view in, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexDigit(in[i + 1]);
      const int lo = HexDigit(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

const char* Reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Entity";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 1;  // paths begin with '/'
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    const size_t end = slash == std::string_view::npos ? path.size() : slash;
    out.emplace_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}


// The parsed head of a request whose body may still be arriving.
struct Head {
  Request request;
  std::string raw_path;        // as sent: routes split it before decoding
  size_t head_bytes = 0;       // request line + headers + blank line
  size_t content_length = 0;
  bool chunked = false;
  bool keep_alive = true;
  bool head_method = false;
  bool expect_continue = false;
  bool http10 = false;
};

struct ParseError {
  int status;
  std::string message;
};

// Parses a complete request head (`text` ends with the blank line).
std::variant<Head, ParseError> ParseHead(std::string_view text, size_t max_body) {
  Head head;
  head.head_bytes = text.size();
  size_t line_end = text.find("\r\n");
  const std::string_view line = text.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != line.npos) {
    return ParseError{400, "Malformed request line."};
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (method.empty() || !std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return ParseError{400, "Malformed request method."};
  }
  if (version == "HTTP/1.0") {
    head.http10 = true;
    head.keep_alive = false;
  } else if (version != "HTTP/1.1") {
    return ParseError{505, "Only HTTP/1.0 and HTTP/1.1 are served."};
  }
  // Absolute form (proxies): keep the path.
  if (target.starts_with("http://") || target.starts_with("https://")) {
    const size_t slash = target.find('/', target.find("//") + 2);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (target.empty() || target.front() != '/') return ParseError{400, "Malformed request target."};
  const size_t q = target.find('?');
  const std::string_view raw_path = target.substr(0, q);
  if (q != std::string_view::npos) head.request.query = std::string(target.substr(q + 1));
  if (const size_t hash = head.request.query.find('#'); hash != std::string::npos) head.request.query.resize(hash);
  if (!Decode(raw_path, false, head.request.path)) return ParseError{400, "Malformed percent-escape in the path."};
  head.raw_path = std::string(raw_path);
  head.request.method = std::string(method);
  if (head.request.method == "HEAD") {
    head.head_method = true;
    head.request.method = "GET";
  }

  std::optional<size_t> length;
  bool has_transfer_encoding = false;
  size_t pos = line_end + 2;
  while (pos < text.size()) {
    line_end = text.find("\r\n", pos);
    const std::string_view h = text.substr(pos, line_end - pos);
    pos = line_end + 2;
    if (h.empty()) break;
    if (h.front() == ' ' || h.front() == '\t') return ParseError{400, "Folded header lines are not accepted."};
    const size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return ParseError{400, "Malformed header line."};
    std::string name(h.substr(0, colon));
    for (char& c : name) {
      if (c == ' ' || c == '\t') return ParseError{400, "Malformed header name."};
      c = Lower(c);
    }
    std::string_view value = h.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (name == "content-length") {
      size_t n = 0;
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || ptr != value.data() + value.size() || value.empty()) {
        return ParseError{400, "Malformed Content-Length."};
      }
      if (length && *length != n) return ParseError{400, "Conflicting Content-Length headers."};
      length = n;
    } else if (name == "transfer-encoding") {
      has_transfer_encoding = true;
      if (!EqualsIgnoreCase(value, "chunked")) return ParseError{501, "Only the chunked transfer coding is accepted."};
      head.chunked = true;
    } else if (name == "connection") {
      if (HasToken(value, "close")) head.keep_alive = false;
      if (HasToken(value, "keep-alive")) head.keep_alive = true;
    } else if (name == "expect") {
      if (!EqualsIgnoreCase(value, "100-continue")) return ParseError{417, "Only Expect: 100-continue is understood."};
      head.expect_continue = !head.http10;
    }
    head.request.headers.emplace_back(std::move(name), std::string(value));
  }
  if (length && has_transfer_encoding) return ParseError{400, "Both Content-Length and Transfer-Encoding were sent."};
  head.content_length = length.value_or(0);
  if (head.content_length > max_body) return ParseError{413, "Request body too large."};
  return head;
}

enum class BodyState { kIncomplete, kComplete, kTooLarge, kMalformed };

// Decodes a chunked body from `in` (after the head). On kComplete, `consumed`
// is how many bytes of `in` the body and its trailer took.
BodyState DecodeChunked(std::string_view in, size_t max_body, std::string& body, size_t& consumed) {
  body.clear();
  size_t pos = 0;
  while (true) {
    const size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) return in.size() - pos > 1024 ? BodyState::kMalformed : BodyState::kIncomplete;
    std::string_view size_line = in.substr(pos, eol - pos);
    if (const size_t semi = size_line.find(';'); semi != std::string_view::npos) size_line = size_line.substr(0, semi);
    while (!size_line.empty() && (size_line.back() == ' ' || size_line.back() == '\t')) size_line.remove_suffix(1);
    size_t size = 0;
    const auto [ptr, ec] = std::from_chars(size_line.data(), size_line.data() + size_line.size(), size, 16);
    if (ec != std::errc() || ptr != size_line.data() + size_line.size() || size_line.empty()) {
      return BodyState::kMalformed;
    }
    pos = eol + 2;
    if (size == 0) {
      // Trailer fields up to an empty line; ignored.
      while (true) {
        const size_t end = in.find("\r\n", pos);
        if (end == std::string_view::npos) return BodyState::kIncomplete;
        const bool empty = end == pos;
        pos = end + 2;
        if (empty) break;
      }
      consumed = pos;
      return BodyState::kComplete;
    }
    if (body.size() + size > max_body) return BodyState::kTooLarge;
    if (in.size() < pos + size + 2) return BodyState::kIncomplete;
    if (in.substr(pos + size, 2) != "\r\n") return BodyState::kMalformed;
    body.append(in.substr(pos, size));
    pos += size + 2;
  }
}

void AppendStatusLine(std::string& out, int status) {
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += Reason(status);
  out += "\r\n";
}

void AppendHeaders(std::string& out, const Headers& headers) {
  for (const auto& [k, v] : headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
}

void Serialize(const Response& r, bool head_method, bool keep_alive, std::string& out) {
  AppendStatusLine(out, r.status);
  if (!r.content_type.empty() && r.status != 204) {
    out += "Content-Type: ";
    out += r.content_type;
    out += "\r\n";
  }
  if (r.status != 204) {
    out += "Content-Length: ";
    out += std::to_string(r.body.size());
    out += "\r\n";
  }
  if (!keep_alive) out += "Connection: close\r\n";
  AppendHeaders(out, r.headers);
  out += "\r\n";
  if (!head_method && r.status != 204) out += r.body;
}

void AppendChunk(std::string& out, std::string_view data) {
  if (data.empty()) return;  // an empty chunk would end the body
  char size[20];
  const auto [end, ec] = std::to_chars(size, size + sizeof(size), data.size(), 16);
  out.append(size, end);
  out += "\r\n";
  out += data;
  out += "\r\n";
}

}  // namespace

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

  bool Post(Delivery d) {
    std::lock_guard lock(mutex);
    if (closed) return false;
    items.push_back(std::move(d));
    if (items.size() == 1) {
      const uint64_t one = 1;
      [[maybe_unused]] const ssize_t n = ::write(wake_fd, &one, sizeof(one));
    }
    return true;
  }
};

}  // namespace detail

using detail::Delivery;
using detail::Mailbox;

class EventLoop {
 public:
  EventLoop(Server& server, int listen_fd);
  ~EventLoop();
  Status Init();
  void Run();
  void Shutdown();
  // On the loop thread: apply an answer now.
  void Apply(Delivery d);

  std::shared_ptr<Mailbox> mailbox() const { return box_; }

 private:
  struct Connection {
    int fd = -1;
    uint64_t id = 0;
    std::string in;
    size_t scanned = 0;  // bytes of `in` already searched for the end of the head
    std::optional<Head> head;
    std::string out;
    size_t out_sent = 0;
    bool awaiting = false;  // a request was handed to its handler; its answer is not in yet
    bool in_dispatch = false;
    bool keep_alive = true;
    bool head_method = false;
    bool http10 = false;
    bool continue_sent = false;
    bool close_after_write = false;
    bool peer_closed = false;
    std::shared_ptr<Stream> stream;
    uint32_t events = 0;  // registered epoll events
    SteadyClock::time_point last_activity;
    SteadyClock::time_point request_started;
    SteadyClock::time_point last_write;
    bool request_pending = false;  // bytes of an unfinished request are in
  };

  void Accept();
  void OnReadable(Connection& c);
  void Process(Connection& c);
  void Dispatch(Connection& c, Head head);
  void Fail(Connection& c, int status, std::string_view message);
  void Flush(Connection& c);
  void UpdateInterest(Connection& c);
  void Close(Connection& c);
  void Drain();
  void Sweep();

  Server& server_;
  int listen_fd_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  bool accepting_ = true;
  SteadyClock::time_point accept_resume_;
  std::atomic<bool> running_{true};
  std::shared_ptr<Mailbox> box_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  uint64_t next_id_ = kFirstConnectionId;
  std::vector<Connection*> closing_;
};

Response DetailResponse(int status, std::string_view message) {
  Response r;
  r.status = status;
  r.body = nlohmann::json{{"detail", message}}.dump();
  return r;
}

// --- Request ---------------------------------------------------------------

std::string_view Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

std::optional<std::string> Request::Param(std::string_view name) const {
  std::string_view q = query;
  std::string key, value;
  while (!q.empty()) {
    const size_t amp = q.find('&');
    const std::string_view pair = q.substr(0, amp);
    const size_t eq = pair.find('=');
    if (Decode(pair.substr(0, eq), true, key) && key == name) {
      if (eq == std::string_view::npos) return std::string();
      if (Decode(pair.substr(eq + 1), true, value)) return value;
      return std::nullopt;
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// --- Stream and Responder -------------------------------------------------------

bool Stream::Send(std::string data) {
  if (!open()) return false;
  Delivery d;
  d.connection = connection_;
  d.kind = Delivery::Kind::kStreamData;
  d.data = std::move(data);
  return box_->Post(std::move(d));
}

Responder::Responder(std::shared_ptr<Mailbox> box, uint64_t connection)
    : box_(std::move(box)), connection_(connection) {}

Responder::Responder(Responder&& other) noexcept
    : box_(std::move(other.box_)), connection_(other.connection_) {}

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    if (box_) Send(box_->render_error(500, "The request was not answered."));
    box_ = std::move(other.box_);
    connection_ = other.connection_;
  }
  return *this;
}

Responder::~Responder() {
  if (!box_) return;
  Send(box_->render_error(500, "The request was not answered."));
}

void Responder::Send(Response response) {
  if (!box_) return;
  std::shared_ptr<Mailbox> box = std::move(box_);
  Delivery d;
  d.connection = connection_;
  d.kind = Delivery::Kind::kResponse;
  d.response = std::move(response);
  // On the loop's own thread the answer goes straight to the connection.
  if (std::this_thread::get_id() == box->loop_thread && box->loop != nullptr) {
    box->loop->Apply(std::move(d));
  } else {
    box->Post(std::move(d));
  }
}

std::shared_ptr<Stream> Responder::OpenStream(std::string content_type, Headers headers) {
  std::shared_ptr<Stream> stream(new Stream(box_, connection_));
  if (!box_) {
    stream->open_ = false;
    return stream;
  }
  std::shared_ptr<Mailbox> box = std::move(box_);
  Delivery d;
  d.connection = connection_;
  d.kind = Delivery::Kind::kStreamOpen;
  d.response.content_type = std::move(content_type);
  d.response.headers = std::move(headers);
  d.stream = stream;
  if (std::this_thread::get_id() == box->loop_thread && box->loop != nullptr) {
    box->loop->Apply(std::move(d));
  } else if (!box->Post(std::move(d))) {
    stream->open_ = false;
  }
  return stream;
}

// --- EventLoop ----------------------------------------------------------------

EventLoop::EventLoop(Server& server, int listen_fd)
    : server_(server), listen_fd_(listen_fd), box_(std::make_shared<Mailbox>()) {}

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
  if (epoll_fd_ < 0 || wake_fd_ < 0) return Status::IOError("cannot create an event loop: ", std::strerror(errno));
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
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

void EventLoop::Run() {
  box_->loop_thread = std::this_thread::get_id();
  std::vector<epoll_event> events(256);
  auto next_sweep = SteadyClock::now() + std::chrono::seconds(1);
  while (running_.load()) {
    const auto now = SteadyClock::now();
    int timeout_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(next_sweep - now).count());
    if (!accepting_) timeout_ms = std::min(timeout_ms, 100);
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), std::max(0, timeout_ms));
    if (n < 0 && errno != EINTR) {
      Logger(server_.options_.name)->error("epoll_wait: {}", std::strerror(errno));
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
      if (what & EPOLLOUT) Flush(c);
      if (c.fd >= 0 && (what & EPOLLIN)) OnReadable(c);
    }
    if (n > 0 && server_.after_round_) server_.after_round_();
    for (Connection* c : closing_) connections_.erase(c->id);
    closing_.clear();
    if (!accepting_ && SteadyClock::now() >= accept_resume_) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLEXCLUSIVE;
      ev.data.u64 = kListenId;
      if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) == 0) accepting_ = true;
    }
    if (SteadyClock::now() >= next_sweep) {
      Sweep();
      next_sweep = SteadyClock::now() + std::chrono::seconds(1);
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
        Logger(server_.options_.name)->warn("cannot accept a connection: {}; pausing 100 ms", std::strerror(errno));
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
        accepting_ = false;
        accept_resume_ = SteadyClock::now() + std::chrono::milliseconds(100);
      }
      return;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->id = next_id_++;
    c->last_activity = SteadyClock::now();
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

void EventLoop::OnReadable(Connection& c) {
  char buf[64 * 1024];
  bool got = false;
  while (true) {
    const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
    if (n > 0) {
      if (c.stream) continue;  // a stream's client has nothing more to say; ignore it
      if (!c.request_pending && c.in.empty()) c.request_started = SteadyClock::now();
      c.request_pending = true;
      c.in.append(buf, static_cast<size_t>(n));
      got = true;
      // Enough to hold a whole request: the rest waits in the socket.
      if (c.in.size() > server_.options_.max_header_bytes + server_.options_.max_body_bytes + 65536) break;
      if (static_cast<size_t>(n) < sizeof(buf)) break;
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
  c.last_activity = SteadyClock::now();
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
  const ServerOptions& o = server_.options_;
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
    if (c.request_pending) c.request_started = SteadyClock::now();
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
  // The path's segments as sent (no allocation); decoded only where one holds an escape.
  constexpr size_t kMaxSegments = 16;
  std::array<std::string_view, kMaxSegments> segments;
  size_t count = 0;
  bool too_many = false;
  for (std::string_view rest = std::string_view(head.raw_path).substr(1);;) {
    if (count == kMaxSegments) {
      too_many = true;
      break;
    }
    const size_t slash = rest.find('/');
    segments[count++] = rest.substr(0, slash);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  std::string decoded;
  const auto segment = [&](size_t i) -> std::string_view {
    if (segments[i].find('%') == std::string_view::npos || !Decode(segments[i], false, decoded)) return segments[i];
    return decoded;
  };
  const Handler* handler = nullptr;
  bool path_known = false;
  for (const auto& route : server_.routes_) {
    if (too_many || route.segments.size() != count) continue;
    bool match = true;
    for (size_t i = 0; i < count && match; ++i) {
      match = route.segments[i] == "{}" ? !segments[i].empty() : route.segments[i] == segment(i);
    }
    if (!match) continue;
    path_known = true;
    if (route.method == req.method) {
      for (size_t i = 0; i < count; ++i) {
        if (route.segments[i] == "{}") req.captures.emplace_back(segment(i));
      }
      handler = &route.handler;
      break;
    }
  }
  c.in_dispatch = true;
  const uint64_t id = c.id;
  if (handler == nullptr) {
    Responder(box_, id).Send(server_.render_error_(path_known ? 405 : 404,
                                                    path_known ? "Method Not Allowed" : "Not Found"));
  } else {
    try {
      (*handler)(req, Responder(box_, id));
    } catch (const std::exception& e) {
      Logger(server_.options_.name)->error("{} {}: {}", req.method, req.path, e.what());
      if (c.awaiting) Responder(box_, id).Send(server_.render_error_(500, std::string("Internal error: ") + e.what()));
    }
  }
  c.in_dispatch = false;
}

void EventLoop::Fail(Connection& c, int status, std::string_view message) {
  c.keep_alive = false;
  c.head_method = false;
  Serialize(server_.render_error_(status, message), false, false, c.out);
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
      c.last_activity = SteadyClock::now();
      Serialize(d.response, c.head_method, c.keep_alive, c.out);
      if (!c.keep_alive) c.close_after_write = true;
      break;
    }
    case Delivery::Kind::kStreamOpen: {
      if (!c.awaiting) {
        d.stream->open_ = false;
        return;
      }
      c.awaiting = false;
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
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_sent += static_cast<size_t>(n);
      c.last_write = SteadyClock::now();
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
    Close(c);
    return;
  }
  UpdateInterest(c);
}

void EventLoop::UpdateInterest(Connection& c) {
  if (c.fd < 0) return;
  uint32_t want = 0;
  // Read while a request may come (and while a stream's client may hang up);
  // stop while too much unanswered input is waiting.
  const size_t cap = server_.options_.max_header_bytes + server_.options_.max_body_bytes + 65536;
  if (!c.peer_closed && c.in.size() <= cap) want |= EPOLLIN;
  if (c.out_sent < c.out.size()) want |= EPOLLOUT;
  if (want == c.events) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = c.id;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.events = want;
}

void EventLoop::Close(Connection& c) {
  if (c.fd < 0) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  c.fd = -1;
  if (c.stream) c.stream->open_ = false;
  closing_.push_back(&c);
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
  const auto now = SteadyClock::now();
  const ServerOptions& o = server_.options_;
  for (auto& [id, cp] : connections_) {
    Connection& c = *cp;
    if (c.fd < 0) continue;
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

// --- Server ---------------------------------------------------------------------

Server::Server(ServerOptions options) : options_(std::move(options)), render_error_(DetailResponse) {}

Server::~Server() { Stop(); }

void Server::Route(std::string method, std::string pattern, Handler handler) {
  routes_.push_back({std::move(method), Segments(pattern), std::move(handler)});
}

namespace {
Handler Sync(SyncHandler h) {
  return [h = std::move(h)](Request& req, Responder responder) { responder.Send(h(req)); };
}
}  // namespace

void Server::Get(std::string pattern, SyncHandler handler) { Route("GET", std::move(pattern), Sync(std::move(handler))); }
void Server::Post(std::string pattern, SyncHandler handler) {
  Route("POST", std::move(pattern), Sync(std::move(handler)));
}
void Server::Delete(std::string pattern, SyncHandler handler) {
  Route("DELETE", std::move(pattern), Sync(std::move(handler)));
}
void Server::SetErrorRenderer(ErrorRenderer renderer) { render_error_ = std::move(renderer); }
void Server::AfterRound(std::function<void()> hook) { after_round_ = std::move(hook); }

Status Server::Start() {
  // Many keep-alive clients and streams: allow as many descriptors as the system does.
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string host = options_.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = std::to_string(options_.port);
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Status::IOError("cannot listen on ", options_.host, ":", options_.port, ": ", ::gai_strerror(rc));
  }
  std::string last_error = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    listen_fd_ = fd;
    break;
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0) {
    return Status::IOError("cannot listen on ", options_.host, ":", options_.port, ": ", last_error,
                           options_.port != 0 ? " (is the port in use?)" : "");
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                                     : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    auto loop = std::make_unique<EventLoop>(*this, listen_fd_);
    if (Status st = loop->Init(); !st.ok()) {
      Stop();
      return st;
    }
    loops_.push_back(std::move(loop));
  }
  for (auto& loop : loops_) threads_.emplace_back([l = loop.get()] { l->Run(); });
  return Status::OK();
}

void Server::Stop() {
  for (auto& loop : loops_) loop->Shutdown();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  loops_.clear();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
}

}  // namespace pfad::http
