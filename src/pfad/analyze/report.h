// The analysis report of DESIGN.md section 3: the one place its JSON is built
// and parsed, used by every engine, the scheduler and the dashboard.
//
//   {"report": {"total_events": N, "total_errors": E,
//               "by_event_type": {"ADD_TO_CART": {"SUCCESS": s, "ERROR": e}, ...},
//               "process_time": seconds, "file_name": "<stem>.json"}}
//   {"report": "No data for <stem>."}
#pragma once

#include "pfad/common/status.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace pfad::analyze {

struct StatusCounts {
  int64_t success = 0;
  int64_t error = 0;
  friend bool operator==(const StatusCounts&, const StatusCounts&) = default;
};

// Counts of one minute's events; the part every engine must agree on.
struct EventCounts {
  int64_t total_events = 0;
  int64_t total_errors = 0;
  std::map<std::string, StatusCounts> by_event_type;  // sorted keys
  friend bool operator==(const EventCounts&, const EventCounts&) = default;
};

// Adds `rows` events of one (event_type, status) group to `counts`; every engine
// counts through this. A null event_type is grouped under "null" (what the
// reference job's json.dumps makes of it); a status other than SUCCESS or ERROR
// (null included) counts in total_events only. The group's by_event_type entry
// exists afterwards, even for rows == 0.
void AddGroup(EventCounts& counts, std::optional<std::string_view> event_type, std::optional<std::string_view> status,
              int64_t rows);

struct MinuteReport {
  EventCounts counts;
  double process_time = 0;  // seconds the engine took
  std::string file_name;    // "<stem>.json"
};

// "No data for <stem>." — the report of a minute without an object.
struct NoDataReport {
  std::string stem;
};

using Report = std::variant<MinuteReport, NoDataReport>;

// The report document as JSON text.
std::string ToJson(const Report& report);
// Parses a report document (either form); Invalid on anything else.
Result<Report> ParseReport(std::string_view json);

}  // namespace pfad::analyze
