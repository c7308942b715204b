// The schedule's metrics (pfad run, pfad backfill, the demo), in the process's
// registry (pfad/metrics/metrics.h); every name is listed in
// docs/OPERATIONS.md, "Metrics reference".
//
//   pfad_minute_stage_duration_seconds{stage}     extract, analyze, fraud, report (into the outbox)
//   pfad_report_freshness_seconds          minute end -> its report taken by the dashboard
//   pfad_last_report_minute_end_timestamp_seconds
//   pfad_runs_total{outcome}           ended runs: success, failed
//   pfad_run_retries_total                 failed attempts that were tried again
//   pfad_outbox_depth, pfad_outbox_oldest_age_seconds, pfad_outbox_dashboard_up
//   pfad_outbox_delivered_total, pfad_outbox_dropped_total{reason}
//   pfad_fraud_runs_total{state}, pfad_fraud_entities_scored_total{kind},
//   pfad_fraud_entities_flagged_total{kind}, pfad_fraud_alerts_published_total
#pragma once

#include "pfad/analyze/report.h"
#include "pfad/events/run_record.h"
#include "pfad/metrics/metrics.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

namespace pfad::schedule {

struct ScheduleMetrics {
  // Registers the families in `registry` (null: a registry of its own, for tests
  // and callers that serve no metrics).
  explicit ScheduleMetrics(std::shared_ptr<metrics::Registry> registry = nullptr);

  std::shared_ptr<metrics::Registry> registry;
  prometheus::Histogram& extract_seconds;
  prometheus::Histogram& analyze_seconds;
  prometheus::Histogram& fraud_seconds;
  prometheus::Histogram& report_seconds;
  prometheus::Histogram& freshness_seconds;
  prometheus::Gauge& last_report_minute_end;
  metrics::Count runs_succeeded;
  metrics::Count runs_failed;
  metrics::Count retries;
  metrics::Level outbox_messages;
  prometheus::Gauge& outbox_oldest_age_seconds;
  metrics::Level outbox_dashboard_up;
  metrics::Count outbox_delivered;
  metrics::Count outbox_compacted;
  metrics::Count outbox_dropped_size;
  metrics::Count outbox_dropped_age;
  metrics::Count outbox_refused;
  metrics::Count fraud_scored_windows;
  metrics::Count fraud_not_run_windows;
  metrics::Count fraud_scored[2];   // [0] user, [1] session
  metrics::Count fraud_flagged[2];  // [0] user, [1] session
  metrics::Count fraud_alerts;

  // Counts a fraud section the ETAR's fraud step returned.
  void RecordFraud(const analyze::FraudSection& fraud);
  // Counts an ended run (its failed attempts before the last were retried).
  void RecordRun(const events::RunRecord& run);

  // The last ended run that failed, for /health ("" once a later run succeeded).
  [[nodiscard]] std::string LastFailure() const;

 private:
  mutable std::mutex mutex_;
  std::string last_failure_;
};

}  // namespace pfad::schedule
