// pfad dashboard: the report API and web page.
#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <thread>

#include "cli.h"
#include "pfad/dashboard/server.h"

namespace pfad::cli {
namespace {

int RunDashboard(dashboard::DashboardOptions options) {
  if (options.database.empty()) options.database = CacheDir() + "/dashboard.db";
  // Before the server answers anything: a stop request may follow its first answer.
  const std::atomic<bool>& stop = StopOnSignals();
  auto server = dashboard::DashboardServer::Make(options);
  if (!server.ok()) return ReportError("dashboard", server.status());
  if (const Status st = (*server)->Start(); !st.ok()) return ReportError("dashboard", st);
  fmt::print(stderr, "pfad dashboard: http://{}:{} (reports in {})\n", options.host, (*server)->port(),
             options.database);
  while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  (*server)->Stop();
  return kOk;
}

}  // namespace

void RegisterDashboard(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<dashboard::DashboardOptions>();
  options->database.clear();
  CLI::App* cmd = app.add_subcommand(
      "dashboard",
      "Serve the report API (POST/GET/DELETE /report, GET /health, GET /reports?limit=N, GET /events)\n"
      "and the web page at /. Reports persist in SQLite. With a token, POST and DELETE need\n"
      "'Authorization: Bearer <token>'; a non-loopback --host requires one.");
  cmd->add_option("--host", options->host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", options->port, "port (0 = any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--token", options->token, "bearer token for POST/DELETE")->envname("PFAD_DASHBOARD_TOKEN");
  cmd->add_option("--db", options->database, "SQLite database file (default: ~/.cache/pfad/dashboard.db)");
  cmd->add_option("--max-body", options->max_body_bytes, "largest accepted request body, bytes")->capture_default_str();
  cmd->add_option("--threads", options->threads, "event loops serving connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->footer(std::string(kExitCodesHelp));
  cmd->callback([options, &exit_code] { exit_code = RunDashboard(*options); });
}

}  // namespace pfad::cli
