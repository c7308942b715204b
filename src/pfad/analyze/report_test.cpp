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
  EXPECT_EQ(ToJson(r),
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

}  // namespace
}  // namespace pfad::analyze
