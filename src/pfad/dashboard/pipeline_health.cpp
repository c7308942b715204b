// GET /pipeline's answer, its registry source and its cache (pipeline_health.h);
// the Prometheus source is in prometheus_health.cpp.
#include "pfad/dashboard/pipeline_health.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace pfad::dashboard {
namespace {

using Json = nlohmann::ordered_json;

Json Number(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

const char* SourceName(HealthSource s) {
  switch (s) {
    case HealthSource::kPrometheus:
      return "prometheus";
    case HealthSource::kProcess:
      return "process";
    case HealthSource::kNone:
      break;
  }
  return "none";
}

// The series GET /pipeline reads (pfad/schedule/metrics.h, pfad/ingest/metrics.h).
constexpr std::string_view kLastReportEnd = "pfad_last_report_minute_end_timestamp_seconds";
constexpr std::string_view kFreshness = "pfad_report_freshness_seconds";
constexpr std::string_view kLag = "pfad_ingest_lag_messages";
constexpr std::string_view kRuns = "pfad_runs_total";
constexpr std::string_view kStageDuration = "pfad_minute_stage_duration_seconds";

bool HasLabel(const prometheus::ClientMetric& m, std::string_view name, std::string_view value) {
  return std::ranges::any_of(m.label, [&](const auto& l) { return l.name == name && l.value == value; });
}

class RegistryHealth final : public PipelineHealthSource {
 public:
  RegistryHealth(std::shared_ptr<metrics::Registry> registry, const Clock& clock)
      : registry_(std::move(registry)), clock_(clock) {}

  PipelineHealth Read() override {
    PipelineHealth h;
    const double now = static_cast<double>(clock_.NowMillis()) / 1000.0;
    h.at_seconds = now;
    bool any = false;
    for (const auto& family : registry_->Collect()) {
      const auto& name = family.name;
      if (name == kLastReportEnd) {
        any = true;
        for (const auto& m : family.metric) {
          // 0 until the first report: no freshness yet.
          if (m.gauge.value > 0)
            h.freshness_seconds = std::max(0.0, std::round((now - m.gauge.value) * 1000) / 1000);
        }
      } else if (name == kFreshness) {
        any = true;
        if (!family.metric.empty())
          h.freshness_p95_seconds = HistogramQuantile(0.95, family.metric[0].histogram);
      } else if (name == kLag) {
        any = true;
        double sum = 0;
        for (const auto& m : family.metric) sum += m.gauge.value;
        if (!family.metric.empty()) h.lag_messages = sum;
      } else if (name == kRuns) {
        any = true;
        for (const auto& m : family.metric) {
          if (HasLabel(m, "outcome", "failed")) h.failed_runs = h.failed_runs.value_or(0) + m.counter.value;
        }
      } else if (name == kStageDuration) {
        any = true;
        for (const auto& m : family.metric) {
          if (HasLabel(m, "stage", "fraud"))
            h.fraud_scoring_p95_seconds = HistogramQuantile(0.95, m.histogram);
        }
      }
    }
    h.source = any ? HealthSource::kProcess : HealthSource::kNone;
    if (!any) {
      h.hint =
          "This process holds no pipeline metrics: set [dashboard] prometheus (or PFAD_PROMETHEUS_URL) to "
          "the Prometheus that scrapes the pipeline.";
    }
    return h;
  }

 private:
  std::shared_ptr<metrics::Registry> registry_;
  const Clock& clock_;
};

}  // namespace

std::string PipelineHealth::ToJson() const {
  const bool prometheus = source == HealthSource::kPrometheus;
  Json errs = Json::array();
  for (const auto& e : errors) errs.push_back(e);
  return Json{
      {"source", SourceName(source)},
      {"at", at_seconds},
      {"freshness_seconds", Number(freshness_seconds)},
      {"freshness_p95_seconds", Number(freshness_p95_seconds)},
      {"lag_messages", Number(lag_messages)},
      {"failed_runs", Number(failed_runs)},
      {"fraud_scoring_p95_seconds", Number(fraud_scoring_p95_seconds)},
      {"window",
       {{"failed_runs", prometheus ? "1h" : "since start"}, {"p95", prometheus ? "5m" : "since start"}}},
      {"errors", std::move(errs)},
      {"hint", hint.empty() ? Json(nullptr) : Json(hint)}}
      .dump();
}

std::unique_ptr<PipelineHealthSource> MakeRegistryHealth(std::shared_ptr<metrics::Registry> registry,
                                                         const Clock& clock) {
  return std::make_unique<RegistryHealth>(std::move(registry), clock);
}

std::optional<double> HistogramQuantile(double q, const prometheus::ClientMetric::Histogram& histogram) {
  auto buckets = histogram.bucket;
  std::ranges::sort(buckets, {}, &prometheus::ClientMetric::Bucket::upper_bound);
  if (buckets.size() < 2 || !std::isinf(buckets.back().upper_bound)) return std::nullopt;
  const auto observations = static_cast<double>(buckets.back().cumulative_count);
  if (observations == 0 || q < 0 || q > 1) return std::nullopt;
  const double rank = q * observations;
  size_t b = 0;
  while (b + 1 < buckets.size() && static_cast<double>(buckets[b].cumulative_count) < rank) ++b;
  // In the +Inf bucket: the highest finite bound, as histogram_quantile answers.
  if (b == buckets.size() - 1) return buckets[b - 1].upper_bound;
  const double end = buckets[b].upper_bound;
  if (b == 0 && end <= 0) return end;
  const double start = b == 0 ? 0.0 : buckets[b - 1].upper_bound;
  const double below = b == 0 ? 0.0 : static_cast<double>(buckets[b - 1].cumulative_count);
  const double in_bucket = static_cast<double>(buckets[b].cumulative_count) - below;
  if (in_bucket <= 0) return end;
  return start + (end - start) * ((rank - below) / in_bucket);
}

PipelineHealthCache::PipelineHealthCache(std::unique_ptr<PipelineHealthSource> source, const Clock& clock,
                                         std::chrono::milliseconds ttl)
    : source_(std::move(source)), clock_(clock), ttl_ms_(ttl.count()), thread_([this] { Loop(); }) {}

PipelineHealthCache::~PipelineHealthCache() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void PipelineHealthCache::Get(Reply reply) {
  std::string fresh;
  {
    std::lock_guard lock(mutex_);
    if (!has_last_ || clock_.NowMillis() - last_ms_ >= ttl_ms_) {
      waiting_.push_back(std::move(reply));
      wake_.notify_one();
      return;
    }
    fresh = last_;
  }
  reply(fresh);
}

void PipelineHealthCache::Loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stop_ || !waiting_.empty(); });
    if (stop_) return;
    lock.unlock();
    std::string json = source_->Read().ToJson();
    lock.lock();
    last_ = json;
    last_ms_ = clock_.NowMillis();
    has_last_ = true;
    std::vector<Reply> replies;
    replies.swap(waiting_);
    lock.unlock();
    for (auto& reply : replies) reply(json);
    lock.lock();
  }
}

}  // namespace pfad::dashboard
