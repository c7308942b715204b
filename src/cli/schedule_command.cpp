// pfad run (the ETAR schedule, every minute), pfad backfill (a range of minutes)
// and pfad report (post one stored report).
#include <fmt/format.h>

#include <chrono>
#include <optional>

#include "cli.h"
#include "pfad/events/topics.h"
#include "pfad/schedule/config.h"
#include "pfad/schedule/etar_stage.h"

namespace pfad::cli {
namespace {

// How often pfad run looks at the clock.
constexpr std::chrono::milliseconds kTick{250};

// The --source value that exports each minute from ClickHouse into --objects first.
constexpr std::string_view kClickHouseSource = "clickhouse";

// Flags laid over schedule::ScheduleConfig; unset = the config's value.
struct ScheduleFlags {
  std::string source;   // the objects' directory or bucket/prefix, or "clickhouse"
  std::string objects;  // with --source clickhouse: where minutes are exported to
  ClickHouseFlags clickhouse;
  std::optional<std::string> dashboard, token, dashboard_ca, state, announcements, bootstrap;
  std::optional<std::string> fraud_model, fraud_alerts_topic;
  std::optional<int> retries, max_active_runs;
  std::optional<double> retry_delay_s, delay_s, report_wait_s;
  std::string start, from, to;
  std::string uri;  // pfad report
  StorageFlags storage;
  EngineFlags engine;
  MetricsFlags metrics;
};

// /health of pfad run and backfill: the last ended run, and the way to the dashboard.
std::shared_ptr<metrics::Health> ScheduleHealth(const schedule::EtarStage& stage) {
  auto health = std::make_shared<metrics::Health>();
  health->Add("runs", [m = stage.metrics] {
    const std::string failure = m->LastFailure();
    if (!failure.empty()) return metrics::CheckResult{false, failure};
    return metrics::CheckResult{true, fmt::format("{} runs succeeded", m->runs_succeeded.load())};
  });
  if (stage.outbox) {
    health->Add("dashboard", [outbox = stage.outbox, m = stage.metrics] {
      const int64_t kept = m->outbox_messages.load();
      if (!outbox->dashboard_up()) {
        return metrics::CheckResult{
            false, fmt::format("the dashboard does not take messages; {} kept in the outbox, "
                               "oldest {:.0f} s",
                               kept, m->outbox_oldest_age_seconds.Value())};
      }
      return metrics::CheckResult{true, fmt::format("reachable; {} messages waiting", kept)};
    });
  }
  return health;
}

Result<schedule::ScheduleConfig> ResolveSchedule(const ScheduleFlags& flags, const ConfigFile& file) {
  PFAD_ASSIGN_OR_RAISE(auto config, schedule::ScheduleConfig::Resolve(file));
  Overlay(flags.dashboard, config.dashboard_url);
  Overlay(flags.token, config.token);
  Overlay(flags.dashboard_ca, config.dashboard_ca);
  Overlay(flags.state, config.state);
  Overlay(flags.announcements, config.announcements);
  Overlay(flags.bootstrap, config.bootstrap);
  Overlay(flags.retries, config.options.retries);
  Overlay(flags.max_active_runs, config.options.max_active_runs);
  if (flags.retry_delay_s) config.options.retry_delay = SecondsToMillis(*flags.retry_delay_s);
  if (flags.delay_s) config.delay = SecondsToMillis(*flags.delay_s);
  if (flags.report_wait_s) config.report_wait = SecondsToMillis(*flags.report_wait_s);
  return config;
}

// The flags laid over the resolved settings, then the stage made by its library.
Result<schedule::EtarStage> Prepare(const ScheduleFlags& flags) {
  PFAD_ASSIGN_OR_RAISE(auto config_file, flags.storage.LoadConfig());
  schedule::EtarSettings settings;
  PFAD_ASSIGN_OR_RAISE(settings.storage, flags.storage.Resolve(config_file));
  PFAD_ASSIGN_OR_RAISE(settings.schedule, ResolveSchedule(flags, config_file));
  if (settings.schedule.state.empty()) settings.schedule.state = CacheDir() + "/schedule.db";
  PFAD_ASSIGN_OR_RAISE(auto analyze_config, analyze::AnalyzeConfig::Resolve(config_file));
  if (flags.source == kClickHouseSource) {
    if (flags.objects.empty()) {
      return Status::Invalid(
          "--source clickhouse needs --objects DIR|s3://bucket[/prefix]: where each minute is "
          "exported to from ClickHouse and its report written");
    }
    PFAD_ASSIGN_OR_RAISE(settings.objects, storage::ObjectUri::Parse(flags.objects));
    PFAD_ASSIGN_OR_RAISE(settings.export_from, flags.clickhouse.Resolve(config_file));
  } else {
    if (!flags.objects.empty() || !flags.clickhouse.url.empty()) {
      return Status::Invalid("--objects and --clickhouse go with --source clickhouse; --source ",
                             flags.source, " is read where the ingester wrote the objects");
    }
    PFAD_ASSIGN_OR_RAISE(settings.objects, storage::ObjectUri::Parse(flags.source));
  }
  settings.analyze = analyze_config.options;
  PFAD_ASSIGN_OR_RAISE(settings.fraud, fraud::FraudConfig::Resolve(config_file));
  Overlay(flags.fraud_model, settings.fraud.model);
  Overlay(flags.fraud_alerts_topic, settings.fraud.alerts_topic);
  settings.start = flags.start;
  settings.registry = metrics::ProcessRegistry();
  settings.open_engine = [&] { return flags.engine.Open(config_file, analyze_config); };
  return schedule::EtarStage::Make(std::move(settings), DefaultClock());
}

int Run(const ScheduleFlags& flags) {
  auto prepared = Prepare(flags);
  if (!prepared.ok()) return ReportError("run", prepared.status());
  const schedule::ScheduleConfig& config = prepared->config;
  const std::string dashboard = config.DashboardBase();
  auto endpoint = flags.metrics.Serve("run", ScheduleHealth(*prepared));
  if (!endpoint.ok()) return ReportError("run", endpoint.status());
  // Started first (what an earlier run left undelivered goes out now), destroyed last.
  if (prepared->outbox) prepared->outbox->Start(kTick);
  schedule::MinuteScheduler scheduler(config.Options(), prepared->calendar, DefaultClock(), *prepared->runs,
                                      prepared->task, prepared->Observer());
  const std::atomic<bool>& stop = StopOnSignals();
  // A minute runs the moment its object is announced; the clock (after --delay) is the fallback.
  auto announcements = prepared->FollowAnnouncements(scheduler);
  if (!announcements.ok()) return ReportError("run", announcements.status());
  const std::string what = flags.source == kClickHouseSource
                               ? fmt::format("exporting from ClickHouse to {} and analyzing", flags.objects)
                               : "analyzing " + flags.source;
  fmt::print(stderr, "pfad run: {} every minute{}, reporting to {}\n", what,
             config.announcements.empty() ? "" : " and on each announcement on " + config.announcements,
             dashboard.empty() ? "(nobody)" : dashboard);
  const Status st = schedule::RunForever(scheduler, DefaultClock(), kTick, [&stop] { return stop.load(); });
  if (!st.ok()) return ReportError("run", st);
  scheduler.WaitIdle();
  return kOk;
}

int Backfill(const ScheduleFlags& flags) {
  auto prepared = Prepare(flags);
  if (!prepared.ok()) return ReportError("backfill", prepared.status());
  auto from = prepared->calendar.Parse(flags.from);
  auto to = prepared->calendar.Parse(flags.to);
  if (!from.ok()) return ReportError("backfill", from.status());
  if (!to.ok()) return ReportError("backfill", to.status());
  if (to->start_ms < from->start_ms) return ReportError("backfill", Status::Invalid("--to is before --from"));
  auto endpoint = flags.metrics.Serve("backfill", ScheduleHealth(*prepared));
  if (!endpoint.ok()) return ReportError("backfill", endpoint.status());
  // Each ended run is printed, and reported to the dashboard's /runs as pfad run does.
  const schedule::RunObserver reporter = prepared->Observer();
  auto failed = schedule::Backfill(
      prepared->config.Options(), prepared->calendar, DefaultClock(), *prepared->runs, prepared->task, *from,
      *to, [&reporter](const schedule::RunRecord& run) {
        fmt::print("{} {}\n", run.minute,
                   run.state == schedule::RunState::kSuccess ? "success" : "failed: " + run.error);
        if (reporter) reporter(run);
      });
  if (!failed.ok()) return ReportError("backfill", failed.status());
  if (prepared->outbox) {
    auto left = prepared->outbox->Drain(prepared->config.report_wait, kTick);
    if (!left.ok()) return ReportError("backfill", left.status());
    if (*left > 0) {
      return ReportError(
          "backfill",
          Status::IOError("the dashboard at ", prepared->config.DashboardBase(), " did not take ", *left,
                          " messages (reports, run records) within --report-wait; they are kept in the "
                          "run-state database and sent by the next pfad run or backfill with this "
                          "--state"));
    }
  }
  return *failed > 0 ? kStorage : kOk;
}

int Report(const ScheduleFlags& flags) {
  const auto run = [&]() -> Status {
    PFAD_ASSIGN_OR_RAISE(auto config_file, flags.storage.LoadConfig());
    PFAD_ASSIGN_OR_RAISE(auto storage_config, flags.storage.Resolve(config_file));
    PFAD_ASSIGN_OR_RAISE(auto config, ResolveSchedule(flags, config_file));
    PFAD_ASSIGN_OR_RAISE(auto uri, storage::ObjectUri::Parse(flags.uri));
    return schedule::PostReportObject(config.Dashboard(), uri, storage_config);
  };
  const Status st = run();
  return st.ok() ? kOk : ReportError("report", st);
}

void AddDashboard(CLI::App* cmd, ScheduleFlags& f, const char* what) {
  const schedule::ScheduleConfig defaults;
  cmd->add_option("--dashboard", f.dashboard, what)->default_str(defaults.dashboard_url);
  cmd->add_option("--token", f.token,
                  "dashboard bearer token (default: $PFAD_DASHBOARD_TOKEN, else [schedule] token)");
  cmd->add_option(
      "--dashboard-ca", f.dashboard_ca,
      "PEM CA file to trust for an https:// dashboard (default: $PFAD_DASHBOARD_CA, else the system's CAs)");
}

void AddCommon(CLI::App* cmd, ScheduleFlags& f) {
  const schedule::ScheduleConfig defaults;
  cmd->add_option(
         "--source", f.source,
         "where the minutes come from: a directory or s3://bucket[/prefix] holding the minute objects the "
         "ingester wrote, or `clickhouse`: export each minute from ClickHouse (docs/DESIGN.md, "
         "\"Warehouse export\") into "
         "--objects first")
      ->required();
  cmd->add_option(
      "--objects", f.objects,
      "with --source clickhouse: directory or s3://bucket[/prefix] the minute objects are exported to "
      "and read from; the reports go beside them");
  f.clickhouse.AddTo(*cmd, "with --source clickhouse: the ClickHouse server and database to export from");
  AddDashboard(
      cmd, f,
      "dashboard base URL; empty = do not post (default: $PFAD_DASHBOARD_URL, else [schedule] dashboard)");
  cmd->add_option("--state", f.state,
                  "run-state database (default: [schedule] state, else ~/.cache/pfad/schedule.db)");
  cmd->add_option("--retries", f.retries, "retries of a failed run")
      ->default_str(std::to_string(defaults.options.retries));
  cmd->add_option("--retry-delay", f.retry_delay_s, "seconds between attempts")
      ->default_str(fmt::format("{}", std::chrono::duration<double>(defaults.options.retry_delay).count()));
  cmd->add_option(
      "--fraud-model", f.fraud_model,
      "fraud model file (`pfad fraud train`): score the window ending with each minute, alert new "
      "flagged entities, add the report's fraud object (default: $PFAD_FRAUD_MODEL, else [fraud] model)");
  cmd->add_option(
      "--fraud-alerts-topic", f.fraud_alerts_topic,
      fmt::format("Kafka topic of the fraud alerts; \"\" = none (default: $PFAD_FRAUD_ALERTS_TOPIC, else "
                  "[fraud] alerts_topic, else {}; Kafka: [fraud] bootstrap or $PFAD_KAFKA_BOOTSTRAP)",
                  fraud::FraudConfig{}.alerts_topic));
  f.storage.AddTo(*cmd);
  f.engine.AddTo(*cmd);
  f.metrics.AddTo(*cmd);
}

}  // namespace

void RegisterSchedule(CLI::App& app, int& exit_code) {
  const schedule::ScheduleConfig defaults;
  auto run = std::make_shared<ScheduleFlags>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "The ETAR schedule: each minute, for the Asia/Tehran minute that just ended, analyze its object\n"
      "(<source>/<YYYY-MM-DD_HH-MM>.parquet, or 'No data'), write the report beside it and POST it to\n"
      "the dashboard. With --source clickhouse the minute is first exported from ClickHouse to\n"
      "<objects>/<YYYY-MM-DD_HH-MM>.parquet (nothing when it has no rows). At most --max-active-runs\n"
      "at once; --retries after --retry-delay seconds. The run state (SQLite) makes a restart resume\n"
      "where it stopped, without repeating a minute. Settings also come from the config file's\n"
      "[schedule], [fraud] and [analyze] sections (flag, else environment, else file).");
  AddCommon(cmd, *run);
  cmd->add_option("--max-active-runs", run->max_active_runs, "runs at once")
      ->default_str(std::to_string(defaults.options.max_active_runs));
  cmd->add_option(
      "--delay", run->delay_s,
      fmt::format("seconds after a minute's end before it runs by the clock (default {}; {} with "
                  "--announcements)",
                  std::chrono::duration<double>(defaults.options.delay).count(),
                  std::chrono::duration<double>(schedule::ScheduleConfig::kAnnouncedDelay).count()));
  cmd->add_option(
      "--announcements", run->announcements,
      fmt::format("follow the ingester's windows topic (e.g. {}): run a minute as soon as its object is "
                  "stored (default: $PFAD_ANNOUNCEMENTS_TOPIC)",
                  events::WindowsTopic(events::kEventsTopic)));
  cmd->add_option("--bootstrap", run->bootstrap,
                  "Kafka bootstrap servers (with --announcements; default: $PFAD_KAFKA_BOOTSTRAP)")
      ->default_str(defaults.bootstrap);
  cmd->add_option("--start", run->start, "catch up from this minute on first start ('YYYY-MM-DD HH:MM')");
  cmd->footer(std::string(kExitCodesHelp) +
              "\nA minute that fails is retried, recorded and reported to the dashboard; pfad run goes on.");
  cmd->callback([run, &exit_code] { exit_code = Run(*run); });

