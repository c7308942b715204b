// pfad dashboard: the report API and web page.
#include <fmt/format.h>

#include <chrono>
#include <optional>
#include <thread>

#include "cli.h"
#include "pfad/dashboard/server.h"

namespace pfad::cli {
namespace {

// Flags laid over dashboard::DashboardConfig; unset = the config's value.
struct DashboardFlags {
  std::string config_path;
  std::optional<std::string> host, token, database, tls_cert, tls_key;
  std::optional<int> port, threads;
  std::optional<size_t> max_body_bytes;
  MetricsFlags metrics;
};

Result<dashboard::DashboardConfig> Resolve(const DashboardFlags& flags) {
  PFAD_ASSIGN_OR_RAISE(auto file, LoadConfigFile(flags.config_path));
  PFAD_ASSIGN_OR_RAISE(auto config, dashboard::DashboardConfig::Resolve(file));
  Overlay(flags.host, config.host);
  Overlay(flags.port, config.port);
  Overlay(flags.token, config.token);
  Overlay(flags.database, config.database);
  Overlay(flags.tls_cert, config.tls_cert);
  Overlay(flags.tls_key, config.tls_key);
  Overlay(flags.max_body_bytes, config.max_body_bytes);
  Overlay(flags.threads, config.threads);
  if (config.database.empty()) config.database = CacheDir() + "/dashboard.db";
  return config;
}

int RunDashboard(const DashboardFlags& flags) {
  auto config = Resolve(flags);
  if (!config.ok()) return ReportError("dashboard", config.status());
  // Before the server answers anything: a stop request may follow its first answer.
  const std::atomic<bool>& stop = StopOnSignals();
  auto server = dashboard::DashboardServer::Make(*config, DefaultClock(), metrics::ProcessRegistry());
  if (!server.ok()) return ReportError("dashboard", server.status());
  if (const Status st = (*server)->Start(); !st.ok()) return ReportError("dashboard", st);
  dashboard::DashboardServer* s = server->get();
  auto health = std::make_shared<metrics::Health>();
  health->Add("reports", [s] { return s->StoreHealth(); });
  auto endpoint = flags.metrics.Serve("dashboard", health, [s] { s->RefreshMetrics(); });
  if (!endpoint.ok()) return ReportError("dashboard", endpoint.status());
  fmt::print(stderr, "pfad dashboard: {}://{}:{} (reports in {}{})\n", (*server)->scheme(), config->host,
             (*server)->port(), config->database,
             config->read_token.empty() ? "" : "; reading needs the read token");
  while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  (*server)->Stop();
  return kOk;
}

}  // namespace

void RegisterDashboard(CLI::App& app, int& exit_code) {
  const dashboard::DashboardConfig defaults;
  auto flags = std::make_shared<DashboardFlags>();
  CLI::App* cmd = app.add_subcommand(
      "dashboard",
      "Serve the report API (POST/GET/DELETE /report, GET /health, GET /reports?limit=N, GET /events,\n"
      "POST/GET /runs, GET /pipeline) and the web page at /. Reports persist in SQLite. With a token, POST "
      "and\n"
      "DELETE need 'Authorization: Bearer <token>'; a non-loopback --host requires one. With a read token\n"
      "($PFAD_DASHBOARD_READ_TOKEN or [dashboard] read_token; never a flag), reading the API needs it\n"
      "too (open the page as /#token=<read token>). --tls-cert and --tls-key serve HTTPS. Every flag\n"
      "also has a key in the config file's [dashboard] section (flag, else environment, else file).\n"
      "The page's pipeline-health row (GET /pipeline) reads [dashboard] prometheus ($PFAD_PROMETHEUS_URL).");
  cmd->add_option("--host", flags->host, "address to listen on")->default_str(defaults.host);
  cmd->add_option("--port", flags->port, "port (0 = any free port)")
      ->default_str(std::to_string(defaults.port))
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--token", flags->token,
                  "bearer token for POST/DELETE (default: $PFAD_DASHBOARD_TOKEN, else [dashboard] token)");
  cmd->add_option("--tls-cert", flags->tls_cert,
                  "PEM certificate (chain): serve HTTPS (default: $PFAD_DASHBOARD_TLS_CERT)");
  cmd->add_option("--tls-key", flags->tls_key,
                  "PEM private key of --tls-cert (default: $PFAD_DASHBOARD_TLS_KEY)");
  cmd->add_option("--db", flags->database,
                  "SQLite database file (default: [dashboard] database, else ~/.cache/pfad/dashboard.db)");
  cmd->add_option("--max-body", flags->max_body_bytes, "largest accepted request body, bytes")
      ->default_str(std::to_string(defaults.max_body_bytes));
  cmd->add_option("--threads", flags->threads, "event loops serving connections")
      ->default_str(std::to_string(defaults.threads))
      ->check(CLI::Range(1, 64));
  cmd->add_option("--config", flags->config_path, "TOML config file (default: $PFAD_CONFIG)");
  flags->metrics.AddTo(*cmd);
  cmd->footer(std::string(kExitCodesHelp));
  cmd->callback([flags, &exit_code] { exit_code = RunDashboard(*flags); });
}

}  // namespace pfad::cli
