#include "pfad/schedule/etar_stage.h"

#include <utility>

#include "pfad/schedule/trigger.h"

namespace pfad::schedule {

Result<EtarStage> EtarStage::Make(EtarSettings settings, const Clock& clock) {
  if (settings.schedule.state.empty()) return Status::Invalid("the ETAR needs a run-state database path");
  PFAD_ASSIGN_OR_RAISE(auto calendar, events::MinuteCalendar::Open());
  EtarOptions etar;
  etar.source = settings.objects;
  if (settings.export_from) {
    PFAD_ASSIGN_OR_RAISE(auto client,
                         warehouse::ClickHouseClient::Make(*std::move(settings.export_from), clock));
    etar.extract = ExportFromClickHouse(std::move(client));
  }
  PFAD_ASSIGN_OR_RAISE(auto store, storage::ObjectStore::Open(etar.source, settings.storage));
  PFAD_RETURN_NOT_OK(store->CheckContainer(etar.source.Child("x")));
  etar.analyze = settings.analyze;
  // One engine for every minute: with Spark, one session reused across minutes.
  if (settings.open_engine) {
    PFAD_ASSIGN_OR_RAISE(etar.engine, settings.open_engine());
  }
  ScheduleConfig config = std::move(settings.schedule);
  etar.fraud = MakeLiveScorer(settings.fraud, config.kafka);
  etar.metrics = std::make_shared<ScheduleMetrics>(settings.registry);
  PFAD_ASSIGN_OR_RAISE(auto runs, RunStore::Open(config.state));
  if (!config.DashboardBase().empty()) {
    PFAD_ASSIGN_OR_RAISE(etar.outbox,
                         DashboardOutbox::Open(config.state, MakeDashboardSender(config.Dashboard()), clock,
                                               config.outbox, etar.metrics));
  }
  auto metrics = etar.metrics;
  auto outbox = etar.outbox;
  if (!settings.start.empty()) {
    PFAD_ASSIGN_OR_RAISE(auto start, calendar.Parse(settings.start));
    config.options.start_ms = start.start_ms;
    config.options.catchup = true;
  }
  return EtarStage{std::move(config),
                   calendar,
                   std::move(runs),
                   std::move(outbox),
                   MakeEtarTask(std::move(etar), std::move(store)),
                   std::move(metrics)};
}

RunObserver EtarStage::RunReporter() const { return outbox ? MakeRunReporter(outbox) : nullptr; }

Result<std::unique_ptr<MinuteAnnouncements>> EtarStage::FollowAnnouncements(
    MinuteScheduler& scheduler, std::function<void(const Announcement&)> also) const {
  if (config.announcements.empty()) return std::unique_ptr<MinuteAnnouncements>();
  return TriggerAnnouncedMinutes(scheduler, calendar, config.bootstrap, config.announcements, config.kafka,
                                 std::move(also));
}

}  // namespace pfad::schedule
