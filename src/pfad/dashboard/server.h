// The dashboard service (docs/DESIGN.md, "Dashboard HTTP API"): the reference FastAPI service's
// API (POST/GET/DELETE /report, GET /health; same status codes, bodies and
// `detail` messages) plus history (GET /reports?limit=N), a server-sent-events
// stream of new reports (GET /events) and the web page at / with its assets,
// all served by this process (no CDN). For analysts: the investigations that
// reports carry (report.fraud.investigations, kept apart from the report), the
// open alerts, the entity view and verdicts (GET /alerts, GET /entities/{kind}/{id},
// POST and GET /reviews; the page at /entity/{kind}/{id}). For operators: the
// pipeline's health (GET /pipeline, pipeline_health.h) from Prometheus or, without
// one, from the metrics registry the server is given.
//
// Security: loopback by default; with a bearer token, POST and DELETE need
// "Authorization: Bearer <token>"; binding anything but loopback without a
// token is refused. With a read token, every GET of data (the API and the
// event stream; not the page and its scripts, which hold none) needs it too,
// as "Authorization: Bearer <read token>" or the page's cookie
// "pfad_read_token" (the write token also reads). Tokens are compared in
// constant time (http/secret.h) and never logged. With a certificate and key,
// it serves HTTPS only. Bodies over the limit get 413; malformed, too deeply
// nested or wrongly shaped JSON gets 422.
#pragma once

#include "pfad/common/clock.h"
#include "pfad/common/config_file.h"
#include "pfad/common/settings.h"
#include "pfad/common/status.h"
#include "pfad/dashboard/case_store.h"
#include "pfad/dashboard/pipeline_health.h"
#include "pfad/dashboard/report_store.h"
#include "pfad/http/secret.h"
#include "pfad/http/server.h"
#include "pfad/metrics/metrics.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace pfad::dashboard {

// The dashboard's settings: defaults <- [dashboard] host / port / token /
// read_token / tls_cert / tls_key / database / max_body_bytes / threads /
// investigation_retention_minutes / prometheus of the config file <- PFAD_DASHBOARD_TOKEN,
// PFAD_DASHBOARD_READ_TOKEN, PFAD_DASHBOARD_TLS_CERT, PFAD_DASHBOARD_TLS_KEY,
// PFAD_DASHBOARD_INVESTIGATION_RETENTION_MINUTES, PFAD_PROMETHEUS_URL.
struct DashboardConfig {
  std::string host = "127.0.0.1";
  int port = 8080;         // 0 = any free port
  std::string token;       // bearer token for POST/DELETE; empty = none (loopback only)
  std::string read_token;  // bearer token for reading; empty = reads are open
  std::string tls_cert;    // PEM certificate (chain): serve HTTPS; empty = HTTP
  std::string tls_key;     // its PEM private key
  std::string database;    // SQLite file; empty = in memory
  size_t max_body_bytes = 1 << 20;
  int max_json_depth = 64;
  int threads = 1;                           // event loops (connections and streams cost no thread each)
  int investigation_retention_minutes = 60;  // investigations older than this are deleted
  // The Prometheus GET /pipeline reads (pipeline_health.h); empty = this process's registry.
  std::string prometheus;

  static Result<DashboardConfig> Resolve(const ConfigFile& file);
  // The rows Resolve reads (key, environment, default, unit, description); `pfad config` prints them.
  static const SettingsTable<DashboardConfig>& Settings();
};

// Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost).
bool IsLoopback(const std::string& host);

class DashboardServer {
 public:
  // Its metrics (requests by route and status, event-stream clients, stored
  // reports) go to `registry`; null = a registry of its own. Without
  // options.prometheus, GET /pipeline reads the pipeline's series from it too.
  static Result<std::unique_ptr<DashboardServer>> Make(const DashboardConfig& options,
                                                       const Clock& clock = DefaultClock(),
                                                       std::shared_ptr<metrics::Registry> registry = nullptr);
  ~DashboardServer();

  // Binds and serves on the HTTP server's event loop(s); returns once connections are accepted.
  [[nodiscard]] Status Start();
  // Stops accepting, closes connections and push streams, joins the loops; POSTs
  // not yet committed are dropped with their connections (never acknowledged).
  void Stop();
  [[nodiscard]] int port() const { return port_; }
  // "https" or "http".
  [[nodiscard]] const char* scheme() const { return options_.tls_cert.empty() ? "http" : "https"; }
  // For the metrics endpoint's /health: ready while the report database answers.
  [[nodiscard]] metrics::CheckResult StoreHealth();
  // Brings the event-stream gauge up to date (clients that left); before each scrape.
  void RefreshMetrics();

 private:
  DashboardServer(DashboardConfig options, std::unique_ptr<ReportStore> store,
                  std::unique_ptr<CaseStore> cases, const Clock& clock,
                  std::shared_ptr<metrics::Registry> registry);
  void Routes();
  void CaseRoutes();  // case_routes.cpp
  // A 401 for a missing or wrong write token; nothing when writes are open.
  [[nodiscard]] std::optional<http::Response> Unauthorized(const http::Request& req) const;
  // A 401 for a missing or wrong read (or write) token; nothing when reads are open.
  [[nodiscard]] std::optional<http::Response> Unreadable(const http::Request& req) const;
  static http::Response JsonBody(std::string body);       // 200, application/json
  static http::Response InternalError(const Status& st);  // logged, 500
  // A GET of data: `handler` behind the read check.
  [[nodiscard]] http::SyncHandler Reading(http::SyncHandler handler) const;
  // The oldest receipt time an investigation may have to be kept, now.
  [[nodiscard]] int64_t RetentionStartMs() const;
  Status LoadLatest();
  void Publish(const std::string& event, const std::string& data);

  DashboardConfig options_;
  http::SecretToken write_token_;
  http::SecretToken read_token_;
  std::unique_ptr<ReportStore> store_;
  std::unique_ptr<CaseStore> cases_;
  const Clock& clock_;
  std::shared_ptr<metrics::Registry> registry_;
  std::mutex requests_mutex_;  // the observer's counter cache (one per event loop thread calls it)
  prometheus::Family<prometheus::Counter>& requests_;
  metrics::Level stream_clients_;
  metrics::Level stored_reports_;
  std::unique_ptr<http::Server> http_;
  int port_ = 0;
  std::unique_ptr<PipelineHealthCache> pipeline_;  // GET /pipeline

  // Push stream subscribers (GET /events).
  std::mutex streams_mutex_;
  std::vector<std::shared_ptr<http::Stream>> streams_;

  // The latest-report slot, mirrored in memory so GET /report and /health need no query.
  std::mutex latest_mutex_;
  std::shared_ptr<const std::string> latest_;

  // Group commit: POST handlers queue their report with its responder; after
  // each round of requests the event loop stores everything queued in one
  // transaction, then publishes and answers them all. A POST is acknowledged
  // only once its report is committed.
  struct PendingWrite {
    ReportPost post;
    http::Responder responder;
  };
  void CommitPending();
  std::mutex pending_mutex_;
  std::vector<PendingWrite> pending_;
  std::atomic<bool> has_pending_{false};
};

}  // namespace pfad::dashboard
