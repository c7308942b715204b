#include "pfad/dashboard/pipeline_health.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <future>
#include <map>
#include <mutex>

#include "pfad/dashboard/server.h"
#include "pfad/http/server.h"
#include "pfad/ingest/metrics.h"
#include "pfad/schedule/metrics.h"

namespace pfad::dashboard {
namespace {

using Json = nlohmann::json;

prometheus::ClientMetric::Histogram Buckets(std::vector<std::pair<double, uint64_t>> cumulative) {
  prometheus::ClientMetric::Histogram h;
  for (const auto& [bound, count] : cumulative) h.bucket.push_back({count, bound});
  if (!h.bucket.empty()) h.sample_count = h.bucket.back().cumulative_count;
  return h;
}

TEST(DashboardPipelineHealth, HistogramQuantileInterpolatesLikePrometheus) {
  // Five observations in (0, 1], five in (1, 2].
  const auto h = Buckets({{1, 5}, {2, 10}, {4, 10}, {INFINITY, 10}});
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.95, h), 1.9);  // rank 9.5: 4.5 of the 5 in (1, 2]
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.5, h), 1.0);
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.1, h), 0.2);
  // Beyond the last finite bound: that bound, as histogram_quantile answers.
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.95, Buckets({{1, 1}, {2, 2}, {INFINITY, 10}})), 2.0);
  // No observations, no +Inf bucket: nothing to say.
  EXPECT_FALSE(HistogramQuantile(0.95, Buckets({{1, 0}, {INFINITY, 0}})).has_value());
  EXPECT_FALSE(HistogramQuantile(0.95, Buckets({{1, 3}, {2, 4}})).has_value());
}

TEST(DashboardPipelineHealth, RegistryWithoutPipelineSeriesAnswersNoneWithAHint) {
  ManualClock clock(1'700'000'000'000);
  auto registry = std::make_shared<metrics::Registry>();
  metrics::CounterFamily(*registry, "pfad_dashboard_requests_total", "").Add({});  // the dashboard's own
  const PipelineHealth h = MakeRegistryHealth(registry, clock)->Read();
  EXPECT_EQ(h.source, HealthSource::kNone);
  EXPECT_FALSE(h.freshness_seconds || h.lag_messages || h.failed_runs || h.fraud_scoring_p95_seconds);
  EXPECT_NE(h.hint.find("[dashboard] prometheus"), std::string::npos) << h.hint;
  const Json j = Json::parse(h.ToJson());
  EXPECT_EQ(j["source"], "none");
  EXPECT_TRUE(j["freshness_seconds"].is_null());
  EXPECT_TRUE(j["errors"].empty());
}

