// The Spark engine's plan and result conversion, without Spark.
#include "pfad/spark/engine.h"

#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <gtest/gtest.h>
#include <parquet/arrow/writer.h>

#include <filesystem>
#include <map>
#include <optional>

#include "spark/connect/base.pb.h"

namespace pfad::spark {
namespace {

namespace sc = ::spark::connect;
using analyze::EventCounts;
using analyze::StatusCounts;
using Group = std::tuple<std::optional<std::string>, std::optional<std::string>, int64_t>;

TEST(CountByTypeAndStatusPlan, ReadsParquetGroupsByTypeAndStatusAndCounts) {
  const sc::Plan plan = CountByTypeAndStatusPlan("s3a://bucket/2025-01-15_10-00.parquet");
  ASSERT_TRUE(plan.has_root());
  const sc::Aggregate& aggregate = plan.root().aggregate();
  const auto& source = aggregate.input().read().data_source();
  EXPECT_EQ(source.format(), "parquet");
  ASSERT_EQ(source.paths_size(), 1);
  EXPECT_EQ(source.paths(0), "s3a://bucket/2025-01-15_10-00.parquet");
  EXPECT_FALSE(source.has_schema());  // Spark reads the file's schema: a missing column must fail
  EXPECT_EQ(aggregate.group_type(), sc::Aggregate::GROUP_TYPE_GROUPBY);
  ASSERT_EQ(aggregate.grouping_expressions_size(), 2);
  EXPECT_EQ(aggregate.grouping_expressions(0).unresolved_attribute().unparsed_identifier(), "event_type");
  EXPECT_EQ(aggregate.grouping_expressions(1).unresolved_attribute().unparsed_identifier(), "status");
  ASSERT_EQ(aggregate.aggregate_expressions_size(), 1);
  const auto& alias = aggregate.aggregate_expressions(0).alias();
  ASSERT_EQ(alias.name_size(), 1);
  EXPECT_EQ(alias.name(0), "count");
  EXPECT_EQ(alias.expr().unresolved_function().function_name(), "count");
  ASSERT_EQ(alias.expr().unresolved_function().arguments_size(), 1);
  EXPECT_EQ(alias.expr().unresolved_function().arguments(0).literal().integer(), 1);
}

TEST(SparkPath, S3BecomesS3aAndLocalPathsBecomeAbsoluteFileUris) {
  EXPECT_EQ(*SparkPath(*storage::ObjectUri::Parse("s3://b/dir/2025-01-15_10-00.parquet")),
            "s3a://b/dir/2025-01-15_10-00.parquet");
  EXPECT_EQ(*SparkPath(*storage::ObjectUri::Parse("s3a://b/2025-01-15_10-00.parquet")),
            "s3a://b/2025-01-15_10-00.parquet");
  EXPECT_EQ(*SparkPath(*storage::ObjectUri::Parse("/data/./m/2025-01-15_10-00.parquet")),
            "file:///data/m/2025-01-15_10-00.parquet");
  EXPECT_EQ(*SparkPath(*storage::ObjectUri::Parse("file:///data/2025-01-15_10-00.parquet")),
            "file:///data/2025-01-15_10-00.parquet");
  EXPECT_EQ(*SparkPath(*storage::ObjectUri::Parse("rel/2025-01-15_10-00.parquet")),
            "file://" + (std::filesystem::current_path() / "rel/2025-01-15_10-00.parquet").string());
}

// Spark's answer to the plan: one row per (event_type, status) group.
template <typename StringBuilder = arrow::StringBuilder>
std::shared_ptr<arrow::RecordBatch> GroupBatch(const std::vector<Group>& groups) {
  StringBuilder types, statuses;
  arrow::Int64Builder counts;
  for (const auto& [type, status, n] : groups) {
    EXPECT_TRUE((type ? types.Append(*type) : types.AppendNull()).ok());
    EXPECT_TRUE((status ? statuses.Append(*status) : statuses.AppendNull()).ok());
    EXPECT_TRUE(counts.Append(n).ok());
  }
  auto t = types.Finish().ValueOrDie(), s = statuses.Finish().ValueOrDie();
  auto schema = arrow::schema({arrow::field("event_type", t->type()), arrow::field("status", s->type()),
                               arrow::field("count", arrow::int64(), false)});
  return arrow::RecordBatch::Make(schema, static_cast<int64_t>(groups.size()),
                                  {t, s, counts.Finish().ValueOrDie()});
}

TEST(CountsFromBatches, ReferenceMinute) {
  std::vector<Group> groups;
  for (const char* type : {"VIEW_PRODUCT", "ADD_TO_CART", "CHECKOUT", "PAYMENT", "SEARCH"}) {
    groups.emplace_back(type, "SUCCESS", 17);
    groups.emplace_back(type, "ERROR", 3);
  }
  const auto counts = CountsFromBatches({GroupBatch(groups)});
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->total_events, 100);
  EXPECT_EQ(counts->total_errors, 15);
  ASSERT_EQ(counts->by_event_type.size(), 5u);
  EXPECT_EQ(counts->by_event_type.begin()->first, "ADD_TO_CART");  // sorted
  for (const auto& [type, c] : counts->by_event_type) EXPECT_EQ(c, (StatusCounts{17, 3})) << type;
}

TEST(CountsFromBatches, NullsAndOtherStatusesAsTheLocalEngineCountsThem) {
  const auto counts = CountsFromBatches({GroupBatch({{std::nullopt, "ERROR", 2},
                                                     {"SEARCH", std::nullopt, 5},
                                                     {"SEARCH", "PENDING", 1},
                                                     {"SEARCH", "SUCCESS", 4},
                                                     {"CHECKOUT", std::nullopt, 1}})});
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->total_events, 13);
  EXPECT_EQ(counts->total_errors, 2);
  EXPECT_EQ(counts->by_event_type.at("null"), (StatusCounts{0, 2}));
  EXPECT_EQ(counts->by_event_type.at("SEARCH"), (StatusCounts{4, 0}));
  EXPECT_EQ(counts->by_event_type.at("CHECKOUT"), (StatusCounts{0, 0}));  // a group with rows has an entry
}

