#include "pfad/analyze/report.h"

#include <nlohmann/json.hpp>

namespace pfad::analyze {
namespace {
using Json = nlohmann::ordered_json;
constexpr std::string_view kNoDataPrefix = "No data for ";
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
    return Report{std::move(r)};
  } catch (const Json::exception& e) {
    return Status::Invalid("malformed report: ", e.what());
  }
}

}  // namespace pfad::analyze
