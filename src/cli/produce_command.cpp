// pfad produce: generated events to Kafka (Confluent-framed Avro).
#include <fmt/format.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>

#include "cli.h"
#include "pfad/events/avro.h"
#include "pfad/events/minute.h"
#include "pfad/produce/event_producer.h"

namespace pfad::cli {
namespace {

// Flags laid over produce::ProduceOptions::Resolve; the settings no config
// file or environment variable sets (workers, rate, seed, minutes) are bound
// straight to `options`, so their defaults are the library's.
struct ProduceFlags {
  produce::ProduceOptions options;
  std::optional<std::string> bootstrap, registry, topic;
  std::optional<int64_t> count;
  std::optional<double> duration;
  std::string start_time;
  std::vector<std::string> properties;
  std::optional<double> connect_timeout_s;
  bool dry_run = false;
  bool json = false;
  std::string config_path;
  MetricsFlags metrics;
};

Result<int64_t> ParseStartTime(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) return std::stoll(text);
  PFAD_ASSIGN_OR_RAISE(auto calendar, events::MinuteCalendar::Open());
  PFAD_ASSIGN_OR_RAISE(auto minute, calendar.Parse(text));
  return minute.start_ms;
}

Status Resolve(ProduceFlags& flags) {
  PFAD_ASSIGN_OR_RAISE(auto config, LoadConfigFile(flags.config_path));
  PFAD_ASSIGN_OR_RAISE(auto o, produce::ProduceOptions::Resolve(config));
  Overlay(flags.bootstrap, o.bootstrap);
  Overlay(flags.registry, o.registry_url);
  Overlay(flags.topic, o.topic);
  PFAD_RETURN_NOT_OK(OverlayKafkaFlags(flags.properties, o.properties));
  if (flags.connect_timeout_s) o.connect_timeout = SecondsToMillis(*flags.connect_timeout_s);
  o.workers = flags.options.workers;
  o.rate = flags.options.rate;
  o.seed = flags.options.seed;
  o.minutes = flags.options.minutes;
  o.fraud_share = flags.options.fraud_share;
  o.count = flags.count;
  if (flags.duration) o.duration = SecondsToMillis(*flags.duration);
  if (!flags.start_time.empty()) {
    PFAD_ASSIGN_OR_RAISE(o.start_time_ms, ParseStartTime(flags.start_time));
  }
  flags.options = std::move(o);
  return Status::OK();
}

// The final statistics for --json.
nlohmann::ordered_json StatsJson(const produce::ProduceStats& s) {
  return {{"generated", s.generated},
          {"delivered", s.delivered},
          {"failed", s.failed},
          {"seconds", s.seconds},
          {"latency_p50_ms", s.latency_p50_ms},
          {"latency_p99_ms", s.latency_p99_ms},
          {"latency_max_ms", s.latency_max_ms},
          {"labels_delivered", s.labels_delivered}};
}

std::string StatsLine(const produce::ProduceStats& s, bool fraud) {
  const double rate = s.seconds > 0 ? static_cast<double>(s.delivered) / s.seconds : 0;
  const std::string labels = fraud ? fmt::format("; {} labels delivered", s.labels_delivered) : std::string();
  return fmt::format(
      "{} events delivered, {} failed, {} generated in {:.2f} s ({:.0f} events/s; delivery latency "
      "p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms){}",
      s.delivered, s.failed, s.generated, s.seconds, rate, s.latency_p50_ms, s.latency_p99_ms,
      s.latency_max_ms, labels);
}

int RunProduce(ProduceFlags& flags) {
  if (const Status st = Resolve(flags); !st.ok()) return ReportError("produce", st);
  if (flags.dry_run) {
    const Status st = produce::GenerateOnly(flags.options, DefaultClock(), [](int, const events::Event& e) {
      fmt::print("{}\n", events::ToJsonLine(e));
    });
    return st.ok() ? kOk : ReportError("produce", st);
  }
  const std::atomic<bool>& stop = StopOnSignals();
  flags.options.metrics = std::make_shared<produce::ProduceMetrics>(metrics::ProcessRegistry());
  auto health = std::make_shared<metrics::Health>();
  health->Add("kafka", [m = flags.options.metrics] { return m->Health(); });
  auto endpoint = flags.metrics.Serve("produce", health);
  if (!endpoint.ok()) return ReportError("produce", endpoint.status());
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  auto stats = produce::Run(flags.options, stop, DefaultClock(), [tty](const produce::ProduceStats& s) {
    if (!tty) return;
    const double rate = s.seconds > 0 ? static_cast<double>(s.generated) / s.seconds : 0;
    fmt::print(stderr, "\r{:>10.0f} events/s  {:>12} delivered  {:>8} failed ", rate, s.delivered, s.failed);
  });
  if (tty) fmt::print(stderr, "\n");
  if (!stats.ok()) return ReportError("produce", stats.status());
  fmt::print(stderr, "pfad produce: {}\n", StatsLine(*stats, flags.options.fraud_share.has_value()));
  if (flags.json) fmt::print("{}\n", StatsJson(*stats).dump());
  return stats->failed > 0 ? kDelivery : kOk;
}

}  // namespace

