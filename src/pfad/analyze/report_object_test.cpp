// Reading a report object and writing it back with the fraud object (report_object.h).
#include "pfad/analyze/report_object.h"

#include <gtest/gtest.h>

#include "pfad/storage/local_store_fixture.h"

namespace pfad::analyze {
namespace {

class ReportObjectTest : public storage::LocalStoreFixture {};

MinuteReport Counted() {
  MinuteReport r;
  r.counts.total_events = 20;
  r.counts.total_errors = 3;
  r.counts.by_event_type["PAYMENT"] = {17, 3};
  r.process_time = 0.25;
  r.file_name = "2025-01-15_10-00.json";
  return r;
}

TEST_F(ReportObjectTest, AddsTheFraudObjectAndKeepsTheCounts) {
  const auto uri = Uri("2025-01-15_10-00.json");
  ASSERT_TRUE(store_->Put(uri, ToJson(Counted())).ok());
  auto report = ReadReport(*store_, uri);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  FraudSection fraud;
  fraud.state = FraudSection::State::kScored;
  fraud.model = "gnn_hetero";
  fraud.scored[0] = 7;
  fraud.flagged[0] = 2;
  ASSERT_TRUE(WriteWithFraud(*store_, uri, *report, fraud).ok());

  auto stored = ReadReport(*store_, uri);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  const auto& minute = std::get<MinuteReport>(*stored);
  EXPECT_EQ(minute.counts, Counted().counts);
  EXPECT_EQ(minute.file_name, "2025-01-15_10-00.json");
  ASSERT_TRUE(minute.fraud.has_value());
  EXPECT_EQ(*minute.fraud, fraud);
  // What was written is what the caller holds.
  EXPECT_EQ(std::get<MinuteReport>(*report).fraud, fraud);
}

TEST_F(ReportObjectTest, ANoDataReportGetsNoFraudObject) {
  const auto uri = Uri("2025-01-15_11-00.json");
  const std::string no_data = ToJson(NoDataReport{"2025-01-15_11-00"});
  ASSERT_TRUE(store_->Put(uri, no_data).ok());
  auto report = ReadReport(*store_, uri);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const Status st = WriteWithFraud(*store_, uri, *report, FraudSection{});
  EXPECT_TRUE(st.IsInvalid()) << st.ToString();
  EXPECT_EQ(store_->Get(uri).ValueOrDie(), no_data);
}

TEST_F(ReportObjectTest, ANonReportIsInvalidAndNamed) {
  const auto uri = Uri("2025-01-15_12-00.json");
  ASSERT_TRUE(store_->Put(uri, R"({"not":"a report"})").ok());
  const auto report = ReadReport(*store_, uri);
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(report.status().IsInvalid());
  EXPECT_NE(report.status().message().find(uri.ToString()), std::string::npos) << report.status().message();
  EXPECT_TRUE(ReadReport(*store_, Uri("missing.json")).status().IsIOError());
}

}  // namespace
}  // namespace pfad::analyze
