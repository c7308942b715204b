// pfad labels consume: the labels topic and the dashboard's review verdicts -> the labels store.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "pfad/labels/consumer.h"

namespace pfad::cli {
namespace {

constexpr double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

struct ConsumeFlags {
  labels::LabelsOptions options;
  // Only what was given goes over the resolved settings.
  std::optional<std::string> labels, group, dashboard;
  std::optional<int64_t> batch_messages, batch_ms, review_poll_ms;
  double connect_timeout_s = Seconds(labels::LabelsOptions{}.connect_timeout.count());
  std::vector<std::string> properties;
  bool json = false;
  StorageFlags storage;
};

int RunConsume(ConsumeFlags& flags) {
  auto config = flags.storage.LoadConfig();
  if (!config.ok()) return ReportError("labels consume", config.status());
  auto resolved = labels::LabelsOptions::Resolve(*config);
  if (!resolved.ok()) return ReportError("labels consume", resolved.status());
  // The library resolved defaults <- [labels] <- environment; the flags go over them.
  labels::LabelsOptions o = std::move(*resolved);
  o.bootstrap = flags.options.bootstrap;
  o.topic = flags.options.topic;
  o.once = flags.options.once;
  Overlay(flags.labels, o.prefix);
  Overlay(flags.group, o.group);
  Overlay(flags.dashboard, o.dashboard_url);
  Overlay(flags.batch_messages, o.batch_messages);
  if (flags.batch_ms) o.batch_time = std::chrono::milliseconds(*flags.batch_ms);
  if (flags.review_poll_ms) o.review_poll = std::chrono::milliseconds(*flags.review_poll_ms);
  o.connect_timeout = std::chrono::milliseconds(static_cast<int64_t>(flags.connect_timeout_s * 1000));
  if (Status st = OverlayKafkaFlags(flags.properties, o.properties); !st.ok()) {
    return ReportError("labels consume", st);
  }
  if (Status st = labels::Validate(o); !st.ok()) return ReportError("labels consume", st);
  auto storage = flags.storage.Resolve(*config);
  if (!storage.ok()) return ReportError("labels consume", storage.status());
  auto stats = labels::Run(o, *storage, StopOnSignals(), DefaultClock());
  if (!stats.ok()) return ReportError("labels consume", stats.status());
  const auto& s = *stats;
  fmt::print(stderr,
             "pfad labels consume: {} messages read, {} labels written, {} to the DLQ, {} reviews taken ({} "
             "refused)\n",
             s.messages, s.labels_written, s.dlq, s.reviews, s.reviews_refused);
  if (flags.json) {
    const nlohmann::json json = {{"messages", s.messages},
                                 {"labels_written", s.labels_written},
                                 {"dlq", s.dlq},
                                 {"reviews", s.reviews},
                                 {"reviews_refused", s.reviews_refused},
                                 {"objects_written", s.objects_written},
                                 {"batches", s.batches},
                                 {"write_failures", s.write_failures}};
    fmt::print("{}\n", json.dump());
  }
  return kOk;
}

}  // namespace

void RegisterLabels(CLI::App& app, int& exit_code) {
  CLI::App* labels_cmd = app.add_subcommand(
      "labels",
      "Fraud labels from the world: the labels store training reads (docs/DESIGN.md, \"Labels store\")");
  labels_cmd->require_subcommand(1);

  auto flags = std::make_shared<ConsumeFlags>();
  auto& o = flags->options;
  CLI::App* cmd = labels_cmd->add_subcommand(
      "consume",
      "Fill the labels store from the labels topic <topic>.labels (group pfad-labels) and, with\n"
      "--dashboard, from the dashboard's review verdicts, every label exactly once as read: each batch\n"
      "is written as <labels>/YYYY-MM-DD/kafka-<partition>-<first>-<last offset>.parquet before its offsets\n"
      "are committed, and readers keep one row per ref (<topic>/<partition>/<offset>, review/<id>), so\n"
      "a batch read again after a crash counts once. A message that is no label goes to\n"
      "<topic>.labels.dlq with headers naming the error and the source (kind invalid-label). Reviews\n"
      "resume after the highest review id in the store. Runs apart from pfad ingest: labels keep flowing\n"
      "while the ingester is redeployed. SIGINT/SIGTERM: write and commit the batch read, exit 0.\n"
      "Contract: docs/DESIGN.md, \"Labels store\", \"Fraud labels\" and \"DLQ records\".");
  cmd->add_option("--bootstrap", o.bootstrap, "Kafka bootstrap servers")
      ->envname("PFAD_KAFKA_BOOTSTRAP")
      ->capture_default_str();
  cmd->add_option("--topic", o.topic, "the events topic; labels are read from <topic>.labels")
      ->capture_default_str();
  cmd->add_option("--group", flags->group, "consumer group (default: [labels] group, else pfad-labels)");
  cmd->add_option("--labels", flags->labels,
                  "the labels store: directory, file:// or s3://bucket/prefix (default: $PFAD_LABELS_PREFIX, "
                  "else [labels] prefix; required)");
  cmd->add_option("--batch-messages", flags->batch_messages,
                  "labels read before a batch is written and committed (default: [labels] batch_messages, "
                  "else 10000)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--batch-ms", flags->batch_ms,
                  "longest a batch collects, in ms; an idle topic ends it sooner (default: [labels] batch_s, "
                  "else 1000)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--dashboard", flags->dashboard,
                  "take the review verdicts of this dashboard, http(s)://host:port (default: [labels] "
                  "dashboard; none when empty); its read token from $PFAD_DASHBOARD_READ_TOKEN, "
                  "$PFAD_DASHBOARD_TOKEN or [labels] dashboard_token, never a flag; CA: $PFAD_DASHBOARD_CA");
  cmd->add_option("--review-poll-ms", flags->review_poll_ms,
                  "how often the dashboard is asked for new reviews, in ms (default: [labels] review_poll_s, "
                  "else 2000)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("-X", flags->properties,
                  "librdkafka property key=value (repeatable; [kafka] in the config; never a secret such "
                  "as sasl.password: PFAD_KAFKA_SASL_PASSWORD or the config)");
  cmd->add_option(
         "--connect-timeout", flags->connect_timeout_s,
         "seconds to wait for the broker and the topic at start (and, with --once, for the dashboard)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--once", o.once,
                "exit 0 once the topic is taken up to its end at start and the dashboard has no newer review "
                "(tests, retraining)");
  cmd->add_flag("--json", flags->json, "print the final counts as JSON on stdout");
  flags->storage.AddTo(*cmd);
  cmd->footer(
      std::string(kExitCodesHelp) +
      "\nExit 3 when no labels store is given. Exit 4 at start when the broker, the labels topic or "
      "the store cannot be reached within --connect-timeout, or the broker refuses to create a missing "
      "DLQ topic; with --once also when the dashboard cannot be read within it (the topic's labels are "
      "stored and committed by then). Without --once an unreachable dashboard is logged and retried.");
  cmd->callback([flags, &exit_code] { exit_code = RunConsume(*flags); });
}

}  // namespace pfad::cli