TEST(CountsFromBatches, NoBatchesOrNoRowsIsAZeroRowMinute) {
  EXPECT_EQ(*CountsFromBatches({}), EventCounts{});
  EXPECT_EQ(*CountsFromBatches({GroupBatch({})}), EventCounts{});
}

TEST(CountsFromBatches, GroupsSplitOverBatchesAddUp) {
  const auto counts =
      CountsFromBatches({GroupBatch({{"SEARCH", "ERROR", 3}}), GroupBatch({{"SEARCH", "SUCCESS", 1}}),
                         GroupBatch<arrow::LargeStringBuilder>({{"PAYMENT", "ERROR", 2}})});
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->total_events, 6);
  EXPECT_EQ(counts->total_errors, 5);
  EXPECT_EQ(counts->by_event_type.at("SEARCH"), (StatusCounts{1, 3}));
  EXPECT_EQ(counts->by_event_type.at("PAYMENT"), (StatusCounts{0, 2}));
}

TEST(CountsFromBatches, NonStringEventTypeIsInvalidLikeTheLocalEngine) {
  arrow::Int32Builder types;
  ASSERT_TRUE(types.Append(7).ok());
  arrow::StringBuilder statuses;
  ASSERT_TRUE(statuses.Append("ERROR").ok());
  arrow::Int64Builder n;
  ASSERT_TRUE(n.Append(1).ok());
  auto batch = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("event_type", arrow::int32()), arrow::field("status", arrow::utf8()),
                     arrow::field("count", arrow::int64())}),
      1, {types.Finish().ValueOrDie(), statuses.Finish().ValueOrDie(), n.Finish().ValueOrDie()});
  const auto counts = CountsFromBatches({batch});
  ASSERT_TRUE(counts.status().IsInvalid());
  EXPECT_NE(counts.status().message().find("column 'event_type' has type int32, expected a string"),
            std::string::npos)
      << counts.status();
}

