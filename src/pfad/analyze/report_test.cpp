#include "pfad/analyze/report.h"

#include <gtest/gtest.h>

namespace pfad::analyze {
namespace {

TEST(Report, SerialisesInTheReferenceShapeAndOrder) {
  MinuteReport r;
  r.counts.total_events = 3;
  r.counts.total_errors = 1;
  r.counts.by_event_type["SEARCH"] = {1, 0};
  r.counts.by_event_type["ADD_TO_CART"] = {1, 1};
  r.process_time = 0.5;
  r.file_name = "2025-01-15_10-00.json";
  EXPECT_EQ(
      ToJson(r),
      R"({"report":{"total_events":3,"total_errors":1,"by_event_type":{"ADD_TO_CART":{"SUCCESS":1,"ERROR":1},)"
      R"("SEARCH":{"SUCCESS":1,"ERROR":0}},"process_time":0.5,"file_name":"2025-01-15_10-00.json"}})");
}

TEST(Report, EmptyMinuteHasAnEmptyObject) {
  MinuteReport r;
  r.file_name = "x.json";
  EXPECT_NE(ToJson(r).find(R"("by_event_type":{})"), std::string::npos);
}

TEST(Report, RoundTripsBothForms) {
  MinuteReport r;
  r.counts.total_events = 20;
  r.counts.total_errors = 3;
  r.counts.by_event_type["PAYMENT"] = {17, 3};
  r.file_name = "a.json";
  auto parsed = ParseReport(ToJson(r)).ValueOrDie();
  EXPECT_EQ(std::get<MinuteReport>(parsed).counts, r.counts);
  auto no_data = ParseReport(ToJson(NoDataReport{"2025-01-15_11-00"})).ValueOrDie();
  EXPECT_EQ(std::get<NoDataReport>(no_data).stem, "2025-01-15_11-00");
}

TEST(Report, RejectsOtherDocuments) {
  for (const char* text : {"", "[]", "{}", R"({"report": 5})", R"({"report": "hello"})",
                           R"({"report": {"total_events": "x"}})", "{\"report\": {"}) {
    EXPECT_TRUE(ParseReport(text).status().IsInvalid()) << text;
  }
}

FraudSection ScoredSection() {
  FraudSection f;
  f.state = FraudSection::State::kScored;
  f.model = "trees_graph v1";
  f.window = {10, 2, 500, "2026-12-02_10-01", "2026-12-02_10-02"};
  f.threshold[0] = 0.5;
  f.threshold[1] = 0.7;
  f.scored[0] = 40;
  f.scored[1] = 60;
  f.flagged[0] = 2;
  f.flagged[1] = 3;
  f.new_alerts = 4;
  f.histogram[0] = {38, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  f.histogram[1] = {57, 0, 0, 0, 0, 0, 0, 0, 0, 3};
  f.top = {{"user", "u1", 0.98, true, "a=1; b=2"}, {"session", "s1", 0.9, true, "c=3"}};
  f.scoring_ms = 12;
  return f;
}

TEST(Report, FraudObjectIsAdditiveAndRoundTrips) {
  MinuteReport r;
  r.counts.total_events = 5;
  r.file_name = "2026-12-02_10-02.json";
  const std::string without = ToJson(r);
  r.fraud = ScoredSection();
  const std::string with = ToJson(r);
  // Everything a reference client reads is unchanged; "fraud" comes last.
  EXPECT_EQ(with.substr(0, without.size() - 2), without.substr(0, without.size() - 2));
  EXPECT_NE(
      with.find(
          R"(,"fraud":{"status":"scored","model":"trees_graph v1","window":{"minutes":10,"objects":2,)"
          R"("events":500,"first":"2026-12-02_10-01","last":"2026-12-02_10-02"},"threshold":{"user":0.5,)"
          R"("session":0.7},"scored":{"user":40,"session":60},"flagged":{"user":2,"session":3},)"
          R"("new_alerts":4,"histogram":{"bins":10,"user":[38,0,0,0,0,0,0,0,0,2],)"),
      std::string::npos)
      << with;
  auto parsed = ParseReport(with).ValueOrDie();
  EXPECT_EQ(std::get<MinuteReport>(parsed).fraud, r.fraud);
}

TEST(Report, FraudNotRunCarriesOnlyTheReason) {
  MinuteReport r;
  r.fraud = FraudSection{};
  r.fraud->reason = "no fraud model configured";
  const std::string json = ToJson(r);
  EXPECT_NE(json.find(R"("fraud":{"status":"not_run","reason":"no fraud model configured","new_alerts":0,)"
                      R"("scoring_ms":0}})"),
            std::string::npos)
      << json;
  auto parsed = ParseReport(json).ValueOrDie();
  EXPECT_EQ(std::get<MinuteReport>(parsed).fraud, r.fraud);
  EXPECT_TRUE(ParseReport(R"({"report":{"total_events":0,"total_errors":0,"by_event_type":{},)"
                          R"("fraud":{"status":"maybe"}}})")
                  .status()
                  .IsInvalid());
}

// Found in review while writing the report fuzz target (which reproduces it under UBSan):
// a count written as a float was cast to an integer, undefined for 1e300, truncating 2.5.
TEST(Report, CountsMustBeIntegersThatFit) {
  const auto report = [](const std::string& total, const std::string& minutes = "10") {
    return R"({"report":{"total_events":)" + total +
           R"(,"total_errors":0,"by_event_type":{},"fraud":{"status":"scored","model":"m","window":{"minutes":)" +
           minutes +
           R"(,"objects":1,"events":1,"first":"a","last":"b"},"threshold":{"user":0.5,"session":0.5},)"
           R"("scored":{"user":1,"session":1},"flagged":{"user":0,"session":0},"new_alerts":0,)"
           R"("histogram":{"bins":1,"user":[1],"session":[1]},"top":[],"scoring_ms":3}}})";
  };
  EXPECT_TRUE(ParseReport(report("7")).ok()) << ParseReport(report("7")).status().ToString();
  for (const char* bad : {"1e300", "2.5", "-1e300", "18446744073709551615"}) {
    EXPECT_TRUE(ParseReport(report(bad)).status().IsInvalid()) << bad;
  }
  EXPECT_TRUE(ParseReport(report("7", "4294967296")).status().IsInvalid());
  EXPECT_TRUE(ParseReport(report("7", "1.5e10")).status().IsInvalid());
}

}  // namespace
}  // namespace pfad::analyze
