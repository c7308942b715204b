// pfad demo: the whole pipeline embedded in one process (no external services).
#include <fmt/format.h>

#include <csignal>
#include <cstdlib>

#include "cli.h"
#include "pfad/demo/embedded.h"

namespace pfad::cli {
void RegisterDemo(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<demo::DemoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "demo",
      "Run the pipeline embedded: produce -> Kafka (librdkafka's in-process mock cluster, an in-memory\n"
      "schema registry) -> ingest into a local directory -> the ETAR schedule -> the dashboard on\n"
      "http://127.0.0.1:8080. Ctrl-C stops everything.");
  cmd->add_option("--dir", options->dir, "working directory (default: ~/.cache/pfad/demo-live)");
  cmd->add_option("--port", options->port, "dashboard port")->capture_default_str();
  cmd->add_option("--backfill", options->backfill_minutes, "past minutes produced at start")->capture_default_str();
  cmd->add_option("--events-per-minute", options->events_per_minute, "events a minute (live rate, and per past minute)")
      ->capture_default_str();
  cmd->callback([options, &exit_code] {
    if (options->dir.empty()) options->dir = CacheDir() + "/demo-live";
    const std::atomic<bool>& stop = StopOnSignals();
    fmt::print(stderr, "pfad demo: dashboard on http://{}:{} — Ctrl-C to stop\n", options->host, options->port);
    const Status st = demo::RunEmbedded(*options, stop);
    exit_code = st.ok() ? kOk : ReportError("demo", st);
  });
}

}  // namespace pfad::cli
