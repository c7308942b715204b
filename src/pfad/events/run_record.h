// What happened to one scheduled minute: the record the scheduler keeps in its
// run store, reports to the dashboard (POST /runs) and the dashboard serves
// (GET /runs, the `run` push event). The one place its JSON is built and parsed:
//
//   {"minute": "YYYY-MM-DD_HH-MM", "state": "queued"|"running"|"success"|"failed",
//    "attempts": N, "error": "...", "updated_ms": epoch ms (only once the dashboard stored it)}
//
// The state's text is also what the SQLite run tables hold.
#pragma once

#include "pfad/common/status.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pfad::events {

enum class RunState { kQueued, kRunning, kSuccess, kFailed };

// "queued", "running", "success", "failed".
std::string_view ToString(RunState state);
// The inverse of ToString; Invalid for any other text.
Result<RunState> ParseRunState(std::string_view text);
// Whether the run is over: success, or failure after its last retry.
bool IsEnded(RunState state);

struct RunRecord {
  std::string minute;    // "YYYY-MM-DD_HH-MM"
  int64_t start_ms = 0;  // the minute's start, epoch ms (the scheduler's key; not on the wire)
  RunState state = RunState::kQueued;
  int attempts = 0;
  std::string error;                  // the last attempt's error; empty after a success
  std::optional<int64_t> updated_ms;  // when the dashboard stored it

  friend bool operator==(const RunRecord&, const RunRecord&) = default;
};

nlohmann::ordered_json ToJson(const RunRecord& run);
// A run document: "minute" and "state" are required, "attempts", "error" and
// "updated_ms" optional. Invalid, naming the first field that is wrong, otherwise.
Result<RunRecord> ParseRunRecord(const nlohmann::ordered_json& doc);

}  // namespace pfad::events
