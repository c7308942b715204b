// The Spark fraud-feature engine's query text and result conversion, without
// Spark (tests/integration/test_fraud_spark.py runs the query on the real one).
#include "pfad/spark/fraud_features.h"
#include "pfad/fraud/graph/graph_features.h"

#include <arrow/api.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pfad::spark {
namespace {

using events::EntityKind;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

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
const std::vector<std::string> kProductFeatures = {"p_events", "p_users", "p_sessions", "p_share_cart"};

std::vector<std::string> Expected(const std::string& neighbour) {
  std::vector<std::string> names = kNodeFeatures;
  for (const std::string stat : {"mean", "max"}) {
    for (const auto& f : kNodeFeatures) names.push_back(neighbour + "_" + stat + "_" + f);
  }
  for (const std::string stat : {"mean", "max"}) {
    for (const auto& f : kProductFeatures) names.push_back("product_" + stat + "_" + f);
  }
  return names;
}

TEST(GraphFeatureNames, AreFraudMdsColumnsInOrder) {
  const auto users = fraud::GraphFeatureNames(EntityKind::kUser);
  EXPECT_EQ(users.size(), 83u);
  EXPECT_THAT(users, ElementsAreArray(Expected("session")));
  EXPECT_EQ(users[25], "session_mean_n_events");
  EXPECT_EQ(users[50 + 23], "session_max_degree");
  EXPECT_EQ(users[75 + 1], "product_mean_p_users");
  EXPECT_THAT(fraud::GraphFeatureNames(EntityKind::kSession), ElementsAreArray(Expected("user")));
}

// The output columns of the query's final SELECT, in order.
std::vector<std::string> SelectedColumns(const std::string& sql) {
  const size_t select = sql.rfind("\nSELECT ");
  const size_t from = sql.find("\nFROM ", select);
  std::vector<std::string> columns;
  std::string list = sql.substr(select + 8, from - select - 8) + ",";
  for (size_t start = 0, comma;
       (comma = list.find(",\n", start)) != std::string::npos || start < list.size();) {
    if (comma == std::string::npos) comma = list.size() - 1;
    std::string item = list.substr(start, comma - start);
    while (!item.empty() && (item.front() == '\n' || item.front() == ' ')) item.erase(0, 1);
    const size_t as = item.rfind(" AS ");
    if (as != std::string::npos) {
      item = item.substr(as + 4);
    } else if (item.starts_with("self.")) {
      item = item.substr(5);
    }
    columns.push_back(item);
    start = comma + 2;
  }
  return columns;
}

TEST(GraphFeaturesSql, SelectsEntityIdThenTheFeaturesSortedById) {
  for (const auto& [kind, neighbour] :
       {std::pair{EntityKind::kUser, "session"}, std::pair{EntityKind::kSession, "user"}}) {
    const std::string sql = GraphFeaturesSql(kind, {"file:///w/2026-11-01_10-00.parquet"});
    std::vector<std::string> expected = {"entity_id"};
    for (const auto& name : Expected(neighbour)) expected.push_back(name);
    EXPECT_THAT(SelectedColumns(sql), ElementsAreArray(expected));
    EXPECT_THAT(sql, HasSubstr("ORDER BY entity_id"));
    EXPECT_THAT(sql, HasSubstr(std::string("FROM ") + (kind == EntityKind::kUser ? "user" : "session") +
                               "_nodes self"));
    EXPECT_THAT(sql, HasSubstr("coalesce(by_product.product_max_p_users, 0D) AS product_max_p_users"));
  }
}

TEST(GraphFeaturesSql, DefinesTheSpecsTrickyFeatures) {
  const std::string sql = GraphFeaturesSql(EntityKind::kUser, {"file:///w/a.parquet"});
  EXPECT_THAT(sql, HasSubstr("unix_millis(event_timestamp) AS ts_ms"));
  EXPECT_THAT(sql, HasSubstr("lag(ts_ms) OVER (PARTITION BY user_id ORDER BY ts_ms, event_id)"));
  EXPECT_THAT(sql, HasSubstr("lag(ts_ms) OVER (PARTITION BY session_id ORDER BY ts_ms, event_id)"));
  EXPECT_THAT(sql,
              HasSubstr("CAST(CASE min_by(event_type, struct(ts_ms, event_id)) WHEN 'VIEW_PRODUCT' THEN 0 "
                        "WHEN 'ADD_TO_CART' THEN 1 WHEN 'CHECKOUT' THEN 2 WHEN 'PAYMENT' THEN 3 "
                        "WHEN 'SEARCH' THEN 4 END AS DOUBLE) AS first_type"));
  EXPECT_THAT(sql,
              HasSubstr("CASE WHEN count(1) = 0 THEN 0D ELSE CAST(count_if(event_type = 'ADD_TO_CART') AS "
                        "DOUBLE) / count(1) END AS DOUBLE) AS share_cart"));
  EXPECT_THAT(sql, HasSubstr("CASE WHEN count(1) < 3 OR avg(gap_ms) = 0 THEN 0D ELSE stddev_pop(gap_ms) / "
                             "avg(gap_ms) END AS DOUBLE) AS gap_cv"));
  EXPECT_THAT(sql, HasSubstr("CAST(size(collect_set(session_id)) AS DOUBLE) AS degree"));  // users' degree
  EXPECT_THAT(sql, HasSubstr("CAST(size(collect_set(user_id)) AS DOUBLE) AS degree"));     // sessions' degree
  EXPECT_THAT(sql, HasSubstr("SELECT DISTINCT user_id AS id, session_id AS neighbour FROM events"));
  EXPECT_THAT(sql, HasSubstr("avg(node.n_events) AS session_mean_n_events"));
  EXPECT_THAT(sql, HasSubstr("max(node.p_share_cart) AS product_max_p_share_cart"));
}

TEST(GraphFeaturesSql, ReadsEveryPathQuotedAndUnescapedGlobs) {
  const std::string sql = GraphFeaturesSql(EntityKind::kSession, {"s3a://bucket/w/2026-11-01_10-00.parquet",
                                                                  "file:///tmp/odd`dir/[x]{y}*?\\.parquet"});
  EXPECT_THAT(
      sql, HasSubstr("FROM parquet.`s3a://bucket/w/2026-11-01_10-00.parquet`\n    UNION ALL\n    SELECT "));
  EXPECT_THAT(sql, HasSubstr("FROM parquet.`file:///tmp/odd``dir/\\[x\\]\\{y\\}\\*\\?\\\\.parquet`"));
  size_t unions = 0;
  for (size_t at = 0; (at = sql.find("UNION ALL", at)) != std::string::npos; ++at) ++unions;
  EXPECT_EQ(unions, 1u);
}

// A result batch: ids, then `value(row, column)` for every feature, with the
// names and types given (default: the expected ones).
std::shared_ptr<arrow::RecordBatch> Batch(EntityKind kind, const std::vector<std::string>& ids,
                                          double (*value)(size_t, size_t),
                                          std::shared_ptr<arrow::DataType> feature_type = arrow::float64()) {
  const auto names = fraud::GraphFeatureNames(kind);
  arrow::FieldVector fields = {arrow::field("entity_id", arrow::utf8())};
  arrow::ArrayVector columns;
  arrow::StringBuilder id_builder;
  EXPECT_TRUE(id_builder.AppendValues(ids).ok());
  columns.push_back(id_builder.Finish().ValueOrDie());
  for (size_t c = 0; c < names.size(); ++c) {
    fields.push_back(arrow::field(names[c], feature_type));
    std::shared_ptr<arrow::Array> column;
    if (feature_type->id() == arrow::Type::FLOAT) {
      arrow::FloatBuilder builder;
      for (size_t r = 0; r < ids.size(); ++r)
        EXPECT_TRUE(builder.Append(static_cast<float>(value(r, c))).ok());
      column = builder.Finish().ValueOrDie();
    } else {
      arrow::DoubleBuilder builder;
      for (size_t r = 0; r < ids.size(); ++r) EXPECT_TRUE(builder.Append(value(r, c)).ok());
      column = builder.Finish().ValueOrDie();
    }
    columns.push_back(column);
  }
  return arrow::RecordBatch::Make(arrow::schema(fields), static_cast<int64_t>(ids.size()), columns);
}

double RowCol(size_t r, size_t c) { return static_cast<double>(r * 1000 + c); }

TEST(FeatureTableFromBatches, KeepsNamesAndValuesSortedById) {
  const auto first = Batch(EntityKind::kUser, {"c", "a"}, RowCol);
  const auto second = Batch(EntityKind::kUser, {"b"}, RowCol);
  auto table = FeatureTableFromBatches(EntityKind::kUser, {first, second});
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ(table->kind, EntityKind::kUser);
  EXPECT_EQ(table->names, fraud::GraphFeatureNames(EntityKind::kUser));
  EXPECT_EQ(table->ids, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(table->at(0, 0), 1000);  // "a": row 1 of the first batch
  EXPECT_EQ(table->at(1, 82), 82);   // "b": row 0 of the second
  EXPECT_EQ(table->at(2, 5), 5);     // "c": row 0 of the first
  EXPECT_EQ(table->Column("session_max_degree"), 73);
}

TEST(FeatureTableFromBatches, NoBatchesIsAnEmptyTable) {
  auto table = FeatureTableFromBatches(EntityKind::kSession, {});
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->rows(), 0u);
  EXPECT_EQ(table->cols(), 83u);
}

TEST(FeatureTableFromBatches, RejectsAnotherKindsColumns) {
  const auto batch = Batch(EntityKind::kSession, {"a"}, RowCol);
  const auto table = FeatureTableFromBatches(EntityKind::kUser, {batch});
  ASSERT_TRUE(table.status().IsInvalid());
  EXPECT_THAT(table.status().message(), HasSubstr("expected session_mean_n_events: double"));
}

TEST(FeatureTableFromBatches, RejectsNonDoubleFeatures) {
  const auto batch = Batch(EntityKind::kUser, {"a"}, RowCol, arrow::float32());
  const auto table = FeatureTableFromBatches(EntityKind::kUser, {batch});
  ASSERT_TRUE(table.status().IsInvalid());
  EXPECT_THAT(table.status().message(), HasSubstr("column 1 is n_events: float"));
}

TEST(FeatureTableFromBatches, RejectsMissingIdColumn) {
  const auto batch = Batch(EntityKind::kUser, {"a"}, RowCol);
  const auto table = FeatureTableFromBatches(EntityKind::kUser, {batch->RemoveColumn(0).ValueOrDie()});
  ASSERT_TRUE(table.status().IsInvalid());
  EXPECT_THAT(table.status().message(), HasSubstr("expected entity_id (string) then the 83 graph features"));
}

TEST(FeatureTableFromBatches, RejectsNullsAndDuplicateIds) {
  auto batch = Batch(EntityKind::kUser, {"a"}, RowCol);
  auto nulls = arrow::MakeArrayOfNull(arrow::float64(), 1).ValueOrDie();
  const auto with_null = batch->SetColumn(4, batch->schema()->field(4), nulls).ValueOrDie();
  EXPECT_THAT(FeatureTableFromBatches(EntityKind::kUser, {with_null}).status().message(),
              HasSubstr("null n_checkout for a"));
  EXPECT_THAT(FeatureTableFromBatches(EntityKind::kUser, {batch, batch}).status().message(),
              HasSubstr("two rows for a"));
}

TEST(ComputeWindowFeatures, LocalEngineComputesAndTimesWithoutSparkSettings) {
  fraud::MinuteWindow window;
  window.store = storage::ObjectStore::Open(storage::ObjectUri::Parse(".").ValueOrDie(), {}).ValueOrDie();
  bool resolved = false;
  const ManualClock clock(1000);
  const auto features = ComputeWindowFeatures(
      "local", window,
      [&]() -> Result<SparkConfig> {
        resolved = true;
        return Status::Invalid("bad spark setting");
      },
      clock);
  ASSERT_TRUE(features.ok()) << features.status();
  EXPECT_FALSE(resolved);
  ASSERT_EQ(features->tables.size(), 2u);
  EXPECT_EQ(features->tables[0].kind, EntityKind::kUser);
  EXPECT_EQ(features->tables[1].kind, EntityKind::kSession);
  EXPECT_THAT(features->tables[0].names, ElementsAreArray(fraud::GraphFeatureNames(EntityKind::kUser)));
  ASSERT_TRUE(features->timing.has_value());
  EXPECT_EQ(features->timing->events, 0u);
}

TEST(ComputeWindowFeatures, SparkEngineFailsWithTheSparkSettingsError) {
  fraud::MinuteWindow window;
  const auto features = ComputeWindowFeatures(
      "spark", window, []() -> Result<SparkConfig> { return Status::Invalid("bad spark setting"); });
  ASSERT_TRUE(features.status().IsInvalid()) << features.status();
  EXPECT_EQ(features.status().message(), "bad spark setting");
}

}  // namespace
}  // namespace pfad::spark
