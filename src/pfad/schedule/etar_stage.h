// The ETAR schedule made ready from resolved settings: the one place that
// builds it, for `pfad run`, `pfad backfill` and `pfad demo` alike.
//
//   EtarSettings (ScheduleConfig with flags laid over it, storage, analysis
//   engine, [fraud], where the minute objects are, ClickHouse to export from)
//     -> EtarStage::Make -> the minute calendar, the run-state database, the
//        dashboard's outbox (none without a dashboard URL), and the ETAR task
//        (etar.h: Extract -> Analyze -> Fraud -> Report).
//
// Make fails before anything runs when the objects' bucket or directory is
// missing, the run state cannot be opened, or ClickHouse is misconfigured. The
// analysis engine comes from the caller (a Spark session lives above this
// library), opened once the objects' location is known to exist.
#pragma once

#include "pfad/analyze/analyze.h"
#include "pfad/common/clock.h"
#include "pfad/common/status.h"
#include "pfad/events/minute.h"
#include "pfad/fraud/live/live_scorer.h"
#include "pfad/schedule/announcements.h"
#include "pfad/schedule/config.h"
#include "pfad/schedule/etar.h"
#include "pfad/schedule/metrics.h"
#include "pfad/schedule/outbox.h"
#include "pfad/schedule/scheduler.h"
#include "pfad/storage/object_store.h"
#include "pfad/warehouse/clickhouse_client.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace pfad::schedule {

struct EtarSettings {
  // The schedule, dashboard, announcements and Kafka; `state` must be set (the
  // run-state database, which also holds the outbox).
  ScheduleConfig schedule;
  storage::StorageConfig storage;
  // Directory or bucket/prefix of the minute objects; their reports go beside them.
  storage::ObjectUri objects;
  // Set: each minute is exported from this ClickHouse into `objects` first.
  std::optional<warehouse::ClickHouseConfig> export_from;
  analyze::AnalyzeOptions analyze;
  // Opens the engine every minute shares (for Spark, one session); null, or a
  // null result, = the local engine.
  std::function<Result<std::shared_ptr<const analyze::EventCounter>>()> open_engine;
  // The fraud step (scored with an empty model too: the report then says why not).
  fraud::FraudConfig fraud;
  // "YYYY-MM-DD HH:MM": on a first start, catch up from this minute; empty = the
  // schedule's own start.
  std::string start;
  // Where the schedule's metrics go (schedule/metrics.h); null = a registry of its own.
  std::shared_ptr<metrics::Registry> registry;
};

struct EtarStage {
  ScheduleConfig config;  // settings.schedule, with `start` applied to its options
  events::MinuteCalendar calendar;
  std::unique_ptr<RunStore> runs;
  std::shared_ptr<DashboardOutbox> outbox;  // null = no dashboard
  MinuteTask task;
  std::shared_ptr<ScheduleMetrics> metrics;  // never null

  static Result<EtarStage> Make(EtarSettings settings, const Clock& clock);

  // Reports each ended run to the dashboard; null without one.
  [[nodiscard]] RunObserver RunReporter() const;
  // Counts each ended run in `metrics` and reports it as RunReporter does (never null).
  [[nodiscard]] RunObserver Observer() const { return MakeRunReporter(outbox, metrics); }
  // Follows config.announcements (the ingester's windows topic) and triggers
  // each announced minute on `scheduler` (trigger.h); `also` hears each one
  // first. Null when no announcements topic is set. Destroy it before the scheduler.
  [[nodiscard]] Result<std::unique_ptr<MinuteAnnouncements>> FollowAnnouncements(
      MinuteScheduler& scheduler, std::function<void(const Announcement&)> also = nullptr) const;
};

}  // namespace pfad::schedule
