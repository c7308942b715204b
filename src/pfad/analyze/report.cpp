#include "pfad/analyze/report.h"

#include <nlohmann/json.hpp>

#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

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
  j["window"] = Json{{"minutes", f.window.minutes},
                     {"objects", f.window.objects},
                     {"events", f.window.events},
                     {"first", f.window.first},
                     {"last", f.window.last}};
  j["threshold"] = PerKind(f.threshold);
  j["scored"] = PerKind(f.scored);
  j["flagged"] = PerKind(f.flagged);
  j["new_alerts"] = f.new_alerts;
  j["histogram"] =
      Json{{"bins", f.histogram[0].size()}, {kKinds[0], f.histogram[0]}, {kKinds[1], f.histogram[1]}};
  j["top"] = Json::array();
  for (const auto& t : f.top) {
    j["top"].push_back(Json{{"entity_kind", t.entity_kind},
                            {"entity_id", t.entity_id},
                            {"fraud_score", t.fraud_score},
                            {"is_fraud", t.is_fraud},
                            {"top_features", t.top_features}});
  }
  j["scoring_ms"] = f.scoring_ms;
  if (!f.investigations.empty()) j["investigations"] = Json::parse(f.investigations);
  return j;
}

// A count: a JSON integer that fits T. nlohmann's get<int64_t>() also takes a float,
// and casting one like 1e300 to an integer is undefined behaviour.
template <typename T = int64_t>
T ToInteger(const Json& v, const std::string& what) {
  const bool fits = v.is_number_unsigned()
                        ? v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                        : v.is_number_integer() && v.get<int64_t>() >= std::numeric_limits<T>::min() &&
                              v.get<int64_t>() <= std::numeric_limits<T>::max();
  if (!fits) throw std::invalid_argument(what + " must be an integer");
  return static_cast<T>(v.get<int64_t>());
}
template <typename T = int64_t>
T Integer(const Json& j, const std::string& key) {
  return ToInteger<T>(j.at(key), key);
}
// A key that may be absent (0 then).
int64_t OptionalInteger(const Json& j, const std::string& key) {
  return j.contains(key) ? Integer(j, key) : 0;
}

std::vector<int64_t> Integers(const Json& j, const std::string& key) {
  const Json& array = j.at(key);
  if (!array.is_array()) throw std::invalid_argument(key + " must be an array");
  std::vector<int64_t> out;
  for (const Json& v : array) out.push_back(ToInteger(v, key));
  return out;
}

// Throws Json::exception on a missing key or a wrong type, invalid_argument on a bad status.
FraudSection ParseFraud(const Json& j) {
  FraudSection f;
  const auto status = j.at("status").get<std::string>();
  f.new_alerts = OptionalInteger(j, "new_alerts");
  f.scoring_ms = OptionalInteger(j, "scoring_ms");
  if (status == "not_run") {
    f.reason = j.value("reason", std::string());
    return f;
  }
  if (status != "scored") throw std::invalid_argument("fraud.status must be \"scored\" or \"not_run\"");
  f.state = FraudSection::State::kScored;
  f.model = j.at("model").get<std::string>();
  const Json& w = j.at("window");
  f.window = {Integer<int>(w, "minutes"), Integer<int>(w, "objects"), Integer(w, "events"),
              w.at("first").get<std::string>(), w.at("last").get<std::string>()};
  for (int k = 0; k < 2; ++k) {
    f.threshold[k] = j.at("threshold").at(kKinds[k]).get<double>();
    f.scored[k] = Integer(j.at("scored"), kKinds[k]);
    f.flagged[k] = Integer(j.at("flagged"), kKinds[k]);
    f.histogram[k] = Integers(j.at("histogram"), kKinds[k]);
  }
  for (const auto& t : j.at("top")) {
    f.top.push_back({t.at("entity_kind").get<std::string>(), t.at("entity_id").get<std::string>(),
                     t.at("fraud_score").get<double>(), t.at("is_fraud").get<bool>(),
                     t.value("top_features", std::string())});
  }
  if (j.contains("investigations")) {
    if (!j.at("investigations").is_array())
      throw std::invalid_argument("fraud.investigations must be an array");
    f.investigations = j.at("investigations").dump();
  }
  return f;
}
}  // namespace

void AddGroup(EventCounts& counts, std::optional<std::string_view> event_type,
              std::optional<std::string_view> status, int64_t rows) {
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
    r.counts.total_events = Integer(body, "total_events");
    r.counts.total_errors = Integer(body, "total_errors");
    for (const auto& [type, c] : body.at("by_event_type").items()) {
      r.counts.by_event_type[type] = StatusCounts{Integer(c, "SUCCESS"), Integer(c, "ERROR")};
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