void RegisterProduce(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ProduceFlags>();
  auto& o = flags->options;
  CLI::App* cmd = app.add_subcommand(
      "produce",
      "Produce generated Avro events (docs/DESIGN.md, \"Kafka topics\") to Kafka, key = the\n"
      "16 bytes of user_id. Registers the schema once under <topic>-value. Stops after --count\n"
      "or --duration, or on SIGINT/SIGTERM (then flushes, reports, exit 0). A progress line shows on\n"
      "a terminal. Any librdkafka property via -X key=value (or [kafka] in the config file),\n"
      "except secrets. SASL_SSL: PFAD_KAFKA_SECURITY_PROTOCOL, PFAD_KAFKA_SASL_MECHANISM,\n"
      "PFAD_KAFKA_SASL_USERNAME, PFAD_KAFKA_SASL_PASSWORD, PFAD_KAFKA_SSL_CA_LOCATION (or [kafka]).\n"
      "Settings also come from the config file's [produce] section (flag, else environment, else file).");
  cmd->add_option("--bootstrap", flags->bootstrap,
                  "Kafka bootstrap servers (default: $PFAD_KAFKA_BOOTSTRAP, else [produce] bootstrap)")
      ->default_str(o.bootstrap);
  cmd->add_option(
      "--registry", flags->registry,
      "schema registry base URL (Confluent API; default: $PFAD_REGISTRY_URL, else [produce] registry)");
  cmd->add_option("--topic", flags->topic, "topic")->default_str(o.topic);
  cmd->add_option("--workers", o.workers, "producer threads, each with its own producer")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--rate", o.rate, "events/s over all workers (0 = as fast as possible)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--count", flags->count, "stop after this many events")->check(CLI::NonNegativeNumber);
  cmd->add_option("--duration", flags->duration, "stop after this many seconds")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o.seed, "random seed (same seed and workers, same events)")
      ->capture_default_str();
  cmd->add_option("--start-time", flags->start_time,
                  "backfill from this Tehran minute ('YYYY-MM-DD HH:MM') or epoch ms (needs --count)");
  cmd->add_option("--minutes", o.minutes,
                  "backfill: spread timestamps over this many minutes (needs --count)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option(
         "--fraud", o.fraud_share,
         "mix in labelled actors: about this share of users are fraud (0 <= share < 1; as many "
         "again are legitimate look-alikes); labels go as JSON to <topic>.labels, created when missing")
      ->check(ShareBelowOne());
  cmd->add_option("-X", flags->properties,
                  "librdkafka property key=value (repeatable; never a secret such as sasl.password)");
  cmd->add_option("--connect-timeout", flags->connect_timeout_s, "seconds to wait for the broker at start")
      ->default_str(fmt::format("{}", std::chrono::duration<double>(o.connect_timeout).count()))
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--dry-run", flags->dry_run,
                "print the events as JSON lines instead of sending them (needs --count)");
  cmd->add_flag("--json", flags->json, "print the final statistics as JSON on stdout");
  cmd->add_option("--config", flags->config_path, "TOML config file (default: $PFAD_CONFIG)");
  flags->metrics.AddTo(*cmd);
  cmd->footer(std::string(kExitCodesHelp) +
              " 5 some events were not delivered. Exit 4 when the broker does not answer within "
              "--connect-timeout, or the registry within 5 attempts.");
  cmd->callback([flags, &exit_code] { exit_code = RunProduce(*flags); });
}

}  // namespace pfad::cli
