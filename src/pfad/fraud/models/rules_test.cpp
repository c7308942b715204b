#include "pfad/fraud/models/rules.h"

#include "pfad/fraud/testing.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace pfad::fraud {
namespace {

// The 25 node features of docs/FRAUD.md section 2.
const std::vector<std::string> kNodeFeatures = {"n_events",
                                                "n_view",
                                                "n_cart",
                                                "n_checkout",
                                                "n_payment",
                                                "n_search",
                                                "share_view",
                                                "share_cart",
                                                "share_checkout",
                                                "share_payment",
                                                "share_search",
                                                "n_error",
                                                "share_error",
                                                "error_codes",
                                                "error_code_diversity",
                                                "payment_error_share",
                                                "latency_mean",
                                                "latency_std",
                                                "gap_mean_ms",
                                                "gap_cv",
                                                "span_ms",
                                                "products",
                                                "products_per_event",
                                                "degree",
                                                "first_type"};

using Row = std::map<std::string, double>;

// One row per map; unnamed features are 0 (a row of zeros fires nothing).
FeatureTable Table(events::EntityKind kind, const std::vector<Row>& rows) {
  FeatureTable table;
  table.kind = kind;
  table.names = kNodeFeatures;
  for (const Row& row : rows) {
    table.ids.push_back(std::to_string(table.ids.size()));
    for (const auto& name : kNodeFeatures) {
      const auto it = row.find(name);
      table.values.push_back(it == row.end() ? 0.0 : it->second);
    }
  }
  return table;
}

uint8_t Bit(Rule rule) { return static_cast<uint8_t>(1U << static_cast<unsigned>(rule)); }

std::vector<uint8_t> Hits(events::EntityKind kind, const std::vector<Row>& rows) {
  auto hits = RuleHits(Table(kind, rows));
  EXPECT_TRUE(hits.ok()) << hits.status().ToString();
  return hits.ok() ? *hits : std::vector<uint8_t>{};
}

constexpr auto kUser = events::EntityKind::kUser;
constexpr auto kSession = events::EntityKind::kSession;

TEST(Rules, NothingFiresOnAnEmptyRow) { EXPECT_EQ(Hits(kUser, {Row{}}), std::vector<uint8_t>{0}); }

TEST(Rules, Bot) {
  const Row bot = {{"n_events", 100}, {"share_view", 0.7}, {"share_search", 0.3}, {"gap_cv", 0.006}};
  Row human = bot;
  human["gap_cv"] = 0.9;
  Row shopper = bot;
  shopper["share_view"] = 0.4;
  Row short_visit = bot;
  short_visit["n_events"] = 20;
  EXPECT_EQ(Hits(kUser, {bot, human, shopper, short_visit}),
            (std::vector<uint8_t>{Bit(Rule::kBot), 0, 0, 0}));
}

TEST(Rules, CardTesting) {
  const Row tester = {{"n_payment", 20}, {"payment_error_share", 0.8}, {"error_code_diversity", 0.25}};
  Row diverse_errors = tester;
  diverse_errors["error_code_diversity"] = 1;
  Row few_payments = tester;
  few_payments["n_payment"] = 3;
  Row mostly_paid = tester;
  mostly_paid["payment_error_share"] = 0.2;
  EXPECT_EQ(Hits(kSession, {tester, diverse_errors, few_payments, mostly_paid}),
            (std::vector<uint8_t>{Bit(Rule::kCardTesting), 0, 0, 0}));
}

TEST(Rules, AccountTakeover) {
  const Row takeover = {
      {"first_type", 2}, {"n_events", 4}, {"share_checkout", 0.25}, {"share_payment", 0.75}};
  Row starts_paying = takeover;
  starts_paying["first_type"] = 3;
  Row quick_purchase = takeover;
  quick_purchase["n_events"] = 2;
  Row browsed_too = takeover;
  browsed_too["share_payment"] = 0.5;
  browsed_too["share_view"] = 0.25;
  Row starts_viewing = takeover;
  starts_viewing["first_type"] = 0;
  EXPECT_EQ(Hits(kSession, {takeover, starts_paying, quick_purchase, browsed_too, starts_viewing}),
            (std::vector<uint8_t>{Bit(Rule::kAccountTakeover), Bit(Rule::kAccountTakeover), 0, 0, 0}));
}

TEST(Rules, CartHoarding) {
  const Row hoarder = {{"n_events", 50}, {"n_cart", 42}, {"n_checkout", 0}, {"products_per_event", 0.4}};
  Row buyer = hoarder;
  buyer["n_checkout"] = 1;
  Row many_products = hoarder;
  many_products["products_per_event"] = 0.9;
  Row few_carts = hoarder;
  few_carts["n_cart"] = 5;
  EXPECT_EQ(Hits(kUser, {hoarder, buyer, many_products, few_carts}),
            (std::vector<uint8_t>{Bit(Rule::kCartHoarding), 0, 0, 0}));
}

TEST(Rules, FraudRingOnlyForSessions) {
  const Row shared = {{"degree", 5}};
  const Row household = {{"degree", 2}};
  EXPECT_EQ(Hits(kSession, {shared, household}), (std::vector<uint8_t>{Bit(Rule::kFraudRing), 0}));
  // A user's degree counts its sessions: no ring rule for users.
  EXPECT_EQ(Hits(kUser, {shared}), std::vector<uint8_t>{0});
}

TEST(Rules, ScoreCountsTheRulesThatFire) {
  const Row bot_on_shared_device = {{"n_events", 100}, {"share_view", 1}, {"gap_cv", 0.01}, {"degree", 4}};
  ASSERT_OK_AND_ASSIGN(std::vector<double> scores,
                       RuleScores(Table(kSession, {bot_on_shared_device, Row{}})));
  EXPECT_EQ(scores, (std::vector<double>{2, 0}));
}

TEST(Rules, ColumnsFoundByNameAndMissingOnesNamed) {
  // Extra (neighbour) columns in front are ignored.
  FeatureTable table = Table(kSession, {Row{{"degree", 3}}});
  table.names.insert(table.names.begin(), "user_max_degree");
  table.values.insert(table.values.begin(), 9);
  ASSERT_OK_AND_ASSIGN(std::vector<double> scores, RuleScores(table));
  EXPECT_EQ(scores, std::vector<double>{1});

  table = Table(kUser, {Row{}});
  table.names[19] = "gap_cv_renamed";
  const Status status = RuleScores(table).status();
  EXPECT_TRUE(status.IsInvalid());
  EXPECT_NE(status.message().find("'gap_cv'"), std::string::npos) << status.ToString();
}

TEST(Rules, Names) {
  EXPECT_EQ(ToString(Rule::kBot), "bot");
  EXPECT_EQ(ToString(Rule::kFraudRing), "fraud_ring");
}

}  // namespace
}  // namespace pfad::fraud
