#include "pfad/dashboard/server.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <map>

#include "pfad/common/log.h"
#include "pfad/dashboard/assets.h"
#include "pfad/dashboard/request_body.h"

namespace pfad::dashboard {
namespace {

using Json = nlohmann::ordered_json;
constexpr const char* kNoReport = "No report stored.";

constexpr auto Detail = http::DetailResponse;

// GET /pipeline: a slow Prometheus delays the row, never the server; 100 viewers make one query per TTL.
constexpr std::chrono::milliseconds kPrometheusTimeout{2000};
constexpr std::chrono::milliseconds kPipelineTtl{5000};

// The cookie the page keeps its read token in (web/app.js sets it).
constexpr std::string_view kReadTokenCookie = "pfad_read_token";

// The value of cookie `name` in a Cookie header ("a=1; b=2"), or "".
std::string_view CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t end = std::min(header.find(';'), header.size());
    std::string_view pair = header.substr(0, end);
    header.remove_prefix(std::min(end + 1, header.size()));
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
  }
  return {};
}

}  // namespace

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

Result<std::unique_ptr<DashboardServer>> DashboardServer::Make(const DashboardConfig& options,
                                                               const Clock& clock,
                                                               std::shared_ptr<metrics::Registry> registry) {
  if (!IsLoopback(options.host) && options.token.empty()) {
    return Status::Invalid(
        "refusing to listen on ", options.host,
        " without a bearer token: set --token or PFAD_DASHBOARD_TOKEN (or bind 127.0.0.1)");
  }
  PFAD_ASSIGN_OR_RAISE(auto store,
                       ReportStore::Open(options.database.empty() ? ":memory:" : options.database));
  PFAD_ASSIGN_OR_RAISE(auto cases, CaseStore::Open(store->database()));
  PFAD_ASSIGN_OR_RAISE(const int64_t stored, store->ReportCount());
  if (!registry) registry = std::make_shared<metrics::Registry>();
  std::unique_ptr<DashboardServer> server(
      new DashboardServer(options, std::move(store), std::move(cases), clock, std::move(registry)));
  server->stored_reports_ = stored;
  PFAD_RETURN_NOT_OK(server->LoadLatest());
  return server;
}

DashboardServer::DashboardServer(DashboardConfig options, std::unique_ptr<ReportStore> store,
                                 std::unique_ptr<CaseStore> cases, const Clock& clock,
                                 std::shared_ptr<metrics::Registry> registry)
    : options_(std::move(options)),
      write_token_(options_.token),
      read_token_(options_.read_token),
      store_(std::move(store)),
      cases_(std::move(cases)),
      clock_(clock),
      registry_(std::move(registry)),
      requests_(metrics::CounterFamily(*registry_, "pfad_dashboard_requests_total",
                                       "Answered requests, by route pattern (\"other\" when none matched) "
                                       "and HTTP status.")),
      stream_clients_(metrics::GaugeFamily(*registry_, "pfad_dashboard_stream_clients",
                                           "Open event streams (GET /events).")
                          .Add({})),
      stored_reports_(metrics::GaugeFamily(*registry_, "pfad_dashboard_stored_reports",
                                           "Reports in the dashboard's database (its whole history).")
                          .Add({})) {
  http::ServerOptions o;
  // Counted on the loop thread: one counter per (route, status), looked up once.
  o.observe = [this, cache = std::make_shared<std::map<std::pair<std::string, int>, prometheus::Counter*>>()](
                  std::string_view route, int status) mutable {
    const std::string name = route.empty() ? "other" : std::string(route);
    std::lock_guard lock(requests_mutex_);
    auto& counter = (*cache)[{name, status}];
    if (counter == nullptr) counter = &requests_.Add({{"route", name}, {"status", std::to_string(status)}});
    counter->Increment();
  };
  o.tls_cert_file = options_.tls_cert;
  o.tls_key_file = options_.tls_key;
  o.host = options_.host;
  o.port = options_.port;
  o.threads = options_.threads;
  o.max_body_bytes = options_.max_body_bytes;
  o.name = "dashboard";
  http_ = std::make_unique<http::Server>(o);
  pipeline_ = std::make_unique<PipelineHealthCache>(
      options_.prometheus.empty() ? MakeRegistryHealth(registry_, clock_)
                                  : MakePrometheusHealth(options_.prometheus, clock_, kPrometheusTimeout),
      clock_, kPipelineTtl);
  Routes();
}