TEST(DashboardPipelineHealth, RegistryNumbersFromTheScheduleAndIngestSeries) {
  ManualClock clock(1'700'000'000'000);
  auto registry = std::make_shared<metrics::Registry>();
  schedule::ScheduleMetrics schedule(registry);
  ingest::IngestMetrics ingest(registry);
  auto source = MakeRegistryHealth(registry, clock);

  // Registered, nothing happened yet: no report, so no freshness; counts are zero.
  PipelineHealth h = source->Read();
  EXPECT_EQ(h.source, HealthSource::kProcess);
  EXPECT_FALSE(h.freshness_seconds.has_value());
  EXPECT_FALSE(h.fraud_scoring_p95_seconds.has_value());
  EXPECT_EQ(h.failed_runs, 0.0);
  EXPECT_EQ(h.lag_messages, 0.0);

  schedule.last_report_minute_end.Set(1'700'000'000 - 42.5);
  ingest.lag = 1234;
  ++schedule.runs_failed;
  ++schedule.runs_failed;
  ++schedule.runs_succeeded;
  for (int i = 0; i < 5; ++i) schedule.fraud_seconds.Observe(0.3);  // SecondsBuckets: (0.25, 0.5]
  for (int i = 0; i < 5; ++i) schedule.fraud_seconds.Observe(0.7);  // (0.5, 1]
  schedule.analyze_seconds.Observe(100);                            // another stage: not counted
  for (int i = 0; i < 10; ++i) schedule.freshness_seconds.Observe(7);

  h = source->Read();
  EXPECT_DOUBLE_EQ(h.at_seconds, 1'700'000'000);
  EXPECT_DOUBLE_EQ(*h.freshness_seconds, 42.5);
  EXPECT_EQ(h.lag_messages, 1234.0);
  EXPECT_EQ(h.failed_runs, 2.0);
  // The same interpolation as histogram_quantile over the stage's buckets.
  auto fraud = prometheus::ClientMetric{};
  for (const auto& family : registry->Collect()) {
    if (family.name != "pfad_minute_stage_duration_seconds") continue;
    for (const auto& m : family.metric) {
      for (const auto& l : m.label)
        if (l.value == "fraud") fraud = m;
    }
  }
  ASSERT_EQ(fraud.histogram.sample_count, 10U);
  EXPECT_DOUBLE_EQ(*h.fraud_scoring_p95_seconds, *HistogramQuantile(0.95, fraud.histogram));
  EXPECT_GT(*h.fraud_scoring_p95_seconds, 0.5);
  EXPECT_LE(*h.fraud_scoring_p95_seconds, 1.0);
  ASSERT_TRUE(h.freshness_p95_seconds.has_value());
  EXPECT_GT(*h.freshness_p95_seconds, 5.0);
  EXPECT_LE(*h.freshness_p95_seconds, 10.0);

  const Json j = Json::parse(h.ToJson());
  EXPECT_EQ(j["source"], "process");
  EXPECT_EQ(j["window"]["failed_runs"], "since start");
  EXPECT_EQ(j["failed_runs"], 2.0);
  EXPECT_EQ(j["lag_messages"], 1234.0);
  EXPECT_TRUE(j["hint"].is_null());
}

TEST(DashboardPipelineHealth, ParsesPrometheusInstantAnswers) {
  EXPECT_EQ(*ParseInstantValue(R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{"job":"pfad-run"},"value":[1700000000.5,"37.25"]}]}})"),
            37.25);
  EXPECT_FALSE(
      ParseInstantValue(R"({"status":"success","data":{"resultType":"vector","result":[]}})")->has_value());
  // histogram_quantile without observations is NaN: no number.
  EXPECT_FALSE(ParseInstantValue(R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{},"value":[1700000000,"NaN"]}]}})")
                   ->has_value());
  EXPECT_EQ(*ParseInstantValue(R"({"status":"success","data":{"resultType":"scalar","result":[1,"3"]}})"),
            3.0);

  auto error = ParseInstantValue(
      R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \"}\""})");
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.status().message().find("bad_data"), std::string::npos) << error.status().message();
  EXPECT_NE(error.status().message().find("parse error"), std::string::npos);
  EXPECT_FALSE(ParseInstantValue("<html>502 Bad Gateway</html>").ok());
  EXPECT_FALSE(ParseInstantValue(R"({"status":"success","data":{"resultType":"matrix","result":[]}})").ok());
  EXPECT_FALSE(ParseInstantValue(R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{},"value":[1,"many"]}]}})")
                   .ok());
}

// A Prometheus that knows some of the rules' series.
class FakePrometheus {
 public:
  explicit FakePrometheus(std::map<std::string, std::string> values)
      : values_(std::move(values)), server_(http::ServerOptions{.name = "fake-prometheus"}) {
    server_.Get("/api/v1/query", [this](const http::Request& req) {
      const std::string query = req.Param("query").value_or("");
      {
        std::lock_guard lock(mutex_);
        times_.push_back(req.Param("time").value_or(""));
      }
      http::Response r;
      if (query.find("pfad") == std::string::npos) {
        r.status = 400;
        r.body = R"({"status":"error","errorType":"bad_data","error":"unknown query"})";
        return r;
      }
      Json result = Json::array();
      for (const auto& [expr, value] : values_) {
        if (query == expr) result.push_back({{"metric", Json::object()}, {"value", {1700000000, value}}});
      }
      r.body = Json{{"status", "success"}, {"data", {{"resultType", "vector"}, {"result", result}}}}.dump();
      return r;
    });
    EXPECT_TRUE(server_.Start().ok());
  }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()) + "/"; }
  std::vector<std::string> Times() {
    std::lock_guard lock(mutex_);
    return times_;
  }

 private:
  std::mutex mutex_;  // the server's loop thread writes, the test reads
  std::vector<std::string> times_;
  std::map<std::string, std::string> values_;
  http::Server server_;
};

