// pfad run (the ETAR schedule, every minute) and pfad backfill (a range of minutes).
#include <fmt/format.h>

#include <csignal>
#include <optional>
#include <cstdlib>
#include <thread>

#include "cli.h"
#include "pfad/common/log.h"
#include "pfad/schedule/announcements.h"
#include "pfad/schedule/etar.h"

namespace pfad::cli {
namespace {

struct ScheduleFlags {
  std::string source;
  std::string dashboard = "http://127.0.0.1:8080";
  std::string token;
  std::string state;
  std::string start, from, to;
  double retry_delay_s = 3;
  std::optional<double> delay_s;
  schedule::ScheduleOptions options;
  StorageFlags storage;
  EngineFlags engine;
  std::string announcements;  // the ingester's windows topic; empty = by clock only
  std::string bootstrap = "127.0.0.1:9092";
};

struct Prepared {
  events::MinuteCalendar calendar;
  std::unique_ptr<schedule::RunStore> runs;
  schedule::MinuteTask task;
};

Result<Prepared> Prepare(ScheduleFlags& flags) {
  PFAD_ASSIGN_OR_RAISE(auto config_file, flags.storage.LoadConfig());
  PFAD_ASSIGN_OR_RAISE(auto storage_config, flags.storage.Resolve(config_file));
  PFAD_ASSIGN_OR_RAISE(auto calendar, events::MinuteCalendar::Open());
  schedule::EtarOptions etar;
  PFAD_ASSIGN_OR_RAISE(etar.source, storage::ObjectUri::Parse(flags.source));
  etar.dashboard_url = flags.dashboard;
  while (!etar.dashboard_url.empty() && etar.dashboard_url.back() == '/') etar.dashboard_url.pop_back();
  etar.token = flags.token;
  PFAD_ASSIGN_OR_RAISE(auto store, storage::ObjectStore::Open(etar.source, storage_config));
  PFAD_RETURN_NOT_OK(store->CheckContainer(etar.source.Child("x")));
  PFAD_ASSIGN_OR_RAISE(auto threads, config_file.GetInt("analyze.threads"));
  etar.analyze.threads = static_cast<int>(threads.value_or(0));
  // One engine for every minute: with Spark, one session reused across minutes.
  PFAD_ASSIGN_OR_RAISE(etar.engine, flags.engine.Open(config_file, etar.analyze));
  PFAD_ASSIGN_OR_RAISE(auto runs, schedule::RunStore::Open(flags.state.empty() ? CacheDir() + "/schedule.db" : flags.state));
  flags.options.retry_delay_ms = static_cast<int64_t>(flags.retry_delay_s * 1000);
  flags.options.delay_ms = static_cast<int64_t>(flags.delay_s.value_or(flags.announcements.empty() ? 5 : 60) * 1000);
  if (!flags.start.empty()) {
    PFAD_ASSIGN_OR_RAISE(auto start, calendar.Parse(flags.start));
    flags.options.start_ms = start.start_ms;
    flags.options.catchup = true;
  }
  return Prepared{calendar, std::move(runs), schedule::MakeEtarTask(std::move(etar), std::move(store))};
}

int Run(ScheduleFlags& flags) {
  auto prepared = Prepare(flags);
  if (!prepared.ok()) return ReportError("run", prepared.status());
  schedule::MinuteScheduler scheduler(
      flags.options, prepared->calendar, DefaultClock(), *prepared->runs, prepared->task,
      flags.dashboard.empty() ? nullptr : schedule::MakeRunReporter(flags.dashboard, flags.token));
  const std::atomic<bool>& stop = StopOnSignals();
  std::unique_ptr<schedule::MinuteAnnouncements> announcements;
  if (!flags.announcements.empty()) {
    // A minute runs the moment its object is announced; the clock (after --delay) is the fallback.
    const auto& calendar = prepared->calendar;
    auto started = schedule::MinuteAnnouncements::Start(
        flags.bootstrap, flags.announcements, {}, [&scheduler, &calendar](const schedule::Announcement& a) {
          auto minute = calendar.Parse(a.minute);
          const Status st = minute.ok() ? scheduler.Trigger(*minute) : minute.status();
          if (!st.ok()) Logger("schedule")->warn("announcement minute={}: {}", a.minute, st.message());
        });
    if (!started.ok()) return ReportError("run", started.status());
    announcements = *std::move(started);
  }
  fmt::print(stderr, "pfad run: analyzing {} every minute{}, reporting to {}\n", flags.source,
             flags.announcements.empty() ? "" : " and on each announcement on " + flags.announcements,
             flags.dashboard.empty() ? "(nobody)" : flags.dashboard);
  while (!stop.load()) {
    if (const Status st = scheduler.Tick(); !st.ok()) return ReportError("run", st);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  scheduler.WaitIdle();
  return kOk;
}

int Backfill(ScheduleFlags& flags) {
  auto prepared = Prepare(flags);
  if (!prepared.ok()) return ReportError("backfill", prepared.status());
  auto from = prepared->calendar.Parse(flags.from);
  auto to = prepared->calendar.Parse(flags.to);
  if (!from.ok()) return ReportError("backfill", from.status());
  if (!to.ok()) return ReportError("backfill", to.status());
  if (to->start_ms < from->start_ms) return ReportError("backfill", Status::Invalid("--to is before --from"));
  int failed = 0;
  for (auto m = *from; m.start_ms <= to->start_ms; m = prepared->calendar.MinuteOf(m.end_ms)) {
    Status st = Status::OK();
    int attempts = 0;
    do {
      if (attempts > 0) std::this_thread::sleep_for(std::chrono::milliseconds(flags.options.retry_delay_ms));
      st = prepared->task(m);
      ++attempts;
    } while (!st.ok() && attempts <= flags.options.retries);
    (void)prepared->runs->Put({m.Name(), m.start_ms, st.ok() ? "success" : "failed", attempts,
                               st.ok() ? "" : st.message()});
    fmt::print("{} {}\n", m.Name(), st.ok() ? "success" : "failed: " + st.message());
    failed += st.ok() ? 0 : 1;
  }
  return failed > 0 ? kStorage : kOk;
}

void AddCommon(CLI::App* cmd, ScheduleFlags& f) {
  cmd->add_option("--source", f.source, "directory or s3://bucket[/prefix] holding the minute objects")->required();
  cmd->add_option("--dashboard", f.dashboard, "dashboard base URL; empty = do not post")
      ->envname("PFAD_DASHBOARD_URL")
      ->capture_default_str();
  cmd->add_option("--token", f.token, "dashboard bearer token")->envname("PFAD_DASHBOARD_TOKEN");
  cmd->add_option("--state", f.state, "run-state database (default: ~/.cache/pfad/schedule.db)");
  cmd->add_option("--retries", f.options.retries, "retries of a failed run")->capture_default_str();
  cmd->add_option("--retry-delay", f.retry_delay_s, "seconds between attempts")->capture_default_str();
  f.storage.AddTo(*cmd);
  f.engine.AddTo(*cmd);
}

int Report(const std::string& uri_text, const std::string& dashboard, const std::string& token,
           const StorageFlags& storage_flags) {
  const auto run = [&]() -> Status {
    PFAD_ASSIGN_OR_RAISE(auto config_file, storage_flags.LoadConfig());
    PFAD_ASSIGN_OR_RAISE(auto storage_config, storage_flags.Resolve(config_file));
    PFAD_ASSIGN_OR_RAISE(auto uri, storage::ObjectUri::Parse(uri_text));
    PFAD_ASSIGN_OR_RAISE(auto store, storage::ObjectStore::Open(uri, storage_config));
    PFAD_ASSIGN_OR_RAISE(auto text, store->Get(uri));
    auto report = analyze::ParseReport(text);
    if (!report.ok()) return Status::Invalid(uri.ToString(), ": ", report.status().message());
    return schedule::PostReport(dashboard, token, analyze::ToJson(*report));
  };
  const Status st = run();
  return st.ok() ? kOk : ReportError("report", st);
}

}  // namespace

void RegisterSchedule(CLI::App& app, int& exit_code) {
  auto run = std::make_shared<ScheduleFlags>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "The ETAR schedule: each minute, for the Asia/Tehran minute that just ended, analyze its object\n"
      "(<source>/<YYYY-MM-DD_HH-MM>.parquet, or 'No data'), write the report beside it and POST it to\n"
      "the dashboard. At most --max-active-runs at once; --retries after --retry-delay seconds. The\n"
      "run state (SQLite) makes a restart resume where it stopped, without repeating a minute.");
  AddCommon(cmd, *run);
  cmd->add_option("--max-active-runs", run->options.max_active_runs, "runs at once")->capture_default_str();
  cmd->add_option("--delay", run->delay_s,
                  "seconds after a minute's end before it runs by the clock (default 5; 60 with --announcements)");
  cmd->add_option("--announcements", run->announcements,
                  "follow the ingester's windows topic (e.g. user_interactions.windows): run a minute as soon as "
                  "its object is stored")
      ->envname("PFAD_ANNOUNCEMENTS_TOPIC");
  cmd->add_option("--bootstrap", run->bootstrap, "Kafka bootstrap servers (with --announcements)")
      ->envname("PFAD_KAFKA_BOOTSTRAP")
      ->capture_default_str();
  cmd->add_option("--start", run->start, "catch up from this minute on first start ('YYYY-MM-DD HH:MM')");
  cmd->callback([run, &exit_code] { exit_code = Run(*run); });

