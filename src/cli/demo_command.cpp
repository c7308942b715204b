// pfad demo: the whole pipeline embedded in one process (no external services).
#include <fmt/format.h>

#include <csignal>
#include <cstdlib>

#include "cli.h"
#include "pfad/demo/embedded.h"
#include "pfad/events/topics.h"

namespace pfad::cli {
void RegisterDemo(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<demo::DemoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "demo",
      fmt::format(
          "Run the pipeline embedded: produce -> Kafka (librdkafka's in-process mock cluster, an in-memory\n"
          "schema registry) -> ingest into a local directory -> the ETAR schedule -> the dashboard on\n"
          "http://127.0.0.1:8080, with fraud actors in the stream and each minute's window scored by a\n"
          "model trained at start (the report's fraud object, alerts on {}).\n"
          "Ctrl-C stops everything (exit 0).",
          events::AlertsTopic(events::kEventsTopic)));
  cmd->add_option("--dir", options->dir, "working directory (default: ~/.cache/pfad/demo-live)");
  cmd->add_option("--port", options->port, "dashboard port")->capture_default_str();
  cmd->add_option("--backfill", options->backfill_minutes, "past minutes produced at start")
      ->capture_default_str();
  cmd->add_option("--events-per-minute", options->events_per_minute,
                  "events a minute (live rate, and per past minute)")
      ->capture_default_str();
  cmd->add_option(
         "--fraud", options->fraud_share,
         "share of users that are labelled fraud actors (docs/FRAUD.md, \"Labelled scenarios\"); 0 = none")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.99));
  cmd->add_option(
      "--fraud-model", options->fraud_model,
      "fraud model file (`pfad fraud train`); default: train one at start on a few generated labelled "
      "minutes");
  cmd->add_option(
         "--retrain-minutes", options->retrain_minutes,
         "the analyst loop: retrain a challenger on the labels that arrived every N minutes, promote it "
         "if at least as good (0 = never; docs/FRAUD.md section 9)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1440));
  cmd->callback([options, &exit_code] {
    if (options->dir.empty()) options->dir = CacheDir() + "/demo-live";
    const std::atomic<bool>& stop = StopOnSignals();
    fmt::print(stderr, "pfad demo: dashboard on http://{}:{} — Ctrl-C to stop\n", options->host,
               options->port);
    const Status st = demo::RunEmbedded(*options, stop);
    exit_code = st.ok() ? kOk : ReportError("demo", st);
  });
}

}  // namespace pfad::cli
