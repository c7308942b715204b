#include "pfad/labels/reviews.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "pfad/labels/label_store.h"
#include "pfad/storage/local_store_fixture.h"

namespace pfad::labels {
namespace {

constexpr int64_t kT0 = 1736922600000;  // 2025-01-15 06:30 UTC
constexpr const char* kUser = "0f8fad5b-d9cb-469f-a165-70867728950e";

std::string ReviewJson(int64_t id, std::string_view verdict = "fraud", std::string_view kind = "user") {
  return fmt::format(
      R"({{"id":{},"entity_kind":"{}","entity_id":"{}","verdict":"{}","note":"n","reviewed_ms":{},)"
      R"("first_ms":{},"last_ms":{},"minute":"2025-01-15_10-00"}})",
      id, kind, kUser, verdict, kT0 + 1000 * id, kT0, kT0 + 60'000);
}

std::string PageJson(const std::vector<std::string>& reviews) {
  std::string body = R"({"reviews":[)";
  for (size_t i = 0; i < reviews.size(); ++i) body += (i ? "," : "") + reviews[i];
  return body + "]}";
}

const events::MinuteCalendar& Calendar() {
  static const auto calendar = events::MinuteCalendar::Open().ValueOrDie();
  return calendar;
}

TEST(ReviewPage, EachReviewIsALabelWithItsRef) {
  const auto page =
      ParseReviewPage(PageJson({ReviewJson(3), ReviewJson(5, "not_fraud", "session")}), Calendar())
          .ValueOrDie();
  ASSERT_EQ(page.records.size(), 2u);
  EXPECT_EQ(page.reviews, 2u);
  EXPECT_EQ(page.first_id, 3);
  EXPECT_EQ(page.last_id, 5);
  const auto& fraud = page.records[0];
  EXPECT_EQ(fraud.label.kind, events::EntityKind::kUser);
  EXPECT_EQ(fraud.label.entity_id.ToString(), kUser);
  EXPECT_EQ(fraud.label.scenario, events::Scenario::kFraud);
  EXPECT_EQ(fraud.label.first_ms, kT0);
  EXPECT_EQ(fraud.label.last_ms, kT0 + 60'000);
  EXPECT_EQ(fraud.source, "review");
  EXPECT_EQ(fraud.labelled_at, kT0 + 3000);
  EXPECT_EQ(fraud.ref, "review/3");
  EXPECT_EQ(page.records[1].label.kind, events::EntityKind::kSession);
  EXPECT_EQ(page.records[1].label.scenario, events::Scenario::kNotFraud);
}

TEST(ReviewPage, RefusesABadReviewButCountsItsId) {
  const auto page =
      ParseReviewPage(PageJson({ReviewJson(1, "maybe"), ReviewJson(2, "fraud", "product"), ReviewJson(4)}),
                      Calendar())
          .ValueOrDie();
  ASSERT_EQ(page.records.size(), 1u);
  EXPECT_EQ(page.records[0].ref, "review/4");
  ASSERT_EQ(page.refused.size(), 2u);
  EXPECT_NE(page.refused[0].find("review 1: unknown verdict 'maybe'"), std::string::npos) << page.refused[0];
  EXPECT_EQ(page.first_id, 1);
  EXPECT_EQ(page.last_id, 4);
}

TEST(ReviewPage, WithoutTheEntitysTimesTheLabelSpansItsMinuteElseTheReviewTime) {
  const std::string unknown_times =
      R"({"id":1,"entity_kind":"user","entity_id":"0f8fad5b-d9cb-469f-a165-70867728950e",)"
      R"("verdict":"fraud","note":"","reviewed_ms":1736930000000,"first_ms":null,)"
      R"("last_ms":null,"minute":"2025-01-15_10-05"})";
  std::string no_minute = unknown_times;
  no_minute.replace(no_minute.find("2025-01-15_10-05"), 16, "");
  const auto page = ParseReviewPage(PageJson({unknown_times}), Calendar()).ValueOrDie();
  ASSERT_EQ(page.records.size(), 1u);
  EXPECT_EQ(page.records[0].label.first_ms, kT0 + 5 * 60'000);  // 10:05 Tehran
  EXPECT_EQ(page.records[0].label.last_ms, kT0 + 6 * 60'000 - 1);
  const auto bare = ParseReviewPage(PageJson({no_minute}), Calendar()).ValueOrDie();
  ASSERT_EQ(bare.records.size(), 1u);
  EXPECT_EQ(bare.records[0].label.first_ms, 1736930000000);
  EXPECT_EQ(bare.records[0].label.last_ms, 1736930000000);
}

TEST(ReviewPage, RefusesAnotherShapeOrOrder) {
  EXPECT_TRUE(ParseReviewPage("not json", Calendar()).status().IsInvalid());
  EXPECT_TRUE(ParseReviewPage(R"({"items":[]})", Calendar()).status().IsInvalid());
  EXPECT_TRUE(ParseReviewPage(PageJson({ReviewJson(5), ReviewJson(4)}), Calendar()).status().IsInvalid());
  EXPECT_TRUE(ParseReviewPage(R"({"reviews":[{"verdict":"fraud"}]})", Calendar()).status().IsInvalid());
  EXPECT_EQ(ParseReviewPage(R"({"reviews":[]})", Calendar()).ValueOrDie().reviews, 0u);
}

TEST(ReviewStems, NameTheIdsAndGiveWhereToResume) {
  EXPECT_EQ(ReviewStem(1, 1000), "review-000000000001-000000001000");
  const std::vector<std::string> stems = {"kafka-0-00000000000000000099", ReviewStem(1, 1000),
                                          ReviewStem(1001, 1003), "review-garbage", "gen-x"};
  EXPECT_EQ(LastReviewId(stems), 1003);
  EXPECT_EQ(LastReviewId({}), 0);
}

// Serves the reviews after an id from a list, or fails while `down`.
class FakeDashboard final : public ReviewSource {
 public:
  Result<std::string> Page(int64_t after, int limit) override {
    asked.push_back(after);
    if (down) return Status::IOError("connection refused");
    std::vector<std::string> page;
    for (int64_t id : ids) {
      if (id > after && static_cast<int>(page.size()) < limit) page.push_back(ReviewJson(id));
    }
    return PageJson(page);
  }
  [[nodiscard]] std::string Name() const override { return "fake"; }

  std::vector<int64_t> ids;
  std::vector<int64_t> asked;
  bool down = false;
};

class ReviewPollerTest : public storage::LocalStoreFixture {};

TEST_F(ReviewPollerTest, TakesEveryPageOnceAndResumesFromTheStems) {
  const auto prefix = Uri("labels");
  FakeDashboard dashboard;
  for (int64_t id = 1; id <= 1500; ++id) dashboard.ids.push_back(id);
  ManualClock clock(1000);
  ReviewPoller poller(dashboard, *store_, prefix, clock, std::chrono::milliseconds(2000));
  ASSERT_TRUE(poller.Resume().ok());
  EXPECT_EQ(poller.last_id(), 0);
  ASSERT_TRUE(poller.Due());
  ASSERT_TRUE(poller.Poll().ok());
  EXPECT_EQ(poller.taken(), 1500);
  EXPECT_EQ(poller.last_id(), 1500);
  EXPECT_EQ(dashboard.asked, (std::vector<int64_t>{0, 1000}));  // the second page was short
  EXPECT_FALSE(poller.Due());
  const auto stems = ListLabelStems(*store_, prefix).ValueOrDie();
  EXPECT_EQ(stems, (std::vector<std::string>{ReviewStem(1, 1000), ReviewStem(1001, 1500)}));

  // A dashboard that cannot be reached is retried at the next poll; nothing is skipped.
  dashboard.ids.push_back(1501);
  dashboard.down = true;
  clock.Advance(2000);
  EXPECT_TRUE(poller.Poll().IsIOError());
  EXPECT_EQ(poller.last_id(), 1500);

  // A restart resumes after the last stored id.
  dashboard.down = false;
  ReviewPoller restarted(dashboard, *store_, prefix, clock, std::chrono::milliseconds(2000));
  ASSERT_TRUE(restarted.Resume().ok());
  EXPECT_EQ(restarted.last_id(), 1500);
  ASSERT_TRUE(restarted.Poll().ok());
  EXPECT_EQ(restarted.taken(), 1);
  const auto all = ReadLabelRecords(*store_, prefix, kT0, kT0 + 60'000).ValueOrDie();
  ASSERT_EQ(all.size(), 1501u);
  EXPECT_EQ(all.back().ref, "review/1501");
}

}  // namespace
}  // namespace pfad::labels
