#include "pfad/dashboard/case_store.h"
#include "pfad/dashboard/request_body.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace pfad::dashboard {
namespace {

using Json = nlohmann::ordered_json;

// One element of report.fraud.investigations as the scorer writes it.
Json Element(const std::string& kind, const std::string& id, const std::string& minute, double score,
             bool flagged) {
  return Json{{"entity_kind", kind},
              {"entity_id", id},
              {"minute", minute},
              {"fraud_score", score},
              {"threshold", 0.5},
              {"is_fraud", flagged},
              {"model", "trees_graph v1"},
              {"first_ms", 1000},
              {"last_ms", 2000},
              {"why", Json::array({{{"feature", "error_rate"}, {"text", "payment errors 0.95"}}})},
              {"events", Json::array()},
              {"neighbours", {{"nodes", Json::array()}, {"links", Json::array()}}}};
}

std::string Post(const Json& investigations) {
  return Json{{"report",
               {{"file_name", "2025-01-15_10-05.json"},
                {"fraud", {{"status", "scored"}, {"investigations", investigations}}}}}}
      .dump();
}

struct Stores {
  std::unique_ptr<ReportStore> reports;
  std::unique_ptr<CaseStore> cases;

  // Stores a POST /report body as the server's commit round does.
  void Commit(const std::string& body, int64_t now, int64_t keep_since = 0) {
    auto post = ReportDocument(body, 64).ValueOrDie();
    ASSERT_TRUE(reports
                    ->AddAll({post.document}, now,
                             [&](SqliteDb& db) {
                               return CaseStore::AddWithin(db, post.investigations, now, keep_since);
                             })
                    .ok());
  }
};

Stores Open(const std::string& path = ":memory:") {
  auto reports = ReportStore::Open(path).ValueOrDie();
  auto cases = CaseStore::Open(reports->database()).ValueOrDie();
  return {std::move(reports), std::move(cases)};
}

TEST(ReportDocument, TakesInvestigationsOutOfTheReportAndSkipsInvalidOnes) {
  const auto post = ReportDocument(Post(Json::array({Element("session", "s1", "2025-01-15_10-05", 0.97, true),
                                                     Json{{"entity_kind", "product"}, {"entity_id", "p"}},
                                                     Json{{"entity_kind", "user"}, {"minute", "m"}}, 5})),
                                   64)
                        .ValueOrDie();
  ASSERT_EQ(post.investigations.size(), 1U);
  EXPECT_EQ(post.investigations[0].entity_id, "s1");
  EXPECT_EQ(post.investigations[0].fraud_score, 0.97);
  EXPECT_TRUE(post.investigations[0].is_fraud);
  EXPECT_EQ(post.skipped.size(), 3U);
  EXPECT_EQ(post.document, R"({"report":{"file_name":"2025-01-15_10-05.json","fraud":{"status":"scored"}}})");
  // Reports without investigations pass unchanged.
  EXPECT_EQ(ReportDocument(R"({"report":"No data for x."})", 64).ValueOrDie().document,
            R"({"report":"No data for x."})");
}

TEST(CaseStore, KeepsTheLatestInvestigationScoresAndAlerts) {
  auto s = Open();
  s.Commit(Post(Json::array({Element("session", "s1", "2025-01-15_10-05", 0.97, true),
                             Element("user", "u1", "2025-01-15_10-05", 0.2, false)})),
           100);
  s.Commit(Post(Json::array({Element("session", "s1", "2025-01-15_10-06", 0.91, true)})), 200);
  // The same minute again replaces its row.
  s.Commit(Post(Json::array({Element("session", "s1", "2025-01-15_10-06", 0.93, true)})), 300);
  EXPECT_EQ(s.reports->Latest().ValueOrDie()->body.find("investigations"), std::string::npos);

  const auto c = s.cases->Entity(EntityKind::kSession, "s1").ValueOrDie();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(Json::parse(*c->investigation)["fraud_score"], 0.93);
  ASSERT_EQ(c->scores.size(), 2U);
  EXPECT_EQ(c->scores[0].minute, "2025-01-15_10-05");
  EXPECT_EQ(c->scores[1].fraud_score, 0.93);
  EXPECT_EQ(c->scores[1].threshold, 0.5);
  EXPECT_FALSE(s.cases->Entity(EntityKind::kUser, "s1").ValueOrDie().has_value());

  const auto alerts = s.cases->Alerts(0, 100).ValueOrDie();
  ASSERT_EQ(alerts.size(), 1U) << "u1 is not flagged";
  EXPECT_EQ(alerts[0].entity_id, "s1");
  EXPECT_EQ(alerts[0].minute, "2025-01-15_10-06");
  EXPECT_EQ(alerts[0].reason, "payment errors 0.95");
  EXPECT_EQ(alerts[0].model, "trees_graph v1");
  EXPECT_EQ(alerts[0].received_ms, 300);
  EXPECT_TRUE(s.cases->Alerts(301, 100).ValueOrDie().empty()) << "outside the window";
}

TEST(CaseStore, RetentionDeletesOldInvestigationsButKeepsReviews) {
  auto s = Open();
  s.Commit(Post(Json::array({Element("user", "u1", "2025-01-15_10-05", 0.9, true)})), 100);
  ASSERT_TRUE(
      s.cases->AddReview(EntityKind::kUser, "u1", Verdict::kFraud, "ring", 150).ValueOrDie().has_value());
  s.Commit(Post(Json::array({Element("user", "u2", "2025-01-15_10-07", 0.9, true)})), 500,
           /*keep_since=*/200);
  const auto u1 = s.cases->Entity(EntityKind::kUser, "u1").ValueOrDie();
  ASSERT_TRUE(u1.has_value()) << "its review is kept";
  EXPECT_FALSE(u1->investigation.has_value());
  EXPECT_TRUE(u1->scores.empty());
  EXPECT_EQ(u1->reviews.size(), 1U);
  EXPECT_FALSE(s.cases->AddReview(EntityKind::kUser, "u1", Verdict::kFraud, "", 600).ValueOrDie().has_value())
      << "no investigation left to review";
  EXPECT_TRUE(s.cases->Entity(EntityKind::kUser, "u2").ValueOrDie()->investigation.has_value());
}

TEST(CaseStore, ReviewsAreAHistoryPagedByIncreasingIds) {
  auto s = Open();
  s.Commit(Post(Json::array({Element("session", "s1", "2025-01-15_10-05", 0.97, true),
                             Element("user", "u1", "2025-01-15_10-05", 0.8, true)})),
           100);
  EXPECT_FALSE(s.cases->AddReview(EntityKind::kUser, "nobody", Verdict::kFraud, "", 110).ValueOrDie());
  const auto first =
      *s.cases->AddReview(EntityKind::kSession, "s1", Verdict::kFraud, "ring", 120).ValueOrDie();
  EXPECT_EQ(first.first_ms, 1000);
  EXPECT_EQ(first.last_ms, 2000);
  EXPECT_EQ(first.minute, "2025-01-15_10-05");
  EXPECT_EQ(s.cases->Alerts(0, 100).ValueOrDie().size(), 1U) << "s1 left the queue";
  const auto second =
      *s.cases->AddReview(EntityKind::kSession, "s1", Verdict::kNotFraud, "refund", 130).ValueOrDie();
  const auto third = *s.cases->AddReview(EntityKind::kUser, "u1", Verdict::kFraud, "", 140).ValueOrDie();
  EXPECT_LT(first.id, second.id);
  EXPECT_LT(second.id, third.id);

  const auto history = s.cases->Entity(EntityKind::kSession, "s1").ValueOrDie()->reviews;
  ASSERT_EQ(history.size(), 2U);
  EXPECT_EQ(history[0].verdict, Verdict::kNotFraud) << "newest first";

  const auto ids = [&](const ReviewFilter& f) {
    std::vector<int64_t> out;
    for (const auto& r : s.cases->Reviews(f).ValueOrDie()) out.push_back(r.id);
    return out;
  };
  EXPECT_EQ(ids({}), (std::vector<int64_t>{first.id, second.id, third.id}));
  EXPECT_EQ(ids({.after = first.id}), (std::vector<int64_t>{second.id, third.id}));
  EXPECT_EQ(ids({.after = first.id, .limit = 1}), (std::vector<int64_t>{second.id}));
  EXPECT_EQ(ids({.verdict = Verdict::kFraud}), (std::vector<int64_t>{first.id, third.id}));
  EXPECT_EQ(ids({.kind = EntityKind::kSession, .entity_id = "s1"}),
            (std::vector<int64_t>{first.id, second.id}));
  EXPECT_TRUE(ids({.after = third.id}).empty());
  EXPECT_EQ(Json(first.ToJson())["verdict"], "fraud");
}

TEST(CaseStore, ReviewsSurviveReopen) {
  const auto path =
      std::filesystem::temp_directory_path() / ("pfad-cases-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  {
    auto s = Open(path.string());
    s.Commit(Post(Json::array({Element("user", "u1", "2025-01-15_10-05", 0.9, true)})), 100);
    ASSERT_TRUE(s.cases->AddReview(EntityKind::kUser, "u1", Verdict::kFraud, "x", 120).ValueOrDie());
  }
  {
    auto s = Open(path.string());
    EXPECT_EQ(s.cases->Reviews({}).ValueOrDie().size(), 1U);
    EXPECT_EQ(s.cases->AddReview(EntityKind::kUser, "u1", Verdict::kNotFraud, "", 130).ValueOrDie()->id, 2);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
}

}  // namespace
}  // namespace pfad::dashboard