TEST(CountsFromBatches, UnexpectedShapeIsInvalid) {
  auto batch = GroupBatch({{"SEARCH", "ERROR", 1}});
  EXPECT_TRUE(CountsFromBatches({batch->RemoveColumn(2).ValueOrDie()}).status().IsInvalid());
}

// Parity: the local engine over a Parquet file and the Spark engine's
// conversion of that file's (event_type, status) groups agree exactly.
TEST(CountsFromBatches, AgreesWithTheLocalEngineOnTheSameRows) {
  const std::vector<std::pair<std::optional<std::string>, std::optional<std::string>>> rows = {
      {"SEARCH", "ERROR"},       {"SEARCH", "SUCCESS"},        {"SEARCH", "SUCCESS"},
      {std::nullopt, "ERROR"},   {"PAYMENT", std::nullopt},    {"PAYMENT", "SUCCESS"},
      {"CHECKOUT", "TIMEOUT"},   {std::nullopt, std::nullopt}, {"VIEW_PRODUCT", "ERROR"},
      {"ADD_TO_CART", "SUCCESS"}};
  arrow::StringBuilder types, statuses;
  std::map<std::pair<std::optional<std::string>, std::optional<std::string>>, int64_t> groups;
  for (int repeat = 0; repeat < 37; ++repeat) {
    for (const auto& [type, status] : rows) {
      ASSERT_TRUE((type ? types.Append(*type) : types.AppendNull()).ok());
      ASSERT_TRUE((status ? statuses.Append(*status) : statuses.AppendNull()).ok());
      ++groups[{type, status}];
    }
  }
  auto table = arrow::Table::Make(
      arrow::schema({arrow::field("event_type", arrow::utf8()), arrow::field("status", arrow::utf8())}),
      {types.Finish().ValueOrDie(), statuses.Finish().ValueOrDie()});
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  ASSERT_TRUE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), sink, 64).ok());
  auto file = std::make_shared<arrow::io::BufferReader>(sink->Finish().ValueOrDie());
  const auto local = analyze::CountEvents(file, {});
  ASSERT_TRUE(local.ok()) << local.status();

  std::vector<Group> group_rows;
  for (const auto& [key, n] : groups) group_rows.emplace_back(key.first, key.second, n);
  const auto spark = CountsFromBatches({GroupBatch(group_rows)});
  ASSERT_TRUE(spark.ok()) << spark.status();
  EXPECT_EQ(*spark, *local);
  EXPECT_EQ(spark->total_events, 370);
}

TEST(OpenEventCounter, LocalEngineNeedsNoSparkSettings) {
  analyze::AnalyzeConfig config;
  config.engine = "local";
  bool resolved = false;
  const auto engine = OpenEventCounter(config, [&]() -> Result<SparkConfig> {
    resolved = true;
    return Status::Invalid("bad spark setting");
  });
  ASSERT_TRUE(engine.ok()) << engine.status();
  ASSERT_NE(*engine, nullptr);
  EXPECT_EQ((*engine)->name(), "local");
  EXPECT_FALSE(resolved);
}

TEST(OpenEventCounter, SparkEngineFailsWithTheSparkSettingsError) {
  analyze::AnalyzeConfig config;
  config.engine = "spark";
  const auto engine =
      OpenEventCounter(config, []() -> Result<SparkConfig> { return Status::Invalid("bad spark setting"); });
  ASSERT_TRUE(engine.status().IsInvalid()) << engine.status();
  EXPECT_EQ(engine.status().message(), "bad spark setting");
}

}  // namespace
}  // namespace pfad::spark
