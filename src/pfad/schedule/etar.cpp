#include "pfad/schedule/etar.h"

#include <nlohmann/json.hpp>

#include "pfad/common/log.h"
#include "pfad/kafka/publisher.h"

namespace pfad::schedule {

MinuteTask MakeEtarTask(EtarOptions options, std::shared_ptr<storage::ObjectStore> store) {
  return [options = std::move(options), store = std::move(store)](const events::Minute& minute) -> Status {
    analyze::AnalyzeRequest request;
    request.input = options.source.Child(events::ObjectName(minute));
    request.options = options.analyze;
    request.engine = options.engine;
    PFAD_ASSIGN_OR_RAISE(auto outcome, analyze::AnalyzeMinute(*store, *store, request));
    if (auto* report = std::get_if<analyze::MinuteReport>(&outcome.report); report && options.fraud) {
      PFAD_ASSIGN_OR_RAISE(report->fraud, options.fraud->ScoreMinute(*store, request.input));
      PFAD_RETURN_NOT_OK(store->Put(outcome.written_to, analyze::ToJson(outcome.report)));
    }
    if (!options.outbox) return Status::OK();
    PFAD_RETURN_NOT_OK(options.outbox->Add("/report", analyze::ToJson(outcome.report)));
    Logger("schedule")->info("report of {} queued for the dashboard", minute.Name());
    return Status::OK();
  };
}

std::shared_ptr<fraud::LiveScorer> MakeLiveScorer(const fraud::FraudConfig& config) {
  fraud::AlertSink sink;
  if (!config.alerts_topic.empty()) {
    auto publisher = std::make_shared<kafka::TopicPublisher>(config.bootstrap, config.alerts_topic);
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

RunObserver MakeRunReporter(std::shared_ptr<DashboardOutbox> outbox) {
  return [outbox = std::move(outbox)](const RunRecord& run) {
    if (Status st = outbox->Add("/runs", events::ToJson(run).dump()); !st.ok()) {
      Logger("schedule")->error("could not keep run {} for the dashboard: {}", run.minute, st.message());
    }
  };
}

Status PostReport(const std::string& url, const std::string& token, const std::string& report_json) {
  PFAD_ASSIGN_OR_RAISE(const long status, PostToDashboard(url, token, "/report", report_json, 3));
  if (status != 200) return Status::IOError("dashboard at ", url, " refused the report: HTTP ", status);
  return Status::OK();
}

}  // namespace pfad::schedule
