// The public half of pfad_http (server.h): routes, Responder and Stream,
// binding the listening socket and running the loops.
#include "pfad/http/server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "pfad/http/event_loop.h"
#include "pfad/http/tls.h"

namespace pfad::http {
namespace {

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

}  // namespace

using detail::Delivery;
using detail::Mailbox;

Response DetailResponse(int status, std::string_view message) {
  Response r;
  r.status = status;
  r.body = nlohmann::json{{"detail", message}}.dump();
  return r;
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
// --- Server ---------------------------------------------------------------------

Server::Server(ServerOptions options) : options_(std::move(options)), render_error_(DetailResponse) {}

Server::~Server() { Stop(); }

void Server::Route(std::string method, std::string pattern, Handler handler) {
  auto segments = Segments(pattern);
  routes_.push_back({std::move(method), std::move(pattern), std::move(segments), std::move(handler)});
}

namespace {
Handler Sync(SyncHandler h) {
  return [h = std::move(h)](Request& req, Responder responder) { responder.Send(h(req)); };
}
}  // namespace

void Server::Get(std::string pattern, SyncHandler handler) {
  Route("GET", std::move(pattern), Sync(std::move(handler)));
}
void Server::Post(std::string pattern, SyncHandler handler) {
  Route("POST", std::move(pattern), Sync(std::move(handler)));
}
void Server::Delete(std::string pattern, SyncHandler handler) {
  Route("DELETE", std::move(pattern), Sync(std::move(handler)));
}
const Handler* Server::FindRoute(std::string_view raw_path, Request& request, bool& path_known,
                                 const std::string** pattern) const {
  // The path's segments as sent (no allocation); decoded only where one holds an escape.
  constexpr size_t kMaxSegments = 16;
  std::array<std::string_view, kMaxSegments> segments;
  size_t count = 0;
  for (std::string_view rest = raw_path.substr(1);;) {
    if (count == kMaxSegments) return nullptr;  // longer than any route
    const size_t slash = rest.find('/');
    segments[count++] = rest.substr(0, slash);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  std::string decoded;
  const auto segment = [&](size_t i) -> std::string_view {
    if (segments[i].find('%') == std::string_view::npos || !PercentDecode(segments[i], false, decoded)) {
      return segments[i];
    }
    return decoded;
  };
  for (const auto& route : routes_) {
    if (route.segments.size() != count) continue;
    bool match = true;
    for (size_t i = 0; i < count && match; ++i) {
      match = route.segments[i] == "{}" ? !segments[i].empty() : route.segments[i] == segment(i);
    }
    if (!match) continue;
    path_known = true;
    if (route.method == request.method) {
      for (size_t i = 0; i < count; ++i) {
        if (route.segments[i] == "{}") request.captures.emplace_back(segment(i));
      }
      if (pattern != nullptr) *pattern = &route.pattern;
      return &route.handler;
    }
  }
  return nullptr;
}

void Server::SetErrorRenderer(ErrorRenderer renderer) { render_error_ = std::move(renderer); }
void Server::AfterRound(std::function<void()> hook) { after_round_ = std::move(hook); }

Status Server::Start() {
  if (options_.tls_cert_file.empty() != options_.tls_key_file.empty()) {
    return Status::Invalid("HTTPS needs both a TLS certificate and its key; got only the ",
                           options_.tls_cert_file.empty() ? "key" : "certificate");
  }
  if (!options_.tls_cert_file.empty()) {
    PFAD_ASSIGN_OR_RAISE(tls_, TlsContext::Load(options_.tls_cert_file, options_.tls_key_file));
  }
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

void Server::Wake() {
  for (auto& loop : loops_) loop->Wake();
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
