// The analysis report (docs/DESIGN.md, "Report JSON"): the one place its JSON is built
// and parsed, used by every engine, the scheduler and the dashboard.
//
//   {"report": {"total_events": N, "total_errors": E,
//               "by_event_type": {"ADD_TO_CART": {"SUCCESS": s, "ERROR": e}, ...},
//               "process_time": seconds, "file_name": "<stem>.json"}}
//   {"report": "No data for <stem>."}
//
// The ETAR adds an optional "fraud" object to a minute's report (FraudSection,
// docs/FRAUD.md section 6); reference clients ignore it, the dashboard shows it.
#pragma once

#include "pfad/common/status.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

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
void AddGroup(EventCounts& counts, std::optional<std::string_view> event_type,
              std::optional<std::string_view> status, int64_t rows);

// The report's "fraud" object: the scoring of the window that ends with the
// minute (docs/FRAUD.md section 6). Built by fraud::BuildFraudSection; when
// scoring did not run, only status, reason, new_alerts and scoring_ms are in the JSON.
struct FraudSection {
  enum class State { kScored, kNotRun };
  State state = State::kNotRun;
  std::string reason;  // kNotRun: why, for a person to act on
  std::string model;   // FraudModel::Label()
  struct Window {
    int minutes = 0;  // the model's window length
    int objects = 0;  // minute objects found in it
    int64_t events = 0;
    std::string first, last;  // minute names (YYYY-MM-DD_HH-MM)
    friend bool operator==(const Window&, const Window&) = default;
  } window;
  // Per entity kind: [0] user, [1] session (events::EntityKind order).
  double threshold[2] = {0.5, 0.5};
  int64_t scored[2] = {0, 0};
  int64_t flagged[2] = {0, 0};
  int64_t new_alerts = 0;
  std::vector<int64_t> histogram[2];  // equal-width bins over [0, 1]; both the same size
  struct Top {
    std::string entity_kind;  // "user" | "session"
    std::string entity_id;
    double fraud_score = 0;
    bool is_fraud = false;
    std::string top_features;
    friend bool operator==(const Top&, const Top&) = default;
  };
  std::vector<Top> top;  // descending fraud_score
  int64_t scoring_ms = 0;
  // The entity views of the minute (docs/DESIGN.md, "Investigations"): a JSON array as text,
  // "" = none. Last in the fraud object; the dashboard moves them out of the stored report.
  std::string investigations;
  friend bool operator==(const FraudSection&, const FraudSection&) = default;
};

struct MinuteReport {
  EventCounts counts;
  double process_time = 0;            // seconds the engine took
  std::string file_name;              // "<stem>.json"
  std::optional<FraudSection> fraud;  // set by the ETAR's fraud step
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
