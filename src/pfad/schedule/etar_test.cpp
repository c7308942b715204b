#include "pfad/schedule/etar.h"

#include <gtest/gtest.h>

#include "pfad/common/clock.h"
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

TEST_F(EtarTest, TheExtractStepRunsFirstAndTheAnalysisReadsWhatItWrote) {
  const auto calendar = events::MinuteCalendar::Open().ValueOrDie();
  const auto minute = calendar.Parse("2025-01-15 10:00").ValueOrDie();
  const auto empty = calendar.Parse("2025-01-15 10:01").ValueOrDie();
  std::vector<std::string> extracted;
  EtarOptions options;
  options.source = Uri("objects");
  // Stands in for an export: writes the 10:00 object, nothing for 10:01.
  options.extract = [&](const events::Minute& m, const std::shared_ptr<storage::ObjectStore>& store,
                        const storage::ObjectUri& objects) -> Status {
    extracted.push_back(m.Name() + " -> " + objects.ToString());
    if (m.start_ms != minute.start_ms) return Status::OK();
    gen::SyntheticMinutes spec{.first = m, .minutes = 1, .rows = 300, .generator = {.seed = 5}};
    return gen::WriteSyntheticMinutes({.target = objects, .store = store}, calendar, spec).status();
  };
  const auto task = MakeEtarTask(options, store_);

  ASSERT_TRUE(task(minute).ok());
  ASSERT_TRUE(task(empty).ok());
  EXPECT_EQ(extracted, (std::vector<std::string>{"2025-01-15_10-00 -> " + Uri("objects").ToString(),
                                                 "2025-01-15_10-01 -> " + Uri("objects").ToString()}));
  auto report =
      analyze::ParseReport(store_->Get(Uri("objects/2025-01-15_10-00.json")).ValueOrDie()).ValueOrDie();
  EXPECT_EQ(std::get<analyze::MinuteReport>(report).counts.total_events, 300);
  EXPECT_EQ(store_->Get(Uri("objects/2025-01-15_10-01.json")).ValueOrDie(),
            analyze::ToJson(analyze::NoDataReport{"2025-01-15_10-01"}));
}

TEST_F(EtarTest, AClickHouseThatIsDownFailsTheRunWithItsReasonAndWritesNoReport) {
  const auto calendar = events::MinuteCalendar::Open().ValueOrDie();
  const auto minute = calendar.Parse("2025-01-15 10:00").ValueOrDie();
  // An object already there (say, from the ingester) is not reported as if it were ClickHouse's.
  gen::SyntheticMinutes spec{.first = minute, .minutes = 1, .rows = 50, .generator = {.seed = 6}};
  ASSERT_TRUE(gen::WriteSyntheticMinutes({.target = Uri("objects"), .store = store_}, calendar, spec).ok());
  ManualClock clock;
  warehouse::ClickHouseConfig config;
  config.url = "http://127.0.0.1:1/pfad";  // nothing listens on port 1
  config.max_attempts = 2;
  EtarOptions options;
  options.source = Uri("objects");
  options.extract = ExportFromClickHouse(warehouse::ClickHouseClient::Make(config, clock).ValueOrDie());

  const Status st = MakeEtarTask(options, store_)(minute);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.IsIOError());
  EXPECT_NE(st.message().find(
                "export of 2025-01-15_10-00 from ClickHouse failed: ClickHouse at http://127.0.0.1:1/ "
                "is unreachable after 2 attempts"),
            std::string::npos)
      << st.message();
  EXPECT_FALSE(store_->Stat(Uri("objects/2025-01-15_10-00.json")).ValueOrDie().exists);
}

TEST_F(EtarTest, PostReportObjectReadsTheReportBeforePostingIt) {
  // Nothing listens on port 1: a report that gets as far as posting fails there.
  const DashboardTarget dashboard{.url = "http://127.0.0.1:1"};
  const auto missing = PostReportObject(dashboard, Uri("2025-01-15_10-00.json"), storage::StorageConfig{});
  EXPECT_TRUE(missing.IsIOError()) << missing;
  EXPECT_NE(missing.message().find("2025-01-15_10-00.json"), std::string::npos) << missing;

  ASSERT_TRUE(store_->Put(Uri("bad.json"), R"({"not":"a report"})").ok());
  const auto bad = PostReportObject(dashboard, Uri("bad.json"), storage::StorageConfig{});
  EXPECT_TRUE(bad.IsInvalid()) << bad;

  ASSERT_TRUE(
      store_->Put(Uri("2025-01-15_11-00.json"), R"({"report":"No data for 2025-01-15_11-00."})").ok());
  const auto unreachable =
      PostReportObject(dashboard, Uri("2025-01-15_11-00.json"), storage::StorageConfig{});
  EXPECT_TRUE(unreachable.IsIOError()) << unreachable;
  EXPECT_NE(unreachable.message().find("127.0.0.1:1"), std::string::npos) << unreachable;
}

}  // namespace
}  // namespace pfad::schedule
