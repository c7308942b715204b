#include "pfad/demo/embedded.h"

#include <filesystem>
#include <thread>

#include "pfad/common/log.h"
#include "pfad/dashboard/server.h"
#include "pfad/gen/minute_writer.h"
#include "pfad/schedule/etar.h"

namespace pfad::demo {
namespace {

// Writes one minute's object; the event count wanders around the configured rate.
Status WriteMinute(const storage::ObjectStore& store, const storage::ObjectUri& dir, const events::Minute& minute,
                   int64_t events_per_minute) {
  events::Rng rng(static_cast<uint64_t>(minute.start_ms));
  gen::SyntheticMinute spec;
  spec.minute = minute;
  spec.rows = events_per_minute / 2 + rng.Uniform(0, events_per_minute);
  spec.generator.seed = static_cast<uint64_t>(minute.start_ms);
  return gen::WriteSyntheticMinute(store, gen::MinuteObject(dir, minute), spec);
}

}  // namespace

Status RunEmbedded(const DemoOptions& options, const std::atomic<bool>& stop) {
  auto log = Logger("demo");
  std::filesystem::create_directories(options.dir);
  PFAD_ASSIGN_OR_RAISE(auto calendar, events::MinuteCalendar::Open());
  PFAD_ASSIGN_OR_RAISE(auto dir, storage::ObjectUri::Parse(options.dir));
  PFAD_ASSIGN_OR_RAISE(auto store, storage::ObjectStore::Open(dir, {}));

  dashboard::DashboardOptions dash;
  dash.host = options.host;
  dash.port = options.port;
  dash.database = (std::filesystem::path(options.dir) / "dashboard.db").string();
  PFAD_ASSIGN_OR_RAISE(auto server, dashboard::DashboardServer::Make(dash));
  PFAD_RETURN_NOT_OK(server->Start());

  const Clock& clock = DefaultClock();
  const auto current = calendar.MinuteOf(clock.NowMillis());
  // The past minutes, written before the scheduler starts so it finds them at once.
  auto first = current;
  for (int i = 0; i < options.backfill_minutes; ++i) first = calendar.MinuteOf(first.start_ms - 1);
  for (auto m = first; m.start_ms < current.start_ms; m = calendar.MinuteOf(m.end_ms)) {
    PFAD_RETURN_NOT_OK(WriteMinute(*store, dir, m, options.events_per_minute));
  }

  PFAD_ASSIGN_OR_RAISE(auto runs, schedule::RunStore::Open((std::filesystem::path(options.dir) / "schedule.db").string()));
  schedule::EtarOptions etar;
  etar.source = dir;
  etar.dashboard_url = "http://127.0.0.1:" + std::to_string(server->port());
  schedule::ScheduleOptions sched;
  sched.delay_ms = 2000;
  sched.retry_delay_ms = 1000;
  sched.catchup = true;
  sched.start_ms = first.start_ms;
  schedule::MinuteScheduler scheduler(sched, calendar, clock, *runs, schedule::MakeEtarTask(etar, store),
                                      schedule::MakeRunReporter(etar.dashboard_url, ""));
  log->info("demo: {} past minutes written to {}; dashboard on http://{}:{}", options.backfill_minutes, options.dir,
            options.host, server->port());

  auto next = current;  // the live minute being "ingested"
  Status result = Status::OK();
  while (!stop.load()) {
    if (clock.NowMillis() >= next.end_ms + 1000) {  // closed, plus a moment for stragglers
      if (Status st = WriteMinute(*store, dir, next, options.events_per_minute); st.ok()) {
        result = scheduler.Trigger(next);
      } else {
        log->error("writing {}: {}", next.Name(), st.ToString());
      }
      next = calendar.MinuteOf(next.end_ms);
    }
    if (result.ok()) result = scheduler.Tick();
    if (!result.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  scheduler.WaitIdle();
  server->Stop();
  return result;
}

}  // namespace pfad::demo
