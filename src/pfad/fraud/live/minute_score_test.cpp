// OpenMinuteToScore and ScoreMinuteToScore on a local store: the checks before
// scoring, the "No data" report, and where a section that did not run goes.
#include "pfad/fraud/live/minute_score.h"

#include <gtest/gtest.h>

#include "pfad/analyze/analyze.h"
#include "pfad/analyze/report_object.h"
#include "pfad/fraud/testing.h"
#include "pfad/gen/minute_writer.h"
#include "pfad/storage/local_store_fixture.h"

namespace pfad::fraud {
namespace {

class MinuteScoreTest : public storage::LocalStoreFixture {
 protected:
  // One generated minute in `dir`, analyzed (its report beside it).
  storage::ObjectUri Minute(const std::string& dir) {
    const auto calendar = events::MinuteCalendar::Open().ValueOrDie();
    gen::SyntheticMinutes spec{.first = calendar.Parse("2026-11-01 10:00").ValueOrDie(),
                               .rows = 400,
                               .generator = {.seed = 2},
                               .fraud_share = 0.1};
    EXPECT_TRUE(gen::WriteSyntheticMinutes({.target = Uri(dir), .store = store_}, calendar, spec).ok());
    const auto minute = Uri(dir + "/2026-11-01_10-00.parquet");
    EXPECT_TRUE(analyze::AnalyzeMinute(*store_, *store_, {.input = minute}).ok());
    return minute;
  }
};

TEST_F(MinuteScoreTest, ANameThatIsNotAMinuteObjectsIsInvalid) {
  const auto m = OpenMinuteToScore(Uri("w/latest.parquet"), storage::StorageConfig{}, false);
  ASSERT_TRUE(m.status().IsInvalid()) << m.status();
  EXPECT_EQ(m.status().message(),
            Uri("w/latest.parquet").ToString() + ": not a minute object (YYYY-MM-DD_HH-MM.parquet)");
}

TEST_F(MinuteScoreTest, AMissingMinuteIsAnIOError) {
  const auto missing = Uri("w/2026-11-01_10-00.parquet");
  const auto m = OpenMinuteToScore(missing, storage::StorageConfig{}, false);
  ASSERT_TRUE(m.status().IsIOError()) << m.status();
  EXPECT_EQ(m.status().message(), missing.ToString() + ": no such minute object");
}

TEST_F(MinuteScoreTest, ANoDataReportLeavesNothingToScore) {
  const auto minute = Uri("w/2026-11-01_10-00.parquet");  // never written
  std::filesystem::create_directories(dir_ / "w");
  ASSERT_TRUE(
      store_->Put(Uri("w/2026-11-01_10-00.json"), R"({"report":"No data for 2026-11-01_10-00."})").ok());
  ASSERT_OK_AND_ASSIGN(const auto m, OpenMinuteToScore(minute, storage::StorageConfig{}, true));
  EXPECT_TRUE(m.NoData());
  EXPECT_EQ(m.report_uri.ToString(), Uri("w/2026-11-01_10-00.json").ToString());
}

TEST_F(MinuteScoreTest, WithAReportASectionThatDidNotRunIsWrittenIntoIt) {
  const auto minute = Minute("w");
  ASSERT_OK_AND_ASSIGN(auto m, OpenMinuteToScore(minute, storage::StorageConfig{}, true));
  EXPECT_FALSE(m.NoData());
  LiveScorer no_model({}, nullptr);
  ASSERT_OK_AND_ASSIGN(const auto section, ScoreMinuteToScore(no_model, m));
  EXPECT_EQ(section.state, analyze::FraudSection::State::kNotRun);
  EXPECT_FALSE(section.reason.empty());
  ASSERT_OK_AND_ASSIGN(const auto report, analyze::ReadReport(*store_, m.report_uri));
  const auto& written = std::get<analyze::MinuteReport>(report);
  ASSERT_TRUE(written.fraud.has_value());
  EXPECT_EQ(written.fraud->reason, section.reason);
}

TEST_F(MinuteScoreTest, WithoutAReportASectionThatDidNotRunIsInvalid) {
  const auto minute = Minute("w");
  ASSERT_OK_AND_ASSIGN(auto m, OpenMinuteToScore(minute, storage::StorageConfig{}, false));
  EXPECT_FALSE(m.report.has_value());
  LiveScorer no_model({}, nullptr);
  const auto section = ScoreMinuteToScore(no_model, m);
  ASSERT_TRUE(section.status().IsInvalid()) << section.status();
  EXPECT_FALSE(section.status().message().empty());
  // The report analyze wrote is left as it was.
  ASSERT_OK_AND_ASSIGN(const auto report, analyze::ReadReport(*store_, m.report_uri));
  EXPECT_FALSE(std::get<analyze::MinuteReport>(report).fraud.has_value());
}

}  // namespace
}  // namespace pfad::fraud
