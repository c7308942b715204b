// schedule::EtarStage::Make: the ETAR from resolved settings, as pfad run and the demo build it.
#include "pfad/schedule/etar_stage.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "pfad/common/clock.h"
#include "pfad/gen/minute_writer.h"
#include "pfad/storage/local_store_fixture.h"

namespace pfad::schedule {
namespace {

class EtarStageTest : public storage::LocalStoreFixture {
 protected:
  EtarSettings Settings() {
    std::filesystem::create_directories(dir_ / "src");
    EtarSettings s;
    s.objects = Uri("src");
    s.schedule.state = (dir_ / "schedule.db").string();
    return s;
  }
};

TEST_F(EtarStageTest, MakesARunnableTaskWithTheOutboxOnlyWithADashboard) {
  const auto calendar = events::MinuteCalendar::Open().ValueOrDie();
  const auto minute = calendar.Parse("2025-01-15 10:00").ValueOrDie();
  gen::SyntheticMinutes spec{.first = minute, .minutes = 1, .rows = 200, .generator = {.seed = 5}};
  ASSERT_TRUE(gen::WriteSyntheticMinutes({.target = Uri("src"), .store = store_}, calendar, spec).ok());

  auto settings = Settings();
  settings.schedule.dashboard_url = "";
  settings.start = "2025-01-15 09:58";
  int engines_opened = 0;
  settings.open_engine = [&]() -> Result<std::shared_ptr<const analyze::EventCounter>> {
    ++engines_opened;
    return std::shared_ptr<const analyze::EventCounter>();  // local
  };
  auto stage = EtarStage::Make(std::move(settings), DefaultClock());
  ASSERT_TRUE(stage.ok()) << stage.status().ToString();
  EXPECT_EQ(engines_opened, 1);
  EXPECT_EQ(stage->outbox, nullptr);
  EXPECT_EQ(stage->RunReporter(), nullptr);
  EXPECT_TRUE(stage->config.options.catchup);
  EXPECT_EQ(stage->config.options.start_ms, calendar.Parse("2025-01-15 09:58").ValueOrDie().start_ms);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "schedule.db"));

  // The task analyzes the minute and scores it (no model: the report says why).
  ASSERT_TRUE(stage->task(minute).ok());
  auto report = analyze::ParseReport(store_->Get(Uri("src/2025-01-15_10-00.json")).ValueOrDie()).ValueOrDie();
  const auto& r = std::get<analyze::MinuteReport>(report);
  EXPECT_EQ(r.counts.total_events, 200);
  ASSERT_TRUE(r.fraud.has_value());
  EXPECT_EQ(r.fraud->state, analyze::FraudSection::State::kNotRun);

  // No announcements topic: nothing to follow.
  MinuteScheduler scheduler(stage->config.Options(), stage->calendar, DefaultClock(), *stage->runs,
                            stage->task);
  auto following = stage->FollowAnnouncements(scheduler);
  ASSERT_TRUE(following.ok()) << following.status().ToString();
  EXPECT_EQ(*following, nullptr);

  auto with_dashboard = Settings();
  with_dashboard.schedule.state = (dir_ / "with-dashboard.db").string();
  with_dashboard.schedule.dashboard_url = "http://127.0.0.1:9/";
  auto reporting = EtarStage::Make(std::move(with_dashboard), DefaultClock());
  ASSERT_TRUE(reporting.ok()) << reporting.status().ToString();
  EXPECT_NE(reporting->outbox, nullptr);
  EXPECT_NE(reporting->RunReporter(), nullptr);
}

TEST_F(EtarStageTest, FailsBeforeAnythingRunsOnAMissingDirectoryOrNoState) {
  auto missing = Settings();
  missing.objects = Uri("nope/deeper");
  bool engine_opened = false;
  missing.open_engine = [&]() -> Result<std::shared_ptr<const analyze::EventCounter>> {
    engine_opened = true;
    return std::shared_ptr<const analyze::EventCounter>();
  };
  const auto stage = EtarStage::Make(std::move(missing), DefaultClock());
  ASSERT_FALSE(stage.ok());
  EXPECT_TRUE(stage.status().IsIOError()) << stage.status().ToString();
  EXPECT_FALSE(engine_opened);  // the store is checked before an engine (a Spark session) is opened

  auto no_state = Settings();
  no_state.schedule.state.clear();
  EXPECT_TRUE(EtarStage::Make(std::move(no_state), DefaultClock()).status().IsInvalid());

  auto bad_start = Settings();
  bad_start.start = "yesterday";
  EXPECT_FALSE(EtarStage::Make(std::move(bad_start), DefaultClock()).ok());
}

}  // namespace
}  // namespace pfad::schedule
