#include "pfad/http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "pfad/common/clock.h"
#include "pfad/common/http_client.h"

namespace pfad::http {
namespace {

// A raw TCP client, to send exactly the bytes a test needs.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() { ::close(fd_); }
  [[nodiscard]] bool connected() const { return connected_; }
  void Send(std::string_view bytes) const {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  }
  void ShutdownWrite() const { ::shutdown(fd_, SHUT_WR); }
  // Reads until `until` appears `times` times in what was read (or the peer closes, or 5 s pass).
  std::string ReadUntil(std::string_view until, size_t times = 1,
                        std::chrono::milliseconds wait = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (Occurrences(until) < times && std::chrono::steady_clock::now() < deadline) {
      if (!ReadSome(100)) break;
    }
    return buffer_;
  }
  [[nodiscard]] size_t Occurrences(std::string_view what) const {
    size_t n = 0;
    for (size_t pos = buffer_.find(what); pos != std::string::npos;
         pos = buffer_.find(what, pos + what.size()))
      ++n;
    return n;
  }
  // Reads until the peer closes; true if it did within `wait`.
  bool ReadToClose(std::chrono::milliseconds wait = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return true;
      buffer_.append(buf, static_cast<size_t>(n));
    }
    return false;
  }
  [[nodiscard]] const std::string& buffer() const { return buffer_; }
  void Clear() { buffer_.clear(); }

 private:
  bool ReadSome(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return true;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

size_t Count(const std::string& text, std::string_view what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + what.size())) ++n;
  return n;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.max_body_bytes = 1000;
    o.max_header_bytes = 2000;
    o.request_timeout = std::chrono::milliseconds(1500);
    o.idle_timeout = std::chrono::milliseconds(5000);
    o.stream_keepalive = std::chrono::milliseconds(3000);
    o.threads = 2;
    o.clock = &clock_;
    server_ = std::make_unique<Server>(o);
    server_->Get("/hello", [](const Request& req) {
      Response r;
      r.content_type = "text/plain";
      r.body = "hello " + req.Param("name").value_or("nobody");
      return r;
    });
    server_->Post("/echo", [](const Request& req) {
      Response r;
      r.content_type = "text/plain";
      r.body = req.body;
      r.headers.emplace_back("X-Length", std::to_string(req.body.size()));
      return r;
    });
    server_->Get("/items/{}/parts/{}", [](const Request& req) {
      Response r;
      r.body = req.captures.at(0) + "," + req.captures.at(1);
      return r;
    });
    server_->Get("/throw", [](const Request&) -> Response { throw std::runtime_error("boom"); });
    server_->Route("GET", "/unanswered", [](Request&, Responder) {});
    // Answered later from another thread.
    server_->Route("POST", "/later", [this](Request& req, Responder responder) {
      std::lock_guard lock(mutex_);
      later_.emplace_back(req.body, std::move(responder));
      cv_.notify_all();
    });
    server_->Route("GET", "/stream", [this](Request&, Responder responder) {
      auto stream = responder.OpenStream("text/event-stream", {{"Cache-Control", "no-cache"}});
      std::lock_guard lock(mutex_);
      streams_.push_back(stream);
      cv_.notify_all();
    });
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    {
      std::lock_guard lock(mutex_);
      later_.clear();
    }
    server_->Stop();
  }

  // Waits until `n` requests wait on /later.
  bool WaitForLater(size_t n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return later_.size() >= n; });
  }
  bool WaitForStreams(size_t n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return streams_.size() >= n; });
  }

  // Moves the server's clock on in steps of `step_ms`, waking the loops after
  // each, until `client`'s connection closes; the clock time that took, or -1
  // when it stayed open for `max_ms`. Stepping (rather than one jump) makes
  // the answer independent of when the loop read the client's bytes.
  int64_t AdvanceUntilClosed(RawClient& client, int64_t step_ms, int64_t max_ms) {
    for (int64_t advanced = 0; advanced <= max_ms; advanced += step_ms) {
      if (client.ReadToClose(std::chrono::milliseconds(50))) return advanced;
      clock_.Advance(step_ms);
      server_->Wake();
    }
    return -1;
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

  ManualClock clock_{1'000'000};
  std::unique_ptr<Server> server_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::pair<std::string, Responder>> later_;
  std::vector<std::shared_ptr<Stream>> streams_;
};

