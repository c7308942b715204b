#include "pfad/schedule/etar.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>

#include "pfad/analyze/report_object.h"
#include "pfad/common/log.h"
#include "pfad/kafka/publisher.h"
#include "pfad/warehouse/export.h"

namespace pfad::schedule {

namespace {

// Observes the seconds from its creation to its destruction into `histogram` (if any).
class StageTimer {
 public:
  explicit StageTimer(prometheus::Histogram* histogram)
      : histogram_(histogram), start_(std::chrono::steady_clock::now()) {}
  ~StageTimer() {
    if (histogram_ != nullptr) {
      histogram_->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    }
  }
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;

 private:
  prometheus::Histogram* histogram_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

MinuteTask MakeEtarTask(EtarOptions options, std::shared_ptr<storage::ObjectStore> store) {
  return [options = std::move(options), store = std::move(store)](const events::Minute& minute) -> Status {
    ScheduleMetrics* m = options.metrics.get();
    if (options.extract) {
      StageTimer timer(m ? &m->extract_seconds : nullptr);
      PFAD_RETURN_NOT_OK(options.extract(minute, store, options.source));
    }
    analyze::AnalyzeRequest request;
    request.input = options.source.Child(events::ObjectName(minute));
    request.options = options.analyze;
    request.engine = options.engine;
    std::optional<StageTimer> analyze_timer(std::in_place, m ? &m->analyze_seconds : nullptr);
    PFAD_ASSIGN_OR_RAISE(auto outcome, analyze::AnalyzeMinute(*store, *store, request));
    analyze_timer.reset();
    if (std::holds_alternative<analyze::MinuteReport>(outcome.report) && options.fraud) {
      StageTimer timer(m ? &m->fraud_seconds : nullptr);
      PFAD_ASSIGN_OR_RAISE(auto fraud, options.fraud->ScoreMinute(*store, request.input));
      if (m) m->RecordFraud(fraud);
      PFAD_RETURN_NOT_OK(
          analyze::WriteWithFraud(*store, outcome.written_to, outcome.report, std::move(fraud)));
    }
    if (!options.outbox) return Status::OK();
    StageTimer timer(m ? &m->report_seconds : nullptr);
    PFAD_RETURN_NOT_OK(
        options.outbox->Add("/report", analyze::ToJson(outcome.report), minute.Name(), minute.end_ms));
    Logger("schedule")->info("report of {} queued for the dashboard", minute.Name());
    return Status::OK();
  };
}

MinuteExtract ExportFromClickHouse(warehouse::ClickHouseClient client) {
  return [client = std::move(client)](const events::Minute& minute,
                                      const std::shared_ptr<storage::ObjectStore>& store,
                                      const storage::ObjectUri& objects) -> Status {
    auto exported = warehouse::ExportMinute(client, minute, store, objects);
    if (!exported.ok()) {
      return exported.status().WithMessage("export of ", minute.Name(),
                                           " from ClickHouse failed: ", exported.status().message());
    }
    if (exported->object) {
      Logger("schedule")
          ->info("exported minute={} rows={} object={} query_ms={} write_ms={}", minute.Name(),
                 exported->rows, exported->object->ToString(), exported->query_ms, exported->write_ms);
    } else {
      Logger("schedule")
          ->info("exported minute={} rows=0 from {}{}: no object", minute.Name(), client.base_url(),
                 client.database());
    }
    return Status::OK();
  };
}

std::shared_ptr<fraud::LiveScorer> MakeLiveScorer(const fraud::FraudConfig& config,
                                                  const kafka::Properties& kafka) {
  fraud::AlertSink sink;
  if (!config.alerts_topic.empty()) {
    auto publisher = std::make_shared<kafka::TopicPublisher>(config.bootstrap, config.alerts_topic, kafka);
    sink = [publisher](const std::vector<fraud::Alert>& alerts) {
      std::vector<std::pair<std::string, std::string>> messages;
      messages.reserve(alerts.size());
      for (const auto& a : alerts) messages.emplace_back(a.entity_id, fraud::AlertToJson(a));
      PFAD_RETURN_NOT_OK(publisher->Publish(messages));
      Logger("schedule")->info("published {} fraud alerts to {}", alerts.size(), publisher->topic());
      return Status::OK();
    };
  }
  return std::make_shared<fraud::LiveScorer>(config, std::move(sink));
}

RunObserver MakeRunReporter(std::shared_ptr<DashboardOutbox> outbox,
                            std::shared_ptr<ScheduleMetrics> metrics) {
  return [outbox = std::move(outbox), metrics = std::move(metrics)](const RunRecord& run) {
    if (metrics) metrics->RecordRun(run);
    if (!outbox) return;
    if (Status st = outbox->Add("/runs", events::ToJson(run).dump(), run.minute); !st.ok()) {
      Logger("schedule")->error("could not keep run {} for the dashboard: {}", run.minute, st.message());
    }
  };
}

Status PostReport(const DashboardTarget& dashboard, const std::string& report_json) {
  PFAD_ASSIGN_OR_RAISE(const long status, PostToDashboard(dashboard, "/report", report_json, 3));
  if (status != 200)
    return Status::IOError("dashboard at ", dashboard.url, " refused the report: HTTP ", status);
  return Status::OK();
}

Status PostReportObject(const DashboardTarget& dashboard, const storage::ObjectUri& report,
                        const storage::StorageConfig& storage) {
  PFAD_ASSIGN_OR_RAISE(auto store, storage::ObjectStore::Open(report, storage));
  PFAD_ASSIGN_OR_RAISE(auto parsed, analyze::ReadReport(*store, report));
  return PostReport(dashboard, analyze::ToJson(parsed));
}

}  // namespace pfad::schedule
