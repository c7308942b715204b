#include "pfad/metrics/metrics.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "pfad/common/http_client.h"

namespace pfad::metrics {
namespace {

TEST(Metrics, BuildInfoCarriesTheVersionAndCommand) {
  Registry registry;
  SetBuildInfo(registry, "v1.2-3-gabc", "run");
  const std::string text = TextExposition(registry);
  EXPECT_NE(text.find("# TYPE pfad_build_info gauge"), std::string::npos) << text;
  EXPECT_NE(text.find("pfad_build_info{command=\"run\",version=\"v1.2-3-gabc\"} 1"), std::string::npos)
      << text;
}

TEST(Metrics, CountAndLevelReadLikeIntegers) {
  Registry registry;
  Count events(CounterFamily(registry, "pfad_test_events_total", "Events.").Add({}));
  Level depth(GaugeFamily(registry, "pfad_test_depth", "Depth.").Add({}));
  ++events;
  events += 41;
  events += -3;  // a counter never goes down
  depth = 7;
  depth.Add(-2);
  EXPECT_EQ(events.load(), 42);
  EXPECT_EQ(depth.load(), 5);
  const std::string text = TextExposition(registry);
  EXPECT_NE(text.find("pfad_test_events_total 42\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pfad_test_depth 5\n"), std::string::npos) << text;
}

TEST(Metrics, AFamilyRegisteredTwiceIsTheSameFamily) {
  Registry registry;
  auto& a = CounterFamily(registry, "pfad_test_total", "A.");
  auto& b = CounterFamily(registry, "pfad_test_total", "A.");
  EXPECT_EQ(&a, &b);
  a.Add({{"stage", "x"}}).Increment();
  b.Add({{"stage", "x"}}).Increment();
  EXPECT_EQ(a.Add({{"stage", "x"}}).Value(), 2);
}

TEST(Metrics, HistogramsUseSecondsBuckets) {
  Registry registry;
  auto& h = HistogramFamily(registry, "pfad_test_duration_seconds", "Durations.")
                .Add({{"stage", "analyze"}}, SecondsBuckets());
  h.Observe(0.2);
  h.Observe(40);
  const std::string text = TextExposition(registry);
  EXPECT_NE(text.find("pfad_test_duration_seconds_bucket{stage=\"analyze\",le=\"0.25\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("pfad_test_duration_seconds_count{stage=\"analyze\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("pfad_test_duration_seconds_sum{stage=\"analyze\"} 40.2"), std::string::npos) << text;
}

TEST(Metrics, HealthIsReadyOnlyWhenEveryCheckIs) {
  Health health;
  EXPECT_TRUE(health.Evaluate().first);
  bool storage_ok = true;
  health.Add("storage", [&] { return CheckResult{storage_ok, storage_ok ? "writing" : "writes failing"}; });
  health.Add("kafka", [] { return CheckResult{true, "connected"}; });
  EXPECT_TRUE(health.Evaluate().first);
  storage_ok = false;
  const auto [ready, body] = health.Evaluate();
  EXPECT_FALSE(ready);
  const auto json = nlohmann::json::parse(body);
  EXPECT_EQ(json["status"], "not ready");
  EXPECT_EQ(json["checks"]["storage"]["ready"], false);
  EXPECT_EQ(json["checks"]["storage"]["reason"], "writes failing");
  EXPECT_EQ(json["checks"]["kafka"]["ready"], true);
}

TEST(Metrics, TheEndpointServesMetricsAndHealth) {
  auto registry = std::make_shared<Registry>();
  SetBuildInfo(*registry, "test", "unit");
  auto health = std::make_shared<Health>();
  bool ready = true;
  health->Add("loop", [&] { return CheckResult{ready, ready ? "ticking" : "stalled for 30 s"}; });
  auto endpoint = Endpoint::Start({.host = "127.0.0.1", .port = 0}, registry, health);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
  const std::string base = "http://127.0.0.1:" + std::to_string((*endpoint)->port());
  auto metrics = SendHttp({.url = base + "/metrics"});
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->Header("content-type").find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics->body.find("pfad_build_info{command=\"unit\",version=\"test\"} 1"), std::string::npos);
  auto up = SendHttp({.url = base + "/health"});
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->status, 200);
  EXPECT_EQ(nlohmann::json::parse(up->body)["status"], "ready");
  ready = false;
  auto down = SendHttp({.url = base + "/health", .max_attempts = 1, .retry_server_errors = false});
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->status, 503);
  EXPECT_EQ(nlohmann::json::parse(down->body)["checks"]["loop"]["reason"], "stalled for 30 s");
}

TEST(Metrics, ABusyPortIsAClearError) {
  auto first = Endpoint::Start({}, std::make_shared<Registry>(), nullptr);
  ASSERT_TRUE(first.ok());
  auto second = Endpoint::Start({.port = (*first)->port()}, std::make_shared<Registry>(), nullptr);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("cannot serve metrics on 127.0.0.1:"), std::string::npos)
      << second.status().message();
}

}  // namespace
}  // namespace pfad::metrics
