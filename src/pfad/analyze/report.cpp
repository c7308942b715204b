#include "pfad/analyze/report.h"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace pfad::analyze {
namespace {
using Json = nlohmann::ordered_json;
constexpr std::string_view kNoDataPrefix = "No data for ";
constexpr const char* kKinds[2] = {"user", "session"};

Json PerKind(const auto& values) { return Json{{kKinds[0], values[0]}, {kKinds[1], values[1]}}; }

Json FraudToJson(const FraudSection& f) {
  Json j;
  if (f.state == FraudSection::State::kNotRun) {
    j["status"] = "not_run";
    j["reason"] = f.reason;
    j["new_alerts"] = f.new_alerts;
    j["scoring_ms"] = f.scoring_ms;
    return j;
  }
  j["status"] = "scored";
  j["model"] = f.model;
  j["window"] = Json{{"minutes", f.window.minutes}, {"objects", f.window.objects}, {"events", f.window.events},
                     {"first", f.window.first}, {"last", f.window.last}};
  j["threshold"] = PerKind(f.threshold);
  j["scored"] = PerKind(f.scored);
  j["flagged"] = PerKind(f.flagged);
  j["new_alerts"] = f.new_alerts;
  j["histogram"] = Json{{"bins", f.histogram[0].size()}, {kKinds[0], f.histogram[0]}, {kKinds[1], f.histogram[1]}};
  j["top"] = Json::array();
  for (const auto& t : f.top) {
    j["top"].push_back(Json{{"entity_kind", t.entity_kind}, {"entity_id", t.entity_id}, {"fraud_score", t.fraud_score},
                            {"is_fraud", t.is_fraud}, {"top_features", t.top_features}});
  }
  j["scoring_ms"] = f.scoring_ms;
  return j;
}

// Throws Json::exception on a missing key or a wrong type, invalid_argument on a bad status.
FraudSection ParseFraud(const Json& j) {
  FraudSection f;
  const auto status = j.at("status").get<std::string>();
  f.new_alerts = j.value("new_alerts", int64_t{0});
  f.scoring_ms = j.value("scoring_ms", int64_t{0});
  if (status == "not_run") {
    f.reason = j.value("reason", std::string());
    return f;
  }
  if (status != "scored") throw std::invalid_argument("fraud.status must be \"scored\" or \"not_run\"");
  f.state = FraudSection::State::kScored;
  f.model = j.at("model").get<std::string>();
  const Json& w = j.at("window");
  f.window = {w.at("minutes").get<int>(), w.at("objects").get<int>(), w.at("events").get<int64_t>(),
              w.at("first").get<std::string>(), w.at("last").get<std::string>()};
  for (int k = 0; k < 2; ++k) {
    f.threshold[k] = j.at("threshold").at(kKinds[k]).get<double>();
    f.scored[k] = j.at("scored").at(kKinds[k]).get<int64_t>();
    f.flagged[k] = j.at("flagged").at(kKinds[k]).get<int64_t>();
    f.histogram[k] = j.at("histogram").at(kKinds[k]).get<std::vector<int64_t>>();
  }
  for (const auto& t : j.at("top")) {
    f.top.push_back({t.at("entity_kind").get<std::string>(), t.at("entity_id").get<std::string>(),
                     t.at("fraud_score").get<double>(), t.at("is_fraud").get<bool>(),
                     t.value("top_features", std::string())});
  }
  return f;
}
}  // namespace

void AddGroup(EventCounts& counts, std::optional<std::string_view> event_type, std::optional<std::string_view> status,
              int64_t rows) {
  auto& entry = counts.by_event_type[std::string(event_type.value_or("null"))];
  counts.total_events += rows;
  if (status == "SUCCESS") {
    entry.success += rows;
  } else if (status == "ERROR") {
    entry.error += rows;
    counts.total_errors += rows;
  }
}

std::string ToJson(const Report& report) {
  Json doc;
  if (const auto* no_data = std::get_if<NoDataReport>(&report)) {
    doc["report"] = std::string(kNoDataPrefix) + no_data->stem + ".";
    return doc.dump();
  }
  const auto& r = std::get<MinuteReport>(report);
  Json body;
  body["total_events"] = r.counts.total_events;
  body["total_errors"] = r.counts.total_errors;
  body["by_event_type"] = Json::object();
  for (const auto& [type, c] : r.counts.by_event_type) {
    body["by_event_type"][type] = Json{{"SUCCESS", c.success}, {"ERROR", c.error}};
  }
  body["process_time"] = r.process_time;
  body["file_name"] = r.file_name;
  if (r.fraud) body["fraud"] = FraudToJson(*r.fraud);
  doc["report"] = std::move(body);
  return doc.dump();
}

Result<Report> ParseReport(std::string_view text) {
  const Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("report")) {
    return Status::Invalid("not a report document (expected {\"report\": ...})");
  }
  const Json& body = doc["report"];
  if (body.is_string()) {
    const auto s = body.get<std::string>();
    if (!s.starts_with(kNoDataPrefix) || !s.ends_with('.')) {
      return Status::Invalid("unexpected report text: ", s);
    }
    return NoDataReport{s.substr(kNoDataPrefix.size(), s.size() - kNoDataPrefix.size() - 1)};
  }
  if (!body.is_object()) return Status::Invalid("report must be an object or a string");
  try {
    MinuteReport r;
    r.counts.total_events = body.at("total_events").get<int64_t>();
    r.counts.total_errors = body.at("total_errors").get<int64_t>();
    for (const auto& [type, c] : body.at("by_event_type").items()) {
      r.counts.by_event_type[type] = StatusCounts{c.at("SUCCESS").get<int64_t>(), c.at("ERROR").get<int64_t>()};
    }
    r.process_time = body.value("process_time", 0.0);
    r.file_name = body.value("file_name", std::string());
    if (body.contains("fraud")) r.fraud = ParseFraud(body.at("fraud"));
    return Report{std::move(r)};
  } catch (const Json::exception& e) {
    return Status::Invalid("malformed report: ", e.what());
  } catch (const std::invalid_argument& e) {
    return Status::Invalid("malformed report: ", e.what());
  }
}

}  // namespace pfad::analyze
