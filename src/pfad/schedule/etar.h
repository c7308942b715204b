// The ETAR task of one minute, as the reference DAG runs it: Extract (the
// minute's object: written by the ingester, or exported from the ClickHouse
// warehouse into the same place first) -> Analyze (the configured engine) -> write
// the report object beside it -> Fraud (score the window ending with the minute,
// docs/FRAUD.md section 6: scores object, alerts, the report's "fraud" object,
// the report object rewritten with it) -> Report (into the dashboard's outbox,
// pfad/schedule/outbox.h, which delivers it when the dashboard takes it).
//
// A minute without an object ("No data for ...") has no fraud step: its report
// stays the reference's plain string. A failed Extract fails the run before
// anything is analyzed or written, so the scheduler retries and records it.
#pragma once

#include "pfad/analyze/analyze.h"
#include "pfad/fraud/live/live_scorer.h"
#include "pfad/kafka/client.h"
#include "pfad/schedule/metrics.h"
#include "pfad/schedule/outbox.h"
#include "pfad/schedule/scheduler.h"
#include "pfad/storage/object_store.h"
#include "pfad/warehouse/clickhouse_client.h"

#include <functional>
#include <memory>
#include <string>

namespace pfad::schedule {

// The Extract step: brings one minute's object into `objects` (the directory or
// bucket/prefix the analysis reads), or leaves it absent when the minute has no
// events. An error fails the minute's run.
using MinuteExtract =
    std::function<Status(const events::Minute& minute, const std::shared_ptr<storage::ObjectStore>& store,
                         const storage::ObjectUri& objects)>;

struct EtarOptions {
  storage::ObjectUri source;  // directory or bucket/prefix of the minute objects (and their reports)
  MinuteExtract extract;      // null = the ingester writes the objects there itself
  std::shared_ptr<DashboardOutbox> outbox;  // null = do not post
  analyze::AnalyzeOptions analyze;
  std::shared_ptr<const analyze::EventCounter>
      engine;                                // null = local; shared by every minute (one Spark session)
  std::shared_ptr<fraud::LiveScorer> fraud;  // null = no fraud step (and no "fraud" object)
  std::shared_ptr<ScheduleMetrics> metrics;  // null = not measured
};

// The live scorer of the [fraud] config: alerts to its alerts topic over Kafka
// (none when the topic is empty), a client with `kafka` (kafka::ConfiguredProperties).
std::shared_ptr<fraud::LiveScorer> MakeLiveScorer(const fraud::FraudConfig& config,
                                                  const kafka::Properties& kafka = {});

// The Extract step from the warehouse (docs/DESIGN.md, "Warehouse export"): warehouse::ExportMinute
// of the minute from ClickHouse into `objects`, written by the ingester's own
// object writer; a minute without rows writes nothing ("No data for ...").
MinuteExtract ExportFromClickHouse(warehouse::ClickHouseClient client);

// The task; the store is shared by every run (one S3 client for all minutes).
MinuteTask MakeEtarTask(EtarOptions options, std::shared_ptr<storage::ObjectStore> store);

// Reports each ended run to the dashboard (POST /runs, through the outbox), so
// failures show on the page; counts it in `metrics` when given.
RunObserver MakeRunReporter(std::shared_ptr<DashboardOutbox> outbox,
                            std::shared_ptr<ScheduleMetrics> metrics = nullptr);

// The Report step alone, at once (pfad report): POSTs a report document to the
// dashboard; an error unless it answered 200.
Status PostReport(const DashboardTarget& dashboard, const std::string& report_json);

// The Report step for a report object (pfad report): reads the report at `report`
// (analyze::ReadReport: IOError when it cannot be read, Invalid when it is not a
// report) and POSTs it as PostReport does.
Status PostReportObject(const DashboardTarget& dashboard, const storage::ObjectUri& report,
                        const storage::StorageConfig& storage);

}  // namespace pfad::schedule
