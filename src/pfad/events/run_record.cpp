#include "pfad/events/run_record.h"

#include <nlohmann/json.hpp>

#include <array>
#include <utility>

namespace pfad::events {
namespace {

constexpr std::array<std::pair<RunState, std::string_view>, 4> kStates{{
    {RunState::kQueued, "queued"},
    {RunState::kRunning, "running"},
    {RunState::kSuccess, "success"},
    {RunState::kFailed, "failed"},
}};

}  // namespace

std::string_view ToString(RunState state) {
  for (const auto& [s, text] : kStates) {
    if (s == state) return text;
  }
  return "unknown";
}

Result<RunState> ParseRunState(std::string_view text) {
  for (const auto& [s, name] : kStates) {
    if (name == text) return s;
  }
  return Status::Invalid("unknown run state '", text, "' (queued, running, success or failed)");
}

bool IsEnded(RunState state) { return state == RunState::kSuccess || state == RunState::kFailed; }

nlohmann::ordered_json ToJson(const RunRecord& run) {
  nlohmann::ordered_json doc{{"minute", run.minute},
                             {"state", ToString(run.state)},
                             {"attempts", run.attempts},
                             {"error", run.error}};
  if (run.updated_ms) doc["updated_ms"] = *run.updated_ms;
  return doc;
}

Result<RunRecord> ParseRunRecord(const nlohmann::ordered_json& doc) {
  if (!doc.is_object()) return Status::Invalid("a run must be a JSON object");
  const auto field = [&](const char* key) { return doc.find(key); };
  RunRecord run;
  const auto minute = field("minute");
  if (minute == doc.end() || !minute->is_string())
    return Status::Invalid("a run needs \"minute\" (a string)");
  run.minute = minute->get<std::string>();
  const auto state = field("state");
  if (state == doc.end() || !state->is_string()) return Status::Invalid("a run needs \"state\" (a string)");
  PFAD_ASSIGN_OR_RAISE(run.state, ParseRunState(state->get<std::string>()));
  if (const auto attempts = field("attempts"); attempts != doc.end()) {
    if (!attempts->is_number_integer()) return Status::Invalid("a run's \"attempts\" must be an integer");
    run.attempts = attempts->get<int>();
  }
  if (const auto error = field("error"); error != doc.end()) {
    if (!error->is_string()) return Status::Invalid("a run's \"error\" must be a string");
    run.error = error->get<std::string>();
  }
  if (const auto updated = field("updated_ms"); updated != doc.end()) {
    if (!updated->is_number_integer()) return Status::Invalid("a run's \"updated_ms\" must be an integer");
    run.updated_ms = updated->get<int64_t>();
  }
  return run;
}

}  // namespace pfad::events