  auto backfill = std::make_shared<ScheduleFlags>();
  CLI::App* bf = app.add_subcommand("backfill", "Run the ETAR task for every minute from --from to --to (inclusive).");
  AddCommon(bf, *backfill);
  bf->add_option("--from", backfill->from, "first minute, 'YYYY-MM-DD HH:MM' (Asia/Tehran)")->required();
  bf->add_option("--to", backfill->to, "last minute")->required();
  bf->callback([backfill, &exit_code] { exit_code = Backfill(*backfill); });

  struct ReportFlags {
    std::string uri, dashboard = "http://127.0.0.1:8080", token;
    StorageFlags storage;
  };
  auto report = std::make_shared<ReportFlags>();
  CLI::App* rp = app.add_subcommand("report", "POST a report object (as written by pfad analyze) to the dashboard.");
  rp->add_option("uri", report->uri, "the report object, e.g. s3a://bucket/2025-01-15_10-00.json")->required();
  rp->add_option("--dashboard", report->dashboard, "dashboard base URL")
      ->envname("PFAD_DASHBOARD_URL")
      ->capture_default_str();
  rp->add_option("--token", report->token, "dashboard bearer token")->envname("PFAD_DASHBOARD_TOKEN");
  report->storage.AddTo(*rp);
  rp->footer(std::string(kExitCodesHelp));
  rp->callback([report, &exit_code] {
    exit_code = Report(report->uri, report->dashboard, report->token, report->storage);
  });
}

}  // namespace pfad::cli