void DashboardServer::CommitPending() {
  if (!has_pending_.load(std::memory_order_acquire)) return;
  std::vector<PendingWrite> batch;
  {
    std::lock_guard lock(pending_mutex_);
    batch.swap(pending_);
    has_pending_.store(false, std::memory_order_release);
  }
  if (batch.empty()) return;
  std::vector<std::string> bodies;
  std::vector<Investigation> investigations;
  bodies.reserve(batch.size());
  for (auto& w : batch) {
    bodies.push_back(std::move(w.post.document));
    std::move(w.post.investigations.begin(), w.post.investigations.end(), std::back_inserter(investigations));
  }
  const int64_t now = clock_.NowMillis();
  const int64_t keep_since = RetentionStartMs();
  const Status st = store_->AddAll(
      bodies, now, [&](SqliteDb& db) { return CaseStore::AddWithin(db, investigations, now, keep_since); });
  if (!st.ok()) {
    Logger("dashboard")->error("{}", st.ToString());
    for (auto& w : batch) w.responder.Send(Detail(500, "Internal error: " + st.message()));
    return;
  }
  {
    std::lock_guard lock(latest_mutex_);
    latest_ = std::make_shared<const std::string>(bodies.back());
  }
  stored_reports_.Add(static_cast<int64_t>(bodies.size()));
  for (size_t i = 0; i < batch.size(); ++i) {
    Publish("report", bodies[i]);
    batch[i].responder.Send(JsonBody("null"));
  }
}

Status DashboardServer::LoadLatest() {
  PFAD_ASSIGN_OR_RAISE(auto latest, store_->Latest());
  if (latest) latest_ = std::make_shared<const std::string>(std::move(latest->body));
  return Status::OK();
}

DashboardServer::~DashboardServer() { Stop(); }

int64_t DashboardServer::RetentionStartMs() const {
  return clock_.NowMillis() - int64_t{options_.investigation_retention_minutes} * 60'000;
}

void DashboardServer::Publish(const std::string& event, const std::string& data) {
  std::lock_guard lock(streams_mutex_);
  if (streams_.empty()) return;
  const std::string chunk = "event: " + event + "\ndata: " + data + "\n\n";
  std::erase_if(streams_, [&](const std::shared_ptr<http::Stream>& s) { return !s->Send(chunk); });
  stream_clients_ = static_cast<int64_t>(streams_.size());
}

void DashboardServer::RefreshMetrics() {
  // Streams whose client went away since the last report.
  std::lock_guard lock(streams_mutex_);
  std::erase_if(streams_, [](const std::shared_ptr<http::Stream>& s) { return !s->open(); });
  stream_clients_ = static_cast<int64_t>(streams_.size());
}

metrics::CheckResult DashboardServer::StoreHealth() {
  auto count = store_->ReportCount();
  if (!count.ok()) return {false, "the report database cannot be read: " + count.status().message()};
  return {true, std::to_string(*count) + " reports stored"};
}

http::Response DashboardServer::JsonBody(std::string body) {
  http::Response r;
  r.body = std::move(body);
  return r;
}

http::Response DashboardServer::InternalError(const Status& st) {
  Logger("dashboard")->error("{}", st.ToString());
  return Detail(500, "Internal error: " + st.message());
}

namespace {
http::Response Refusal() {
  http::Response r = Detail(401, "Missing or invalid bearer token.");
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}
}  // namespace

std::optional<http::Response> DashboardServer::Unauthorized(const http::Request& req) const {
  if (!write_token_.configured()) return std::nullopt;
  if (write_token_.Matches(http::BearerToken(req.Header("authorization")))) return std::nullopt;
  return Refusal();
}

// The page cannot put a header on its event stream, so its cookie counts too.
std::optional<http::Response> DashboardServer::Unreadable(const http::Request& req) const {
  if (!read_token_.configured()) return std::nullopt;
  const std::string_view bearer = http::BearerToken(req.Header("authorization"));
  if (read_token_.Matches(bearer) || write_token_.Matches(bearer)) return std::nullopt;
  std::string cookie;  // the page keeps it percent-encoded, as it was in the address
  if (http::PercentDecode(CookieValue(req.Header("cookie"), kReadTokenCookie), false, cookie) &&
      read_token_.Matches(cookie)) {
    return std::nullopt;
  }
  return Refusal();
}