TEST_F(HttpServerTest, AnswersWithLengthAndQueryParameters) {
  auto r = SendHttp({.url = Url("/hello?name=J%C3%BCrgen+K&x")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello Jürgen K");
  EXPECT_EQ(r->Header("content-type"), "text/plain");
}

TEST_F(HttpServerTest, UnknownPathIs404AndWrongMethodIs405AsJsonDetail) {
  auto missing = SendHttp({.url = Url("/nope")});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, R"({"detail":"Not Found"})");
  auto wrong = SendHttp({.method = "DELETE", .url = Url("/hello")});
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->body, R"({"detail":"Method Not Allowed"})");
}

TEST_F(HttpServerTest, CapturesPatternSegments) {
  auto r = SendHttp({.url = Url("/items/a%2Fb/parts/7")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "a/b,7");
  auto empty = SendHttp({.url = Url("/items//parts/7")});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->status, 404);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrderOnOneConnection) {
  RawClient c(server_->port());
  ASSERT_TRUE(c.connected());
  c.Send(
      "GET /hello?name=1 HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"
      "GET /hello?name=3 HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string out = c.ReadUntil("hello 3");
  const size_t a = out.find("hello 1"), b = out.find("abcde"), d = out.find("hello 3");
  ASSERT_NE(a, std::string::npos) << out;
  ASSERT_NE(b, std::string::npos) << out;
  ASSERT_NE(d, std::string::npos) << out;
  EXPECT_LT(a, b);
  EXPECT_LT(b, d);
  EXPECT_EQ(Count(out, "HTTP/1.1 200 OK"), 3u);
}

TEST_F(HttpServerTest, AnswersFromAnotherThreadKeepPipelineOrder) {
  RawClient c(server_->port());
  c.Send(
      "POST /later HTTP/1.1\r\nContent-Length: 5\r\n\r\nfirst"
      "GET /hello?name=second HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(WaitForLater(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(c.ReadUntil("hello second", 1, std::chrono::milliseconds(300)).find("hello second"),
            std::string::npos)
      << "the second answer must wait for the first";
  std::thread([this] {
    std::lock_guard lock(mutex_);
    Response r;
    r.body = "answered " + later_[0].first;
    later_[0].second.Send(std::move(r));
  }).join();
  const std::string out = c.ReadUntil("hello second");
  ASSERT_NE(out.find("answered first"), std::string::npos) << out;
  EXPECT_LT(out.find("answered first"), out.find("hello second"));
}

TEST_F(HttpServerTest, ChunkedBodyAndExpectContinue) {
  RawClient c(server_->port());
  c.Send("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\n\r\n");
  EXPECT_NE(c.ReadUntil("abcdefg").find("X-Length: 7"), std::string::npos) << c.buffer();
  RawClient e(server_->port());
  e.Send("POST /echo HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_NE(e.ReadUntil("100 Continue").find("HTTP/1.1 100 Continue\r\n\r\n"), std::string::npos);
  e.Send("xyz");
  EXPECT_NE(e.ReadUntil("xyz").find("200 OK"), std::string::npos);
  // libcurl sends Expect: 100-continue for larger bodies on its own.
  auto r = SendHttp({.method = "POST", .url = Url("/echo"), .body = std::string(900, 'q')});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body.size(), 900u);
}

// A client that sends its whole oversized body before reading (Python's
// urllib does) still gets the 413: the server drains the body instead of
// closing with unread input, which would make the kernel reset the connection.
TEST_F(HttpServerTest, OversizedBodyStillGetsItsAnswer) {
  RawClient c(server_->port());
  c.Send("POST /echo HTTP/1.1\r\nContent-Length: 4000000\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the 413 is sent meanwhile
  c.Send(std::string(4000000, 'x'));
  EXPECT_TRUE(c.ReadToClose());
  EXPECT_NE(c.buffer().find("413 Payload Too Large"), std::string::npos) << c.buffer();
}

TEST_F(HttpServerTest, LimitsAnswerAndClose) {
  {
    RawClient c(server_->port());
    c.Send("POST /echo HTTP/1.1\r\nContent-Length: 5000\r\n\r\n");
    EXPECT_TRUE(c.ReadToClose());
    EXPECT_NE(c.buffer().find("413 Payload Too Large"), std::string::npos) << c.buffer();
    EXPECT_NE(c.buffer().find("Request body too large."), std::string::npos);
  }
  {
    RawClient c(server_->port());
    c.Send("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n");
    EXPECT_TRUE(c.ReadToClose());
    EXPECT_NE(c.buffer().find("413"), std::string::npos) << c.buffer();
  }
  {
    RawClient c(server_->port());
    c.Send("GET /hello HTTP/1.1\r\nX-Big: " + std::string(3000, 'a') + "\r\n\r\n");
    EXPECT_TRUE(c.ReadToClose());
    EXPECT_NE(c.buffer().find("431"), std::string::npos) << c.buffer();
  }
  for (const char* bad :
       {"GARBAGE\r\n\r\n", "GET /x HTTP/2.0\r\n\r\n", "get /x HTTP/1.1\r\n\r\n", "GET x HTTP/1.1\r\n\r\n",
        "GET /x HTTP/1.1\r\nNoColon\r\n\r\n",
        "POST /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "POST /echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    RawClient c(server_->port());
    c.Send(bad);
    EXPECT_TRUE(c.ReadToClose()) << bad;
    EXPECT_TRUE(c.buffer().starts_with("HTTP/1.1 4") || c.buffer().starts_with("HTTP/1.1 5"))
        << bad << c.buffer();
  }
  // The server still serves.
  auto r = SendHttp({.url = Url("/hello")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, IncompleteRequestTimesOutWith408) {
  RawClient c(server_->port());
  c.Send("POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  const int64_t took = AdvanceUntilClosed(c, 250, 10'000);
  ASSERT_GE(took, 0) << "no 408 within the clock's 10 s";
  EXPECT_GE(took, 1500);
  EXPECT_NE(c.buffer().find("408 Request Timeout"), std::string::npos) << c.buffer();
  EXPECT_NE(c.buffer().find("Connection: close"), std::string::npos) << c.buffer();
}

TEST_F(HttpServerTest, RequestTimeoutDoesNotPassWithoutTheClock) {
  RawClient c(server_->port());
  c.Send("POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  server_->Wake();
  EXPECT_FALSE(c.ReadToClose(std::chrono::milliseconds(300))) << c.buffer();
  c.Send("defghij");
  EXPECT_NE(c.ReadUntil("abcdefghij").find("200 OK"), std::string::npos) << c.buffer();
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionCloses) {
  RawClient c(server_->port());
  c.Send("GET /hello HTTP/1.1\r\n\r\n");
  EXPECT_NE(c.ReadUntil("hello nobody").find("200 OK"), std::string::npos);
  const int64_t took = AdvanceUntilClosed(c, 500, 20'000);
  ASSERT_GE(took, 0) << "the idle connection stayed open";
  EXPECT_GE(took, 5000);
  EXPECT_EQ(c.Occurrences("HTTP/1.1"), 1u) << "closed without an answer: " << c.buffer();
}

TEST_F(HttpServerTest, SilentStreamGetsKeepAliveComments) {
  RawClient c(server_->port());
  c.Send("GET /stream HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(WaitForStreams(1));
  c.ReadUntil("\r\n\r\n");
  for (int i = 0; i < 40 && c.Occurrences(": keep-alive") == 0; ++i) {
    clock_.Advance(250);
    server_->Wake();
    c.ReadUntil(": keep-alive", 1, std::chrono::milliseconds(50));
  }
  EXPECT_NE(c.buffer().find("e\r\n: keep-alive\n\n\r\n"), std::string::npos) << c.buffer();
  // Idle timeouts do not close a stream.
  clock_.Advance(60'000);
  server_->Wake();
  EXPECT_FALSE(c.ReadToClose(std::chrono::milliseconds(200)));
}

TEST_F(HttpServerTest, HandlerErrorsBecome500) {
  RawClient c(server_->port());
  c.Send("GET /throw HTTP/1.1\r\n\r\nGET /unanswered HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
  const std::string out = c.ReadUntil("hello nobody");
  EXPECT_EQ(Count(out, "500 Internal Server Error"), 2u) << out;
  EXPECT_NE(out.find("hello nobody"), std::string::npos);
}

TEST_F(HttpServerTest, ConnectionCloseAndHttp10) {
  RawClient c(server_->port());
  c.Send("GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(c.ReadToClose());
  EXPECT_NE(c.buffer().find("Connection: close"), std::string::npos);
  RawClient old(server_->port());
  old.Send("GET /hello HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(old.ReadToClose());
  EXPECT_NE(old.buffer().find("hello nobody"), std::string::npos);
  RawClient head(server_->port());
  head.Send("HEAD /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(head.ReadToClose());
  EXPECT_NE(head.buffer().find("Content-Length: 12"), std::string::npos) << head.buffer();
  EXPECT_EQ(head.buffer().find("hello nobody"), std::string::npos);
}

TEST_F(HttpServerTest, HalfClosedClientStillGetsItsAnswer) {
  RawClient c(server_->port());
  c.Send("POST /later HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi");
  c.ShutdownWrite();
  ASSERT_TRUE(WaitForLater(1));
  {
    std::lock_guard lock(mutex_);
    later_[0].second.Send(Response{.body = "late"});
  }
  EXPECT_TRUE(c.ReadToClose());
  EXPECT_NE(c.buffer().find("late"), std::string::npos) << c.buffer();
}

TEST_F(HttpServerTest, StreamsSendInOrderAndNoticeDisconnects) {
  auto client = std::make_unique<RawClient>(server_->port());
  client->Send("GET /stream HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(WaitForStreams(1));
  std::shared_ptr<Stream> stream;
  {
    std::lock_guard lock(mutex_);
    stream = streams_[0];
  }
  EXPECT_TRUE(stream->Send("data: one\n\n"));
  EXPECT_TRUE(stream->Send("data: two\n\n"));
  const std::string out = client->ReadUntil("data: two");
  EXPECT_NE(out.find("Transfer-Encoding: chunked"), std::string::npos) << out;
  EXPECT_NE(out.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_LT(out.find("data: one"), out.find("data: two"));
  client.reset();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (stream->open() && std::chrono::steady_clock::now() < deadline) {
    (void)stream->Send(": ping\n\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(stream->open());
  EXPECT_FALSE(stream->Send("data: gone\n\n"));
}

TEST_F(HttpServerTest, StopClosesStreamsAndLaterAnswersAreDropped) {
  RawClient s(server_->port());
  s.Send("GET /stream HTTP/1.1\r\n\r\n");
  RawClient l(server_->port());
  l.Send("POST /later HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
  ASSERT_TRUE(WaitForStreams(1));
  ASSERT_TRUE(WaitForLater(1));
  server_->Stop();
  EXPECT_FALSE(streams_[0]->open());
  EXPECT_FALSE(streams_[0]->Send("data: after\n\n"));
  later_[0].second.Send(Response{});  // must not crash
  EXPECT_TRUE(s.ReadToClose());
}

TEST_F(HttpServerTest, ManyConcurrentKeepAliveClients) {
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 300; ++i) clients.push_back(std::make_unique<RawClient>(server_->port()));
  for (size_t round = 1; round <= 3; ++round) {
    for (auto& c : clients) c->Send("GET /hello?name=x HTTP/1.1\r\n\r\n");
    for (auto& c : clients) {
      c->ReadUntil("hello x", round);
      ASSERT_EQ(c->Occurrences("hello x"), round);
    }
  }
}

TEST(HttpServer, PortInUseIsAClearError) {
  Server first(ServerOptions{});
  ASSERT_TRUE(first.Start().ok());
  ServerOptions o;
  o.port = first.port();
  Server second(o);
  const Status st = second.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("in use"), std::string::npos) << st.ToString();
}

TEST(HttpServer, CustomErrorRenderer) {
  Server s(ServerOptions{});
  s.SetErrorRenderer([](int status, std::string_view message) {
    Response r;
    r.status = status;
    r.content_type = "text/plain";
    r.body = "E:" + std::string(message);
    return r;
  });
  ASSERT_TRUE(s.Start().ok());
  auto r = SendHttp({.url = "http://127.0.0.1:" + std::to_string(s.port()) + "/x"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "E:Not Found");
}

}  // namespace
}  // namespace pfad::http

namespace pfad::http {
namespace {

TEST(HttpServerObserve, EachAnswerIsToldWithItsRoutePatternAndStatus) {
  std::mutex mutex;
  std::vector<std::pair<std::string, int>> seen;
  ServerOptions o;
  o.observe = [&](std::string_view route, int status) {
    std::lock_guard lock(mutex);
    seen.emplace_back(std::string(route), status);
  };
  Server server(o);
  server.Get("/items/{}", [](const Request&) { return Response{.body = "{}"}; });
  server.Get("/bad", [](const Request&) { return Response{.status = 422, .body = "{}"}; });
  ASSERT_TRUE(server.Start().ok());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  for (const char* path : {"/items/a", "/items/b", "/bad", "/nothing"}) {
    auto r = SendHttp({.url = base + path, .max_attempts = 1});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  auto wrong_method = SendHttp({.method = "POST", .url = base + "/items/a", .max_attempts = 1});
  ASSERT_TRUE(wrong_method.ok());
  server.Stop();
  const std::vector<std::pair<std::string, int>> want = {
      {"/items/{}", 200}, {"/items/{}", 200}, {"/bad", 422}, {"", 404}, {"", 405}};
  EXPECT_EQ(seen, want);
}

}  // namespace
}  // namespace pfad::http