TEST(DashboardPipelineHealth, PrometheusSourceAsksTheRulesAtOneTime) {
  FakePrometheus prometheus({{"max(pfad:report_staleness_seconds)", "31.5"},
                             {"sum(pfad:ingest_consumer_lag_messages:sum)", "12000"},
                             {R"(sum(increase(pfad_runs_total{outcome="failed"}[1h])))", "0"},
                             {R"(max(pfad:minute_stage_duration_seconds:p95_5m{stage="fraud"}))", "0.42"}});
  ManualClock clock(1'700'000'000'250);
  const PipelineHealth h = MakePrometheusHealth(prometheus.url(), clock, std::chrono::seconds(2))->Read();
  EXPECT_EQ(h.source, HealthSource::kPrometheus);
  EXPECT_TRUE(h.errors.empty()) << h.errors.front();
  EXPECT_EQ(h.freshness_seconds, 31.5);
  EXPECT_FALSE(h.freshness_p95_seconds.has_value());  // Prometheus has no such series (yet)
  EXPECT_EQ(h.lag_messages, 12000.0);
  EXPECT_EQ(h.failed_runs, 0.0);
  EXPECT_EQ(h.fraud_scoring_p95_seconds, 0.42);
  const auto times = prometheus.Times();
  ASSERT_EQ(times.size(), 5U);
  for (const auto& t : times) EXPECT_EQ(t, "1700000000.250");
  const Json j = Json::parse(h.ToJson());
  EXPECT_EQ(j["source"], "prometheus");
  EXPECT_EQ(j["window"]["failed_runs"], "1h");
  EXPECT_TRUE(j["freshness_p95_seconds"].is_null());
}

TEST(DashboardPipelineHealth, UnreachablePrometheusIsOneClearError) {
  int port = 0;
  {
    http::Server closed(http::ServerOptions{});
    ASSERT_TRUE(closed.Start().ok());
    port = closed.port();
  }  // stopped: the port refuses connections
  ManualClock clock(1'700'000'000'000);
  const PipelineHealth h =
      MakePrometheusHealth("http://127.0.0.1:" + std::to_string(port), clock, std::chrono::seconds(2))
          ->Read();
  EXPECT_EQ(h.source, HealthSource::kPrometheus);
  ASSERT_EQ(h.errors.size(), 1U);
  EXPECT_NE(h.errors[0].find("cannot be reached"), std::string::npos) << h.errors[0];
  EXPECT_FALSE(h.freshness_seconds || h.lag_messages || h.failed_runs || h.fraud_scoring_p95_seconds);
}

class CountingSource final : public PipelineHealthSource {
 public:
  PipelineHealth Read() override {
    PipelineHealth h;
    h.source = HealthSource::kProcess;
    h.failed_runs = ++reads;
    return h;
  }
  std::atomic<int> reads{0};
};

std::string GetOnce(PipelineHealthCache& cache) {
  std::promise<std::string> answer;
  cache.Get([&](const std::string& json) { answer.set_value(json); });
  return answer.get_future().get();
}

TEST(DashboardPipelineHealth, CacheReadsOncePerTtl) {
  ManualClock clock(1'000'000);
  auto owned = std::make_unique<CountingSource>();
  CountingSource* source = owned.get();
  PipelineHealthCache cache(std::move(owned), clock, std::chrono::seconds(5));
  EXPECT_EQ(Json::parse(GetOnce(cache))["failed_runs"], 1.0);
  clock.Advance(4999);
  EXPECT_EQ(Json::parse(GetOnce(cache))["failed_runs"], 1.0);
  EXPECT_EQ(source->reads.load(), 1);
  clock.Advance(1);
  EXPECT_EQ(Json::parse(GetOnce(cache))["failed_runs"], 2.0);
  EXPECT_EQ(source->reads.load(), 2);
}

TEST(DashboardConfig, PrometheusFromFileThenEnvironment) {
  ::unsetenv("PFAD_PROMETHEUS_URL");
  EXPECT_EQ(DashboardConfig::Resolve(ConfigFile()).ValueOrDie().prometheus, "");
  auto file = ConfigFile::Parse("[dashboard]\nprometheus = \"http://prom:9090\"\n").ValueOrDie();
  EXPECT_EQ(DashboardConfig::Resolve(file).ValueOrDie().prometheus, "http://prom:9090");
  ::setenv("PFAD_PROMETHEUS_URL", "http://127.0.0.1:9091", 1);
  EXPECT_EQ(DashboardConfig::Resolve(file).ValueOrDie().prometheus, "http://127.0.0.1:9091");
  ::unsetenv("PFAD_PROMETHEUS_URL");
}

}  // namespace
}  // namespace pfad::dashboard
