#include "pfad/schedule/metrics.h"

#include <fmt/format.h>

namespace pfad::schedule {
namespace {

std::shared_ptr<metrics::Registry> OrOwn(std::shared_ptr<metrics::Registry> registry) {
  return registry ? std::move(registry) : std::make_shared<metrics::Registry>();
}

prometheus::Histogram& Stage(metrics::Registry& r, const std::string& stage) {
  return metrics::HistogramFamily(r, "pfad_minute_stage_duration_seconds",
                                  "Seconds each stage of a minute's ETAR task took (extract, analyze, fraud; "
                                  "report = storing it in the outbox).")
      .Add({{"stage", stage}}, metrics::SecondsBuckets());
}

prometheus::Counter& Outbox(metrics::Registry& r, const std::string& reason) {
  return metrics::CounterFamily(r, "pfad_outbox_dropped_total",
                                "Outbox messages dropped undelivered: compacted (a newer message of the same "
                                "minute replaced it), "
                                "size_cap, age_cap, refused (the dashboard answered 4xx).")
      .Add({{"reason", reason}});
}

prometheus::Counter& Fraud(metrics::Registry& r, const std::string& name, const std::string& help,
                           const std::string& kind) {
  return metrics::CounterFamily(r, name, help).Add({{"kind", kind}});
}

}  // namespace

ScheduleMetrics::ScheduleMetrics(std::shared_ptr<metrics::Registry> given)
    : registry(OrOwn(std::move(given))),
      extract_seconds(Stage(*registry, "extract")),
      analyze_seconds(Stage(*registry, "analyze")),
      fraud_seconds(Stage(*registry, "fraud")),
      report_seconds(Stage(*registry, "report")),
      freshness_seconds(metrics::HistogramFamily(*registry, "pfad_report_freshness_seconds",
                                                 "Seconds from a minute's end until the dashboard took its "
                                                 "report.")
                            .Add({}, metrics::SecondsBuckets())),
      last_report_minute_end(
          metrics::GaugeFamily(*registry, "pfad_last_report_minute_end_timestamp_seconds",
                               "End (Unix seconds) of the newest minute whose report the dashboard took.")
              .Add({})),
      runs_succeeded(metrics::CounterFamily(*registry, "pfad_runs_total",
                                            "Ended runs of a minute, by outcome (success, failed after its "
                                            "last retry).")
                         .Add({{"outcome", "success"}})),
      runs_failed(metrics::CounterFamily(*registry, "pfad_runs_total", "").Add({{"outcome", "failed"}})),
      retries(metrics::CounterFamily(*registry, "pfad_run_retries_total",
                                     "Failed attempts of a minute's run that were tried again.")
                  .Add({})),
      outbox_messages(metrics::GaugeFamily(*registry, "pfad_outbox_depth",
                                           "Messages (reports, run records) waiting in the outbox.")
                          .Add({})),
      outbox_oldest_age_seconds(
          metrics::GaugeFamily(*registry, "pfad_outbox_oldest_age_seconds",
                               "Age of the oldest message in the outbox (0 when empty).")
              .Add({})),
      outbox_dashboard_up(metrics::GaugeFamily(*registry, "pfad_outbox_dashboard_up",
                                               "1 while the dashboard takes messages, 0 while delivery backs "
                                               "off.")
                              .Add({})),
      outbox_delivered(metrics::CounterFamily(*registry, "pfad_outbox_delivered_total",
                                              "Messages the dashboard took (HTTP 200).")
                           .Add({})),
      outbox_compacted(Outbox(*registry, "compacted")),
      outbox_dropped_size(Outbox(*registry, "size_cap")),
      outbox_dropped_age(Outbox(*registry, "age_cap")),
      outbox_refused(Outbox(*registry, "refused")),
      fraud_scored_windows(metrics::CounterFamily(*registry, "pfad_fraud_runs_total",
                                                  "Minutes whose window the fraud step handled, by state "
                                                  "(scored, not_run: no model, too few minutes, ...).")
                               .Add({{"outcome", "scored"}})),
      fraud_not_run_windows(
          metrics::CounterFamily(*registry, "pfad_fraud_runs_total", "").Add({{"outcome", "not_run"}})),
      fraud_scored{
          metrics::Count(Fraud(*registry, "pfad_fraud_entities_scored_total",
                               "Entities scored by the fraud model, by kind (user, session).", "user")),
          metrics::Count(Fraud(*registry, "pfad_fraud_entities_scored_total", "", "session"))},
      fraud_flagged{
          metrics::Count(Fraud(*registry, "pfad_fraud_entities_flagged_total",
                               "Entities scored at or above the model's threshold, by kind.", "user")),
          metrics::Count(Fraud(*registry, "pfad_fraud_entities_flagged_total", "", "session"))},
      fraud_alerts(
          metrics::CounterFamily(*registry, "pfad_fraud_alerts_published_total",
                                 "New fraud alerts raised (sent to the alerts topic when one is set).")
              .Add({})) {
  outbox_dashboard_up = 1;
}

void ScheduleMetrics::RecordFraud(const analyze::FraudSection& fraud) {
  if (fraud.state != analyze::FraudSection::State::kScored) {
    ++fraud_not_run_windows;
    return;
  }
  ++fraud_scored_windows;
  for (int k = 0; k < 2; ++k) {
    fraud_scored[k] += fraud.scored[k];
    fraud_flagged[k] += fraud.flagged[k];
  }
  fraud_alerts += fraud.new_alerts;
}

void ScheduleMetrics::RecordRun(const events::RunRecord& run) {
  retries += run.attempts > 1 ? run.attempts - 1 : 0;
  std::lock_guard lock(mutex_);
  if (run.state == events::RunState::kSuccess) {
    ++runs_succeeded;
    last_failure_.clear();
  } else {
    ++runs_failed;
    last_failure_ = fmt::format("run {} failed after {} attempts: {}", run.minute, run.attempts, run.error);
  }
}

std::string ScheduleMetrics::LastFailure() const {
  std::lock_guard lock(mutex_);
  return last_failure_;
}

}  // namespace pfad::schedule
