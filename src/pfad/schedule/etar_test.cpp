#include "pfad/schedule/etar.h"

#include <gtest/gtest.h>

#include "pfad/gen/minute_writer.h"
#include "pfad/storage/local_store_fixture.h"

namespace pfad::schedule {
namespace {

class EtarTest : public storage::LocalStoreFixture {};

TEST_F(EtarTest, TheReportObjectCarriesTheFraudObjectAndANoDataMinuteStaysPlain) {
  const auto calendar = events::MinuteCalendar::Open().ValueOrDie();
  const auto minute = calendar.Parse("2025-01-15 10:00").ValueOrDie();
  gen::SyntheticMinutes spec{.first = minute, .minutes = 1, .rows = 500, .generator = {.seed = 3}};
  ASSERT_TRUE(gen::WriteSyntheticMinutes({.target = Uri("src"), .store = store_}, calendar, spec).ok());
  EtarOptions options;
  options.source = Uri("src");
  options.fraud = std::make_shared<fraud::LiveScorer>(fraud::FraudConfig{}, nullptr);  // no model
  const auto task = MakeEtarTask(options, store_);

  ASSERT_TRUE(task(minute).ok());
  auto report = analyze::ParseReport(store_->Get(Uri("src/2025-01-15_10-00.json")).ValueOrDie()).ValueOrDie();
  const auto& r = std::get<analyze::MinuteReport>(report);
  EXPECT_EQ(r.counts.total_events, 500);
  ASSERT_TRUE(r.fraud.has_value());
  EXPECT_EQ(r.fraud->state, analyze::FraudSection::State::kNotRun);
  EXPECT_NE(r.fraud->reason.find("no fraud model configured"), std::string::npos);

  const auto empty = calendar.Parse("2025-01-15 10:01").ValueOrDie();
  ASSERT_TRUE(task(empty).ok());
  EXPECT_EQ(store_->Get(Uri("src/2025-01-15_10-01.json")).ValueOrDie(),
            analyze::ToJson(analyze::NoDataReport{"2025-01-15_10-01"}));

  // Without a scorer, the report is exactly the analysis's.
  options.fraud = nullptr;
  ASSERT_TRUE(MakeEtarTask(options, store_)(minute).ok());
  auto plain = analyze::ParseReport(store_->Get(Uri("src/2025-01-15_10-00.json")).ValueOrDie()).ValueOrDie();
  EXPECT_FALSE(std::get<analyze::MinuteReport>(plain).fraud.has_value());
}

}  // namespace
}  // namespace pfad::schedule
