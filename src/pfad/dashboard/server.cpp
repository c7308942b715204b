#include "pfad/dashboard/server.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <charconv>

#include "pfad/common/log.h"
#include "pfad/dashboard/assets.h"

namespace pfad::dashboard {
namespace {

using Json = nlohmann::ordered_json;
constexpr const char* kJson = "application/json";
constexpr const char* kNoReport = "No report stored.";

void Detail(httplib::Response& res, int status, const std::string& detail) {
  res.status = status;
  res.set_content(Json{{"detail", detail}}.dump(), kJson);
}

// Parses JSON, refusing nesting deeper than `max_depth` before building it: a
// byte scan (skipping strings) finds the depth first, so hostile nesting never
// reaches the recursive parser.
Result<Json> ParseBounded(const std::string& text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return Status::Invalid("JSON nested deeper than ", max_depth, " levels");
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::Invalid("malformed JSON");
  return doc;
}

}  // namespace

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

Result<std::unique_ptr<DashboardServer>> DashboardServer::Make(const DashboardOptions& options, const Clock& clock) {
  if (!IsLoopback(options.host) && options.token.empty()) {
    return Status::Invalid("refusing to listen on ", options.host,
                           " without a bearer token: set --token or PFAD_DASHBOARD_TOKEN (or bind 127.0.0.1)");
  }
  PFAD_ASSIGN_OR_RAISE(auto store, ReportStore::Open(options.database));
  std::unique_ptr<DashboardServer> server(new DashboardServer(options, std::move(store), clock));
  PFAD_RETURN_NOT_OK(server->LoadLatest());
  return server;
}

DashboardServer::DashboardServer(DashboardOptions options, std::unique_ptr<ReportStore> store, const Clock& clock)
    : options_(std::move(options)), store_(std::move(store)), clock_(clock), http_(std::make_unique<httplib::Server>()) {
  Routes();
}

Status DashboardServer::Persist(std::string body) {
  std::future<Status> done;
  {
    std::lock_guard lock(write_mutex_);
    if (stopping_) return Status::Cancelled("the dashboard is stopping");
    write_queue_.push_back({std::move(body), {}});
    done = write_queue_.back().done.get_future();
  }
  write_ready_.notify_one();
  return done.get();
}

void DashboardServer::WriterLoop() {
  while (true) {
    std::vector<PendingWrite> batch;
    {
      std::unique_lock lock(write_mutex_);
      write_ready_.wait(lock, [this] { return stopping_ || !write_queue_.empty(); });
      if (write_queue_.empty()) return;  // stopping and drained
      batch.swap(write_queue_);
    }
    std::vector<std::string> bodies;
    bodies.reserve(batch.size());
    for (auto& w : batch) bodies.push_back(std::move(w.body));
    const Status st = store_->AddAll(bodies, clock_.NowMillis());
    for (auto& w : batch) w.done.set_value(st);
  }
}

Status DashboardServer::LoadLatest() {
  PFAD_ASSIGN_OR_RAISE(auto latest, store_->Latest());
  if (latest) latest_ = std::make_shared<const std::string>(std::move(latest->body));
  return Status::OK();
}

DashboardServer::~DashboardServer() { Stop(); }

void DashboardServer::Publish(const std::string& event, const std::string& data) {
  {
    std::lock_guard lock(feed_mutex_);
    ++feed_seq_;
    feed_event_ = event;
    feed_data_ = data;
  }
  feed_changed_.notify_all();
}

void DashboardServer::Routes() {
  auto& http = *http_;
  const int threads = options_.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http.set_payload_max_length(options_.max_body_bytes);
  http.set_read_timeout(std::chrono::seconds(10));
  http.set_write_timeout(std::chrono::seconds(10));
  http.set_keep_alive_max_count(1000);
  http.set_tcp_nodelay(true);  // small JSON answers: no 40 ms Nagle/delayed-ACK stalls
  // Remember the listening socket: Debian's compiled cpp-httplib listens with a
  // backlog of 5, which resets bursts of connections; Start() widens it.
  http.set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_socket_ = sock;
  });

  const auto authorized = [this](const httplib::Request& req, httplib::Response& res) {
    if (options_.token.empty()) return true;
    if (req.get_header_value("Authorization") == "Bearer " + options_.token) return true;
    res.set_header("WWW-Authenticate", "Bearer");
    Detail(res, 401, "Missing or invalid bearer token.");
    return false;
  };
  const auto internal_error = [](httplib::Response& res, const Status& st) {
    Logger("dashboard")->error("{}", st.ToString());
    Detail(res, 500, "Internal error: " + st.message());
  };

  http.Post("/report", [=, this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) return;
    auto doc = ParseBounded(req.body, options_.max_json_depth);
    if (!doc.ok()) return Detail(res, 422, "Invalid request body: " + doc.status().message() + ".");
    if (!doc->is_object() || !doc->contains("report") || !((*doc)["report"].is_object() || (*doc)["report"].is_string())) {
      return Detail(res, 422, "Invalid request body: expected {\"report\": object or string}.");
    }
    const std::string body = Json{{"report", (*doc)["report"]}}.dump();
    if (const Status st = Persist(body); !st.ok()) return internal_error(res, st);
    {
      std::lock_guard lock(latest_mutex_);
      latest_ = std::make_shared<const std::string>(body);
    }
    Publish("report", body);
    res.set_content("null", kJson);
  });

  http.Get("/report", [=, this](const httplib::Request&, httplib::Response& res) {
    std::shared_ptr<const std::string> latest;
    {
      std::lock_guard lock(latest_mutex_);
      latest = latest_;
    }
    if (!latest) return Detail(res, 404, kNoReport);
    res.set_content(*latest, kJson);
  });

  http.Delete("/report", [=, this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) return;
    if (const Status st = store_->Clear(); !st.ok()) return internal_error(res, st);
    {
      std::lock_guard lock(latest_mutex_);
      latest_.reset();
    }
    Publish("cleared", "{}");
    res.set_content(R"({"status":"cleared"})", kJson);
  });

  http.Get("/health", [=, this](const httplib::Request&, httplib::Response& res) {
    bool has_latest = false;
    {
      std::lock_guard lock(latest_mutex_);
      has_latest = latest_ != nullptr;
    }
    auto failed = store_->FailedRunCount();
    if (!failed.ok()) return internal_error(res, failed.status());
    res.set_content(
        Json{{"status", "healthy"}, {"reports_count", has_latest ? 1 : 0}, {"failed_runs", *failed}}.dump(), kJson);
  });

  // Scheduled runs' outcomes, reported by `pfad run`: failures show on the page.
  http.Post("/runs", [=, this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) return;
    auto doc = ParseBounded(req.body, options_.max_json_depth);
    if (!doc.ok()) return Detail(res, 422, "Invalid request body: " + doc.status().message() + ".");
    const Json& d = *doc;
    if (!d.is_object() || !d.contains("minute") || !d["minute"].is_string() || !d.contains("state") ||
        !d["state"].is_string() || (d["state"] != "success" && d["state"] != "failed")) {
      return Detail(res, 422, "Invalid request body: expected {\"minute\": string, \"state\": \"success\"|\"failed\", ...}.");
    }
    dashboard::RunOutcome run{d["minute"].get<std::string>(), d["state"].get<std::string>(),
                              d.value("attempts", 0), d.value("error", std::string()), clock_.NowMillis()};
    if (const Status st = store_->PutRun(run); !st.ok()) return internal_error(res, st);
    Publish("run", d.dump());
    res.set_content("null", kJson);
  });

  http.Get("/runs", [=, this](const httplib::Request& req, httplib::Response& res) {
    auto runs = store_->Runs(60, req.has_param("failed"));
    if (!runs.ok()) return internal_error(res, runs.status());
    Json list = Json::array();
    for (const auto& r : *runs) {
      list.push_back({{"minute", r.minute}, {"state", r.state}, {"attempts", r.attempts}, {"error", r.error},
                      {"updated_ms", r.updated_ms}});
    }
    res.set_content(Json{{"runs", std::move(list)}}.dump(), kJson);
  });

  http.Get("/reports", [=, this](const httplib::Request& req, httplib::Response& res) {
    int limit = 60;
    if (req.has_param("limit")) {
      const std::string v = req.get_param_value("limit");
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), limit);
      if (ec != std::errc() || ptr != v.data() + v.size() || limit < 1 || limit > 10000) {
        return Detail(res, 422, "limit must be an integer from 1 to 10000.");
      }
    }
    auto recent = store_->Recent(limit);
    if (!recent.ok()) return internal_error(res, recent.status());
    Json list = Json::array();
    for (const auto& r : *recent) {
      list.push_back({{"id", r.id}, {"received_ms", r.received_ms}, {"report", Json::parse(r.body)}});
    }
    res.set_content(Json{{"reports", std::move(list)}}.dump(), kJson);
  });

  http.Get("/events", [this](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-cache");
    uint64_t seen = 0;
    {
      std::lock_guard lock(feed_mutex_);
      seen = feed_seq_;
    }
    res.set_chunked_content_provider("text/event-stream", [this, seen](size_t, httplib::DataSink& sink) mutable {
      std::string chunk;
      {
        std::unique_lock lock(feed_mutex_);
        feed_changed_.wait_for(lock, std::chrono::seconds(15), [&] { return stopping_ || feed_seq_ != seen; });
        if (stopping_) return false;
        if (feed_seq_ != seen) {
          seen = feed_seq_;
          chunk = "event: " + feed_event_ + "\ndata: " + feed_data_ + "\n\n";
        } else {
          chunk = ": keep-alive\n\n";
        }
      }
      return sink.write(chunk.data(), chunk.size());
    });
  });

  const auto asset = [](const char* type, std::string_view body) {
    return [type, body](const httplib::Request&, httplib::Response& res) {
      res.set_content(body.data(), body.size(), type);
    };
  };
  http.Get("/", asset("text/html; charset=utf-8", IndexHtml()));
  http.Get("/app.js", asset("text/javascript", AppJs()));
  http.Get("/chart.js", asset("text/javascript", ChartJs()));
  http.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });

  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    Detail(res, 500, "Internal error: " + what);
  });
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413) return Detail(res, 413, "Request body too large.");
    if (res.status == 404) return Detail(res, 404, "Not Found");
    if (res.status == 405) return Detail(res, 405, "Method Not Allowed");
  });
}

Status DashboardServer::Start() {
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.host);
    if (port_ <= 0) return Status::IOError("cannot listen on ", options_.host);
  } else {
    if (!http_->bind_to_port(options_.host, options_.port)) {
      return Status::IOError("cannot listen on ", options_.host, ":", options_.port, " (in use?)");
    }
    port_ = options_.port;
  }
  // listen(2) again on a listening socket only changes its backlog (Linux).
  if (listen_socket_ >= 0) ::listen(listen_socket_, SOMAXCONN);
  writer_ = std::thread([this] { WriterLoop(); });
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  // The socket already listens; wait for the accept loop so Stop() cannot race it.
  for (int i = 0; i < 200 && !http_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  Logger("dashboard")->info("dashboard on http://{}:{}", options_.host, port_);
  return Status::OK();
}

void DashboardServer::Stop() {
  stopping_.store(true);
  {
    std::lock_guard lock(feed_mutex_);
  }
  feed_changed_.notify_all();
  http_->stop();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(write_mutex_);
  }
  write_ready_.notify_all();
  if (writer_.joinable()) writer_.join();
}

}  // namespace pfad::dashboard