http::SyncHandler DashboardServer::Reading(http::SyncHandler handler) const {
  return [this, handler = std::move(handler)](const http::Request& req) {
    if (auto no = Unreadable(req)) return std::move(*no);
    return handler(req);
  };
}

void DashboardServer::Routes() {
  auto& routes = *http_;
  routes.AfterRound([this] { CommitPending(); });

  const auto unauthorized = [this](const http::Request& req) { return Unauthorized(req); };
  const auto unreadable = [this](const http::Request& req) { return Unreadable(req); };
  const auto reading = [this](http::SyncHandler handler) { return Reading(std::move(handler)); };
  const auto internal_error = InternalError;

  routes.Route("POST", "/report", [=, this](http::Request& req, http::Responder responder) {
    if (auto denied = unauthorized(req)) return responder.Send(std::move(*denied));
    auto stored = ReportDocument(req.body, options_.max_json_depth);
    if (!stored.ok()) return responder.Send(Detail(422, stored.status().message()));
    for (const auto& why : stored->skipped) {
      Logger("dashboard")->warn("report investigation skipped: {}", why);
    }
    std::lock_guard lock(pending_mutex_);
    pending_.push_back({*std::move(stored), std::move(responder)});
    has_pending_.store(true, std::memory_order_release);
  });

  routes.Get("/report", reading([this](const http::Request&) {
               std::shared_ptr<const std::string> latest;
               {
                 std::lock_guard lock(latest_mutex_);
                 latest = latest_;
               }
               if (!latest) return Detail(404, kNoReport);
               return JsonBody(*latest);
             }));

  routes.Delete("/report", [=, this](const http::Request& req) {
    if (auto denied = unauthorized(req)) return std::move(*denied);
    if (const Status st = store_->Clear(); !st.ok()) return internal_error(st);
    {
      std::lock_guard lock(latest_mutex_);
      latest_.reset();
    }
    Publish("cleared", "{}");
    return JsonBody(R"({"status":"cleared"})");
  });

  routes.Get("/health", reading([=, this](const http::Request&) {
               bool has_latest = false;
               {
                 std::lock_guard lock(latest_mutex_);
                 has_latest = latest_ != nullptr;
               }
               auto failed = store_->FailedRunCount();
               if (!failed.ok()) return internal_error(failed.status());
               return JsonBody(Json{
                   {"status", "healthy"}, {"reports_count", has_latest ? 1 : 0}, {"failed_runs", *failed}}
                                   .dump());
             }));

  // Scheduled runs' outcomes, reported by `pfad run`: failures show on the page.
  routes.Post("/runs", [=, this](const http::Request& req) {
    if (auto denied = unauthorized(req)) return std::move(*denied);
    auto doc = ParseBoundedJson(req.body, options_.max_json_depth);
    if (!doc.ok()) return Detail(422, "Invalid request body: " + doc.status().message() + ".");
    auto run = events::ParseRunRecord(*doc);
    if (!run.ok() || !events::IsEnded(run->state)) {
      return Detail(422,
                    "Invalid request body: expected {\"minute\": string, \"state\": \"success\"|\"failed\", "
                    "\"attempts\": integer, \"error\": string}.");
    }
    run->updated_ms = clock_.NowMillis();
    if (const Status st = store_->PutRun(*run); !st.ok()) return internal_error(st);
    Publish("run", events::ToJson(*run).dump());
    return JsonBody("null");
  });

  // The model registry's records, posted by `pfad fraud retrain --dashboard`: shown beside the
  // model in use. {"model_file": string, "record": {"version": integer, ...}}.
  routes.Post("/models", [=, this](const http::Request& req) {
    if (auto denied = unauthorized(req)) return std::move(*denied);
    auto doc = ParseBoundedJson(req.body, options_.max_json_depth);
    if (!doc.ok()) return Detail(422, "Invalid request body: " + doc.status().message() + ".");
    const Json& d = *doc;
    if (!d.is_object() || !d.contains("model_file") || !d["model_file"].is_string() ||
        !d.contains("record") || !d["record"].is_object() || !d["record"].contains("version") ||
        !d["record"]["version"].is_number_integer()) {
      return Detail(422,
                    "Invalid request body: expected {\"model_file\": string, \"record\": {\"version\": "
                    "integer, ...}}.");
    }
    Json stored = d["record"];
    stored["model_file"] = d["model_file"];
    if (const Status st =
            store_->PutModel(d["model_file"].get<std::string>(), d["record"]["version"].get<int64_t>(),
                             stored.dump(), clock_.NowMillis());
        !st.ok()) {
      return internal_error(st);
    }
    Publish("model", stored.dump());
    return JsonBody("null");
  });

  routes.Get("/models", reading([=, this](const http::Request&) {
               auto models = store_->Models(50);
               if (!models.ok()) return internal_error(models.status());
               Json list = Json::array();
               for (const auto& body : *models) list.push_back(Json::parse(body));
               return JsonBody(Json{{"models", std::move(list)}}.dump());
             }));

  routes.Get("/runs", reading([=, this](const http::Request& req) {
               auto runs = store_->Runs(60, req.Param("failed").has_value());
               if (!runs.ok()) return internal_error(runs.status());
               Json list = Json::array();
               for (const auto& r : *runs) list.push_back(events::ToJson(r));
               return JsonBody(Json{{"runs", std::move(list)}}.dump());
             }));

  // The page's pipeline-health row (pipeline_health.h); answered off the loop when it must read.
  routes.Route("GET", "/pipeline", [this, unreadable](http::Request& req, http::Responder responder) {
    if (auto no = unreadable(req)) return responder.Send(std::move(*no));
    pipeline_->Get([r = std::make_shared<http::Responder>(std::move(responder))](const std::string& json) {
      r->Send(JsonBody(json));
    });
  });

  routes.Get(
      "/reports", reading([=, this](const http::Request& req) {
        int limit = 60;
        if (const auto v = req.Param("limit")) {
          auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), limit);
          if (ec != std::errc() || ptr != v->data() + v->size() || limit < 1 || limit > 10000) {
            return Detail(422, "limit must be an integer from 1 to 10000.");
          }
        }
        auto recent = store_->Recent(limit);
        if (!recent.ok()) return internal_error(recent.status());
        Json list = Json::array();
        for (const auto& r : *recent) {
          list.push_back({{"id", r.id}, {"received_ms", r.received_ms}, {"report", Json::parse(r.body)}});
        }
        return JsonBody(Json{{"reports", std::move(list)}}.dump());
      }));

  CaseRoutes();

  routes.Route("GET", "/events", [this, unreadable](http::Request& req, http::Responder responder) {
    if (auto no = unreadable(req)) return responder.Send(std::move(*no));
    auto stream = responder.OpenStream("text/event-stream", {{"Cache-Control", "no-cache"}});
    std::lock_guard lock(streams_mutex_);
    streams_.push_back(std::move(stream));
    stream_clients_ = static_cast<int64_t>(streams_.size());
  });

  const auto asset = [](const char* type, std::string_view body) {
    return [type, body](const http::Request&) {
      http::Response r;
      r.content_type = type;
      r.body = std::string(body);
      return r;
    };
  };
  routes.Get("/", asset("text/html; charset=utf-8", IndexHtml()));
  routes.Get("/entity/{}/{}", asset("text/html; charset=utf-8", IndexHtml()));  // the page's entity view
  routes.Get("/app.js", asset("text/javascript", AppJs()));
  routes.Get("/analyst.js", asset("text/javascript", AnalystJs()));
  routes.Get("/pipeline.js", asset("text/javascript", PipelineJs()));
  routes.Get("/chart.js", asset("text/javascript", ChartJs()));
  routes.Get("/cytoscape.js", asset("text/javascript", CytoscapeJs()));
  routes.Get("/favicon.ico", [](const http::Request&) {
    http::Response r;
    r.status = 204;
    return r;
  });
}

Status DashboardServer::Start() {
  PFAD_RETURN_NOT_OK(http_->Start());
  port_ = http_->port();
  Logger("dashboard")->info("dashboard on {}://{}:{}", scheme(), options_.host, port_);
  return Status::OK();
}

void DashboardServer::Stop() { http_->Stop(); }

}  // namespace pfad::dashboard
