// The page's pipeline-health row (GET /pipeline): four numbers an operator
// watches, read from the same series Prometheus has (docs/OPERATIONS.md,
// "Metrics reference"; deploy/prometheus/pfad-rules.yml):
//
//   freshness_seconds          seconds since the end of the newest reported minute
//   freshness_p95_seconds      minute end -> report taken by the dashboard, 95th percentile
//   lag_messages               messages the ingest consumers are behind
//   failed_runs                ETAR runs that failed after their retries
//   fraud_scoring_p95_seconds  the fraud stage's time per minute, 95th percentile
//
// Two sources, one answer shape: a Prometheus server's HTTP API (the recording
// rules; failed runs over the last hour, percentiles over 5 minutes), or a
// metrics registry of this process (`pfad demo` holds ingest, schedule and
// dashboard in one; counts and percentiles since the process started). A
// number the source does not have is null; a source that cannot be read says
// why in `errors`. A registry without any of the series (a standalone
// `pfad dashboard`) answers source "none" with a hint.
#pragma once

#include <prometheus/client_metric.h>

#include "pfad/common/clock.h"
#include "pfad/common/status.h"
#include "pfad/metrics/metrics.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace pfad::dashboard {

enum class HealthSource { kPrometheus, kProcess, kNone };

struct PipelineHealth {
  HealthSource source = HealthSource::kNone;
  double at_seconds = 0;  // the time the numbers are for, Unix seconds
  std::optional<double> freshness_seconds;
  std::optional<double> freshness_p95_seconds;
  std::optional<double> lag_messages;
  std::optional<double> failed_runs;
  std::optional<double> fraud_scoring_p95_seconds;
  std::vector<std::string> errors;  // what could not be read, and why
  std::string hint;                 // what to configure when there is no source

  // {"source":"prometheus"|"process"|"none","at":..,"freshness_seconds":..,
  //  "freshness_p95_seconds":..,"lag_messages":..,"failed_runs":..,
  //  "fraud_scoring_p95_seconds":..,"window":{"failed_runs":"1h"|"since start",
  //  "p95":"5m"|"since start"},"errors":[..],"hint":..|null}; null for a number not known.
  [[nodiscard]] std::string ToJson() const;
};

class PipelineHealthSource {
 public:
  virtual ~PipelineHealthSource() = default;
  // The numbers now; may block on the network (PipelineHealthCache calls it off the event loop).
  virtual PipelineHealth Read() = 0;
};

// The numbers from the series in `registry` (pfad/schedule/metrics.h, pfad/ingest/metrics.h).
std::unique_ptr<PipelineHealthSource> MakeRegistryHealth(std::shared_ptr<metrics::Registry> registry,
                                                         const Clock& clock);

// The numbers from the Prometheus at `url` (http://host:9090), one instant query
// each at the same time; `timeout` per query, no retries (the page asks again).
std::unique_ptr<PipelineHealthSource> MakePrometheusHealth(std::string url, const Clock& clock,
                                                           std::chrono::milliseconds timeout);

// The value of an /api/v1/query answer (vector or scalar): the first sample's
// value, nothing for an empty vector or NaN/±Inf (no data); an error naming
// Prometheus's message when the answer is not a success.
Result<std::optional<double>> ParseInstantValue(std::string_view body);

// The q-quantile of a histogram, interpolated within its bucket as
// Prometheus' histogram_quantile does; nothing without observations.
std::optional<double> HistogramQuantile(double q, const prometheus::ClientMetric::Histogram& histogram);

// Answers GET /pipeline from `source`, read at most once per `ttl` of `clock`:
// a read runs on this object's own thread, so the event loop never waits on
// Prometheus, and every request that arrives meanwhile gets the same answer.
class PipelineHealthCache {
 public:
  using Reply = std::function<void(const std::string& json)>;
  PipelineHealthCache(std::unique_ptr<PipelineHealthSource> source, const Clock& clock,
                      std::chrono::milliseconds ttl);
  ~PipelineHealthCache();  // answers no one still waiting (their responders answer 500)
  PipelineHealthCache(const PipelineHealthCache&) = delete;
  PipelineHealthCache& operator=(const PipelineHealthCache&) = delete;

  // Calls `reply` with the JSON: at once when the last read is fresh, else on
  // this object's thread after the next read.
  void Get(Reply reply);

 private:
  void Loop();

  std::unique_ptr<PipelineHealthSource> source_;
  const Clock& clock_;
  const int64_t ttl_ms_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::vector<Reply> waiting_;
  std::string last_;
  int64_t last_ms_ = 0;
  bool has_last_ = false;
  std::thread thread_;  // last: starts once the rest is initialised
};

}  // namespace pfad::dashboard
