// GET /pipeline's numbers from Prometheus' HTTP API (pipeline_health.h): the
// recording rules of deploy/prometheus/pfad-rules.yml, aggregated over jobs.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "pfad/common/http_client.h"
#include "pfad/dashboard/pipeline_health.h"

namespace pfad::dashboard {
namespace {

using Json = nlohmann::json;

// One query per number; each rule keeps a series per job, so the queries take the worst (or the sum).
struct Query {
  std::optional<double> PipelineHealth::* field;
  const char* name;
  const char* promql;
};
constexpr Query kQueries[] = {
    {&PipelineHealth::freshness_seconds, "freshness", "max(pfad:report_staleness_seconds)"},
    {&PipelineHealth::freshness_p95_seconds, "freshness p95", "max(pfad:report_freshness_seconds:p95_5m)"},
    {&PipelineHealth::lag_messages, "ingest lag", "sum(pfad:ingest_consumer_lag_messages:sum)"},
    {&PipelineHealth::failed_runs, "failed runs", R"(sum(increase(pfad_runs_total{outcome="failed"}[1h])))"},
    {&PipelineHealth::fraud_scoring_p95_seconds, "fraud scoring p95",
     R"(max(pfad:minute_stage_duration_seconds:p95_5m{stage="fraud"}))"},
};

// RFC 3986 percent-encoding of a query parameter's value.
std::string QueryEscape(std::string_view s) {
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// A sample's value: Prometheus sends it as a string ("1.5", "NaN", "+Inf").
Result<std::optional<double>> SampleValue(const Json& pair) {
  if (!pair.is_array() || pair.size() != 2 || !pair[1].is_string()) {
    return Status::Invalid("expected a [time, \"value\"] pair, got ", pair.dump());
  }
  const std::string text = pair[1].get<std::string>();
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0') return Status::Invalid("the value \"", text, "\" is not a number");
  if (!std::isfinite(v)) return std::optional<double>();
  return std::optional<double>(v);
}

class PrometheusHealth final : public PipelineHealthSource {
 public:
  PrometheusHealth(std::string url, const Clock& clock, std::chrono::milliseconds timeout)
      : url_(std::move(url)), clock_(clock), timeout_(timeout) {
    while (!url_.empty() && url_.back() == '/') url_.pop_back();
  }

  PipelineHealth Read() override {
    PipelineHealth h;
    h.source = HealthSource::kPrometheus;
    // Every query at one time, so the numbers belong together (and can be asked again).
    const int64_t now_ms = clock_.NowMillis();
    h.at_seconds = static_cast<double>(now_ms) / 1000.0;
    const std::string time = fmt::format("{}.{:03}", now_ms / 1000, now_ms % 1000);
    for (const Query& q : kQueries) {
      HttpRequest req;
      req.url = url_ + "/api/v1/query?query=" + QueryEscape(q.promql) + "&time=" + time;
      req.timeout = timeout_;
      req.max_attempts = 1;
      req.retry_server_errors = false;
      auto res = SendHttp(req);
      if (!res.ok()) {
        // Unreachable: the other queries would only wait as long again.
        h.errors.push_back(
            fmt::format("Prometheus at {} cannot be reached: {} (check [dashboard] prometheus)", url_,
                        res.status().message()));
        return h;
      }
      auto value = ParseInstantValue(res->body);
      if (!value.ok()) {
        h.errors.push_back(fmt::format("{}: Prometheus answered {} to {}: {}", q.name, res->status, q.promql,
                                       value.status().message()));
        continue;
      }
      h.*(q.field) = *value;
    }
    return h;
  }

 private:
  std::string url_;
  const Clock& clock_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

Result<std::optional<double>> ParseInstantValue(std::string_view body) {
  const Json doc = Json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::Invalid("not a Prometheus API answer (not JSON): ", body.substr(0, 200));
  }
  if (doc.value("status", "") != "success") {
    const std::string error = doc.contains("error") && doc["error"].is_string()
                                  ? doc["error"].get<std::string>()
                                  : std::string("no error given");
    return Status::Invalid("query failed (", doc.value("errorType", "unknown"), "): ", error);
  }
  if (!doc.contains("data") || !doc["data"].is_object())
    return Status::Invalid("the answer has no data object");
  const Json& data = doc["data"];
  const std::string type = data.value("resultType", "");
  if (!data.contains("result")) return Status::Invalid("the answer has no result");
  const Json& result = data["result"];
  if (type == "scalar") return SampleValue(result);
  if (type != "vector" || !result.is_array()) {
    return Status::Invalid("expected a vector or scalar result, got \"", type, "\"");
  }
  if (result.empty()) return std::optional<double>();
  if (!result[0].is_object() || !result[0].contains("value")) {
    return Status::Invalid("a sample without a value: ", result[0].dump());
  }
  return SampleValue(result[0]["value"]);
}

std::unique_ptr<PipelineHealthSource> MakePrometheusHealth(std::string url, const Clock& clock,
                                                           std::chrono::milliseconds timeout) {
  return std::make_unique<PrometheusHealth>(std::move(url), clock, timeout);
}

}  // namespace pfad::dashboard
