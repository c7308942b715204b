// pfad ingest: Kafka -> one Parquet object per minute, exactly once.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "pfad/ingest/ingester.h"
#include "pfad/warehouse/ingest_sinks.h"

namespace pfad::cli {
namespace {

constexpr double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

struct IngestFlags {
  ingest::IngestOptions options;
  std::string sink;
  ClickHouseFlags clickhouse;
  // Flags in seconds; the defaults are the library's.
  double grace_s = Seconds(ingest::WindowOptions{}.grace_ms);
  double lookback_s = Seconds(ingest::WindowOptions{}.lookback_ms);
  double idle_timeout_s = Seconds(ingest::WindowOptions{}.idle_timeout_ms);
  double connect_timeout_s = Seconds(ingest::IngestOptions{}.connect_timeout.count());
  std::vector<std::string> properties;
  bool json = false;
  StorageFlags storage;
};

// The flags laid over the resolved settings, then the sinks made by their library.
Result<std::vector<std::unique_ptr<ingest::MinuteSink>>> Resolve(IngestFlags& flags) {
  auto& o = flags.options;
  PFAD_ASSIGN_OR_RAISE(auto config, flags.storage.LoadConfig());
  // The libraries resolve their sections (defaults, file, environment); flags go over them.
  PFAD_ASSIGN_OR_RAISE(const auto resolved, ingest::IngestOptions::Resolve(config));
  PFAD_ASSIGN_OR_RAISE(auto clickhouse, flags.clickhouse.Resolve(config));
  o.properties = resolved.properties;
  PFAD_RETURN_NOT_OK(OverlayKafkaFlags(flags.properties, o.properties));
  if (o.registry_url.empty()) o.registry_url = resolved.registry_url;
  o.topics = resolved.topics;
  o.registry = metrics::ProcessRegistry();
  if (!flags.sink.empty()) {
    PFAD_ASSIGN_OR_RAISE(o.sink, storage::ObjectUri::Parse(flags.sink));
  } else if (warehouse::HasObjectSink(resolved)) {
    o.sink = resolved.sink;
  } else if (clickhouse.url.empty()) {
    return Status::Invalid(
        "no sink: set --sink (a directory or s3://bucket[/prefix]) and/or --clickhouse "
        "http://host:port/<db>");
  }
  const auto ms = [](double s) { return static_cast<int64_t>(s * 1000); };
  o.windows.grace_ms = ms(flags.grace_s);
  o.windows.lookback_ms = ms(flags.lookback_s);
  o.windows.idle_timeout_ms = ms(flags.idle_timeout_s);
  o.connect_timeout = std::chrono::milliseconds(ms(flags.connect_timeout_s));
  if (o.registry_url.empty())
    return Status::Invalid("no schema registry: set --registry or PFAD_REGISTRY_URL");
  PFAD_RETURN_NOT_OK(ingest::Validate(ingest::WithDefaults(o)));
  storage::StorageConfig storage_config;
  if (warehouse::HasObjectSink(o)) {
    PFAD_ASSIGN_OR_RAISE(storage_config, flags.storage.Resolve(config));
  }
  return warehouse::MakeIngestSinks(o, storage_config, clickhouse, DefaultClock());
}

int RunIngest(IngestFlags& flags) {
  auto sinks = Resolve(flags);
  if (!sinks.ok()) return ReportError("ingest", sinks.status());
  auto stats = ingest::Run(flags.options, std::move(*sinks), StopOnSignals(), DefaultClock());
  if (!stats.ok()) return ReportError("ingest", stats.status());
  const auto& s = *stats;
  fmt::print(stderr,
             "pfad ingest: {} events read, {} stored in {} object writes ({} updates), {} to the DLQ\n",
             s.events_in, s.events_stored, s.objects_written, s.object_updates, s.dlq);
  if (flags.json) {
    const nlohmann::json json = {{"events_in", s.events_in},
                                 {"events_stored", s.events_stored},
                                 {"objects_written", s.objects_written},
                                 {"object_updates", s.object_updates},
                                 {"dlq", s.dlq},
                                 {"write_failures", s.write_failures},
                                 {"lag", s.lag},
                                 {"window_latency_max_ms", s.window_latency_max_ms},
                                 {"first_message_wall_ms", s.first_message_wall_ms},
                                 {"last_store_wall_ms", s.last_store_wall_ms}};
    fmt::print("{}\n", json.dump());
  }
  return kOk;
}

}  // namespace

void RegisterIngest(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<IngestFlags>();
  auto& o = flags->options;
  CLI::App* cmd = app.add_subcommand(
      "ingest",
      "Consume the event topic and write each Asia/Tehran minute's events as one Parquet object,\n"
      "<sink>/YYYY-MM-DD_HH-MM.parquet, every event exactly once: offsets are\n"
      "committed only for stored events, and each write merges with the stored object by event_id.\n"
      "A minute is written when event time on every active partition passes its end + --grace\n"
      "(or, with every partition idle for --idle-timeout, when the clock does). Late events rewrite\n"
      "their minute; events more than --lookback late, and undecodable messages, go to the DLQ\n"
      "topic with headers naming the error and the source. Each stored object is announced on the\n"
      "windows topic as JSON. With --clickhouse each minute also goes into <db>.user_interactions\n"
      "(deduplicated reads: SELECT ... FINAL). SIGINT/SIGTERM: finish the writes in flight, commit, exit 0.\n"
      "Contract: docs/DESIGN.md, \"Minute objects\", \"DLQ records\" and \"Announcements\".");
  cmd->add_option("--bootstrap", o.bootstrap, "Kafka bootstrap servers")
      ->envname("PFAD_KAFKA_BOOTSTRAP")
      ->capture_default_str();
  cmd->add_option("--registry", o.registry_url,
                  "schema registry base URL (Confluent API; else [ingest] registry)")
      ->envname("PFAD_REGISTRY_URL");
  cmd->add_option("--topic", o.topic, "topic to consume")->capture_default_str();
  cmd->add_option("--group", o.group, "consumer group")->capture_default_str();
  cmd->add_option(
         "--instance-id", o.instance_id,
         "static group membership: restarted with the same id, an ingester takes its partitions back at "
         "once (without, a restart waits until the group expels the dead member)")
      ->envname("PFAD_INGEST_INSTANCE_ID");
  cmd->add_option("--sink", flags->sink,
                  "directory, file:// or s3://bucket[/prefix] for the minute objects (else [ingest] sink)")
      ->envname("PFAD_INGEST_SINK");
  flags->clickhouse.AddTo(
      *cmd,
      "also (or, without --sink, only) store every minute in ClickHouse; offsets are committed "
      "once every sink has the events");
  cmd->add_option("--dlq-topic", o.dlq_topic, "dead-letter topic (default: <topic>.dlq)");
  cmd->add_option("--windows-topic", o.windows_topic,
                  "topic announcing stored objects (default: <topic>.windows)");
  cmd->add_option("--grace", flags->grace_s, "seconds a minute waits for stragglers after it ends")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--lookback", flags->lookback_s,
                  "seconds behind event time a late event may still rewrite its minute")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--idle-timeout", flags->idle_timeout_s,
                  "seconds without messages after which a partition is idle")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--row-group-rows", o.row_group_rows, "rows per Parquet row group")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-buffered", o.max_buffered_events,
                  "pause fetching while this many events are held and storage holds them up")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("-X", flags->properties,
                  "librdkafka property key=value (repeatable; [kafka] in the config; never a secret such "
                  "as sasl.password: PFAD_KAFKA_SASL_PASSWORD or the config)");
  cmd->add_option("--metrics-port", o.metrics_port, "serve Prometheus text metrics on this port (0 = off)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--metrics-host", o.metrics_host, "address of the metrics endpoint")->capture_default_str();
  cmd->add_option("--connect-timeout", flags->connect_timeout_s,
                  "seconds to wait for the broker and topics at start")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--until-idle", o.until_idle,
                "exit once the group has stored the whole topic and nothing is left to read (backfills, "
                "tests, benchmarks)");
  cmd->add_flag("--json", flags->json, "print the final statistics as JSON on stdout");
  flags->storage.AddTo(*cmd);
  cmd->footer(std::string(kExitCodesHelp) +
              "\nExit 4 at start when the broker, the event topic or the sink cannot be reached within "
              "--connect-timeout, or the broker refuses to create a missing DLQ or windows topic.");
  cmd->callback([flags, &exit_code] { exit_code = RunIngest(*flags); });
}

}  // namespace pfad::cli
