#include "pfad/events/run_record.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace pfad::events {
namespace {

using Json = nlohmann::ordered_json;

TEST(RunRecord, StatesKeepTheirWireSpelling) {
  for (const auto state : {RunState::kQueued, RunState::kRunning, RunState::kSuccess, RunState::kFailed}) {
    EXPECT_EQ(ParseRunState(ToString(state)).ValueOrDie(), state);
  }
  EXPECT_EQ(ToString(RunState::kFailed), "failed");
  EXPECT_TRUE(ParseRunState("maybe").status().IsInvalid());
  EXPECT_TRUE(IsEnded(RunState::kSuccess));
  EXPECT_TRUE(IsEnded(RunState::kFailed));
  EXPECT_FALSE(IsEnded(RunState::kQueued));
  EXPECT_FALSE(IsEnded(RunState::kRunning));
}

TEST(RunRecord, WhatTheSchedulerPostsIsWhatTheDashboardReads) {
  const RunRecord run{.minute = "2025-01-15_10-00",
                      .start_ms = 1736922600000,
                      .state = RunState::kFailed,
                      .attempts = 2,
                      .error = "store down"};
  const Json doc = ToJson(run);
  EXPECT_EQ(doc.dump(),
            R"({"minute":"2025-01-15_10-00","state":"failed","attempts":2,"error":"store down"})");
  auto parsed = ParseRunRecord(Json::parse(doc.dump())).ValueOrDie();
  EXPECT_EQ(parsed.minute, run.minute);
  EXPECT_EQ(parsed.state, RunState::kFailed);
  EXPECT_EQ(parsed.attempts, 2);
  EXPECT_EQ(parsed.error, "store down");
  EXPECT_EQ(parsed.start_ms, 0) << "start_ms is not on the wire";
  parsed.updated_ms = 7;
  EXPECT_EQ(ToJson(parsed)["updated_ms"], 7);
}

TEST(RunRecord, AttemptsAndErrorMayBeLeftOut) {
  const auto run =
      ParseRunRecord(Json::parse(R"({"minute": "2025-01-15_10-01", "state": "success"})")).ValueOrDie();
  EXPECT_EQ(run.attempts, 0);
  EXPECT_EQ(run.error, "");
  EXPECT_FALSE(run.updated_ms.has_value());
}

TEST(RunRecord, WrongShapesAreInvalid) {
  for (const char* text : {R"([])", R"({"state": "success"})", R"({"minute": 1, "state": "success"})",
                           R"({"minute": "x", "state": "maybe"})", R"({"minute": "x"})",
                           R"({"minute": "x", "state": "failed", "attempts": "2"})",
                           R"({"minute": "x", "state": "failed", "error": 3})"}) {
    EXPECT_TRUE(ParseRunRecord(Json::parse(text)).status().IsInvalid()) << text;
  }
}

}  // namespace
}  // namespace pfad::events