  auto backfill = std::make_shared<ScheduleFlags>();
  CLI::App* bf =
      app.add_subcommand("backfill",
                         "Run the ETAR task for every minute from --from to --to (inclusive), printing\n"
                         "'<minute> success' or '<minute> failed: <error>' for each.");
  AddCommon(bf, *backfill);
  bf->add_option("--from", backfill->from, "first minute, 'YYYY-MM-DD HH:MM' (Asia/Tehran)")->required();
  bf->add_option("--to", backfill->to, "last minute")->required();
  bf->add_option(
        "--report-wait", backfill->report_wait_s,
        "seconds to wait at the end for a dashboard that is down to take the reports (kept for the next "
        "run otherwise; default: [schedule] report_wait_s)")
      ->default_str(fmt::format("{}", std::chrono::duration<double>(defaults.report_wait).count()));
  bf->footer(std::string(kExitCodesHelp) +
             "\nExit 4 also when a minute failed, or when the dashboard did not take the reports within "
             "--report-wait (they are kept and sent by the next run with this --state).");
  bf->callback([backfill, &exit_code] { exit_code = Backfill(*backfill); });

  auto report = std::make_shared<ScheduleFlags>();
  CLI::App* rp =
      app.add_subcommand("report", "POST a report object (as written by pfad analyze) to the dashboard.");
  rp->add_option("uri", report->uri, "the report object, e.g. s3a://bucket/2025-01-15_10-00.json")
      ->required();
  AddDashboard(rp, *report, "dashboard base URL (default: $PFAD_DASHBOARD_URL, else [schedule] dashboard)");
  report->storage.AddTo(*rp);
  rp->footer(std::string(kExitCodesHelp));
  rp->callback([report, &exit_code] { exit_code = Report(*report); });
}

}  // namespace pfad::cli
