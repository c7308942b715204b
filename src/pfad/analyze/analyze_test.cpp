#include "pfad/analyze/analyze.h"

#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <gtest/gtest.h>
#include <parquet/arrow/writer.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "pfad/events/generator.h"
#include "pfad/events/schema.h"
#include "pfad/storage/local_store_fixture.h"

namespace pfad::analyze {
namespace {

namespace fs = std::filesystem;
using storage::ObjectUri;

constexpr const char* kTypes[] = {"VIEW_PRODUCT", "ADD_TO_CART", "CHECKOUT", "PAYMENT", "SEARCH"};

// The reference test's minute: per type 3 ERROR + 17 SUCCESS.
std::shared_ptr<arrow::Table> ReferenceTable(bool with_nulls = false) {
  arrow::StringBuilder types, statuses;
  for (const char* type : kTypes) {
    for (int i = 0; i < 20; ++i) {
      EXPECT_TRUE(types.Append(type).ok());
      EXPECT_TRUE(statuses.Append(i < 3 ? "ERROR" : "SUCCESS").ok());
    }
  }
  if (with_nulls) {
    EXPECT_TRUE(types.AppendNull().ok());
    EXPECT_TRUE(statuses.Append("ERROR").ok());
    EXPECT_TRUE(types.Append("SEARCH").ok());
    EXPECT_TRUE(statuses.AppendNull().ok());
  }
  std::shared_ptr<arrow::Array> t, s;
  EXPECT_TRUE(types.Finish(&t).ok());
  EXPECT_TRUE(statuses.Finish(&s).ok());
  return arrow::Table::Make(
      arrow::schema({arrow::field("event_type", arrow::utf8()), arrow::field("status", arrow::utf8())}),
      {t, s});
}

std::shared_ptr<arrow::io::RandomAccessFile> ToParquet(const arrow::Table& table, int64_t row_group_rows,
                                                       bool dictionary) {
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  parquet::WriterProperties::Builder props;
  if (!dictionary) props.disable_dictionary();
  EXPECT_TRUE(
      parquet::arrow::WriteTable(table, arrow::default_memory_pool(), sink, row_group_rows, props.build())
          .ok());
  return std::make_shared<arrow::io::BufferReader>(sink->Finish().ValueOrDie());
}

void ExpectReferenceCounts(const EventCounts& counts) {
  EXPECT_EQ(counts.total_events, 100);
  EXPECT_EQ(counts.total_errors, 15);
  ASSERT_EQ(counts.by_event_type.size(), 5U);
  for (const char* type : kTypes) {
    EXPECT_EQ(counts.by_event_type.at(type), (StatusCounts{17, 3})) << type;
  }
}

TEST(CountEvents, ReferenceMinuteInEveryLayout) {
  const auto table = ReferenceTable();
  for (bool dictionary : {true, false}) {
    for (int64_t rg : {1, 7, 33, 1000}) {
      for (int threads : {1, 2, 4}) {
        SCOPED_TRACE(::testing::Message()
                     << "dictionary=" << dictionary << " rg=" << rg << " threads=" << threads);
        auto counts = CountEvents(ToParquet(*table, rg, dictionary), {.threads = threads, .batch_rows = 16});
        ASSERT_TRUE(counts.ok()) << counts.status().ToString();
        ExpectReferenceCounts(*counts);
      }
    }
  }
}

TEST(CountEvents, NullsCountInTotalsAsTheReferenceJobDoes) {
  auto counts = CountEvents(ToParquet(*ReferenceTable(true), 50, true), {}).ValueOrDie();
  EXPECT_EQ(counts.total_events, 102);
  EXPECT_EQ(counts.total_errors, 16);
  EXPECT_EQ(counts.by_event_type.at("null"), (StatusCounts{0, 1}));
  EXPECT_EQ(counts.by_event_type.at("SEARCH"), (StatusCounts{17, 3}));
}

TEST(CountEvents, ZeroRowsGiveEmptyCounts) {
  auto empty = ReferenceTable()->Slice(0, 0);
  auto counts = CountEvents(ToParquet(*empty, 10, true), {}).ValueOrDie();
  EXPECT_EQ(counts, EventCounts{});
}

TEST(CountEvents, FullEventSchemaFromTheGenerator) {
  events::EventGenerator generator({.seed = 9});
  std::vector<events::Event> batch_events;
  EventCounts expected;
  for (int i = 0; i < 5000; ++i) {
    batch_events.push_back(generator.Next(i));
    const auto& e = batch_events.back();
    auto& entry = expected.by_event_type[std::string(events::ToString(e.event_type))];
    ++expected.total_events;
    if (e.status == events::EventStatus::kError) {
      ++expected.total_errors;
      ++entry.error;
    } else {
      ++entry.success;
    }
  }
  auto batch = events::ToRecordBatch(batch_events).ValueOrDie();
  auto table = arrow::Table::FromRecordBatches({batch}).ValueOrDie();
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  ASSERT_TRUE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), sink, 1024,
                                         events::MinuteWriterProperties(),
                                         events::MinuteArrowWriterProperties())
                  .ok());
  auto file = std::make_shared<arrow::io::BufferReader>(sink->Finish().ValueOrDie());
  EXPECT_EQ(CountEvents(file, {}).ValueOrDie(), expected);
}

TEST(CountEvents, MissingColumnIsInvalidAndNamed) {
  auto table = ReferenceTable();
  auto only_types = table->SelectColumns({0}).ValueOrDie();
  const Status st = CountEvents(ToParquet(*only_types, 10, true), {}).status();
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("status"), std::string::npos) << st.ToString();
}

TEST(CountEvents, NonStringColumnIsInvalid) {
  arrow::Int32Builder builder;
  ASSERT_TRUE(builder.AppendValues({1, 2}).ok());
  std::shared_ptr<arrow::Array> ints = builder.Finish().ValueOrDie();
  auto table = arrow::Table::Make(
      arrow::schema({arrow::field("event_type", arrow::int32()), arrow::field("status", arrow::int32())}),
      std::vector<std::shared_ptr<arrow::Array>>{ints, ints});
  EXPECT_TRUE(CountEvents(ToParquet(*table, 10, false), {}).status().IsInvalid());
}

// Found by fuzzing: Parquet's reader hands over dictionary indices without checking them
// against the dictionary, and a corrupt index read past the end of the dictionary's codes.
TEST(CountEvents, DictionaryIndexOutsideTheDictionaryIsInvalid) {
  std::ifstream in(PFAD_FUZZ_CORPUS "/minute_parquet/crash-dictionary-index-out-of-range.parquet",
                   std::ios::binary);
  ASSERT_TRUE(in) << "fuzz corpus file missing";
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto file = std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(bytes));
  const Status st = CountEvents(file, {.threads = 1}).status();
  EXPECT_TRUE(st.IsInvalid()) << st.ToString();
  EXPECT_NE(st.message().find("dictionary index"), std::string::npos) << st.ToString();
}

TEST(CountEvents, NotParquetIsAnError) {
  auto file =
      std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString("this is not parquet at all"));
  EXPECT_FALSE(CountEvents(file, {}).ok());
}

TEST(ReportLocation, BesideTheInputOrWhereAsked) {
  const auto in = ObjectUri::Parse("s3a://b/2025-01-15_10-00.parquet").ValueOrDie();
  EXPECT_EQ(ReportStem(in), "2025-01-15_10-00");
  EXPECT_EQ(ReportLocation(in, std::nullopt).ToString(), "s3a://b/2025-01-15_10-00.json");
  EXPECT_EQ(ReportLocation(in, *ObjectUri::Parse("s3://r/reports")).ToString(),
            "s3://r/reports/2025-01-15_10-00.json");
  EXPECT_EQ(ReportLocation(in, *ObjectUri::Parse("/tmp/x.json")).ToString(), "/tmp/x.json");
  const auto no_data = ObjectUri::Parse("s3a://b/2025-01-15_11-00").ValueOrDie();
  EXPECT_EQ(ReportLocation(no_data, std::nullopt).ToString(), "s3a://b/2025-01-15_11-00.json");
}

class AnalyzeMinuteTest : public storage::LocalStoreFixture {
 protected:
  Result<AnalyzeOutcome> Run(const std::string& name) {
    return AnalyzeMinute(*store_, *store_, {.input = Uri(name), .output = std::nullopt, .options = {}},
                         clock_);
  }

  ManualClock clock_{0};
};

TEST_F(AnalyzeMinuteTest, WritesTheReportBesideTheObject) {
  auto file = ToParquet(*ReferenceTable(), 30, true);
  const auto bytes = file->ReadAt(0, file->GetSize().ValueOrDie()).ValueOrDie();
  ASSERT_TRUE(store_->Put(Uri("2025-01-15_10-00.parquet"), bytes->ToString()).ok());
  auto outcome = Run("2025-01-15_10-00.parquet").ValueOrDie();
  EXPECT_EQ(outcome.written_to.ToString(), Uri("2025-01-15_10-00.json").ToString());
  auto report = ParseReport(store_->Get(outcome.written_to).ValueOrDie()).ValueOrDie();
  const auto& minute = std::get<MinuteReport>(report);
  ExpectReferenceCounts(minute.counts);
  EXPECT_EQ(minute.file_name, "2025-01-15_10-00.json");
}

TEST_F(AnalyzeMinuteTest, OutputOnTheSameStorageSharesTheInputsStore) {
  const AnalyzeRequest beside{.input = Uri("2025-01-15_10-00.parquet")};
  const auto a = OpenAnalyzeStores(beside, storage::StorageConfig{});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_NE(a->input, nullptr);
  EXPECT_EQ(a->output, a->input);
  const AnalyzeRequest elsewhere{.input = Uri("2025-01-15_10-00.parquet"), .output = Uri("reports")};
  const auto b = OpenAnalyzeStores(elsewhere, storage::StorageConfig{});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->output, b->input);
  // The stores work: the job runs through them.
  auto file = ToParquet(*ReferenceTable(), 30, true);
  const auto bytes = file->ReadAt(0, file->GetSize().ValueOrDie()).ValueOrDie();
  ASSERT_TRUE(b->input->Put(Uri("2025-01-15_10-00.parquet"), bytes->ToString()).ok());
  std::filesystem::create_directories(dir_ / "reports");
  const auto outcome = AnalyzeMinute(*b->input, *b->output, elsewhere, clock_);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->written_to.ToString(), Uri("reports/2025-01-15_10-00.json").ToString());
}

TEST_F(AnalyzeMinuteTest, NameWithoutParquetGivesNoDataReport) {
  auto outcome = Run("2025-01-15_11-00").ValueOrDie();
  EXPECT_EQ(store_->Get(Uri("2025-01-15_11-00.json")).ValueOrDie(),
            R"({"report":"No data for 2025-01-15_11-00."})");
  EXPECT_TRUE(std::holds_alternative<NoDataReport>(outcome.report));
}

TEST_F(AnalyzeMinuteTest, MissingObjectInExistingDirectoryGivesNoDataReport) {
  ASSERT_TRUE(Run("2025-01-15_12-00.parquet").ok());
  EXPECT_EQ(store_->Get(Uri("2025-01-15_12-00.json")).ValueOrDie(),
            R"({"report":"No data for 2025-01-15_12-00."})");
}

TEST_F(AnalyzeMinuteTest, FailuresWriteNothing) {
  ASSERT_TRUE(store_->Put(Uri("bad.parquet"), "PAR1 not really parquet").ok());
  const Status corrupt = Run("bad.parquet").status();
  EXPECT_TRUE(corrupt.IsInvalid()) << corrupt.ToString();
  EXPECT_NE(corrupt.message().find("bad.parquet"), std::string::npos);
  EXPECT_FALSE(store_->Stat(Uri("bad.json"))->exists);

  const Status missing_dir = Run("nope/2025-01-15_10-00.parquet").status();
  EXPECT_TRUE(missing_dir.IsIOError()) << missing_dir.ToString();
  EXPECT_FALSE(fs::exists(dir_ / "nope"));
}

// An engine that answers what it is told, and records what it was asked.
class ScriptedCounter final : public EventCounter {
 public:
  explicit ScriptedCounter(Result<EventCounts> answer) : answer_(std::move(answer)) {}
  Result<EventCounts> Count(const storage::ObjectStore&, const ObjectUri& uri,
                            const storage::ObjectInfo&) const override {
    asked.push_back(uri.ToString());
    return answer_;
  }
  std::string_view name() const override { return "scripted"; }
  mutable std::vector<std::string> asked;

 private:
  Result<EventCounts> answer_;
};

TEST_F(AnalyzeMinuteTest, AnotherEngineCountsTheObjectAndSharesTheRest) {
  ASSERT_TRUE(store_->Put(Uri("2025-01-15_10-00.parquet"), "bytes the engine reads itself").ok());
  EventCounts counts;
  AddGroup(counts, "SEARCH", "ERROR", 2);
  auto engine = std::make_shared<ScriptedCounter>(counts);
  AnalyzeRequest request{
      .input = Uri("2025-01-15_10-00.parquet"), .output = std::nullopt, .options = {}, .engine = engine};
  auto outcome = AnalyzeMinute(*store_, *store_, request, clock_);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(std::get<MinuteReport>(outcome->report).counts, counts);
  EXPECT_EQ(engine->asked, std::vector<std::string>{Uri("2025-01-15_10-00.parquet").ToString()});
  // No object: the no-data report, without asking the engine.
  request.input = Uri("2025-01-15_10-01.parquet");
  ASSERT_TRUE(AnalyzeMinute(*store_, *store_, request, clock_).ok());
  EXPECT_EQ(engine->asked.size(), 1u);
  EXPECT_EQ(store_->Get(Uri("2025-01-15_10-01.json")).ValueOrDie(),
            R"({"report":"No data for 2025-01-15_10-01."})");
}

TEST_F(AnalyzeMinuteTest, EngineErrorsKeepTheirKindAndWriteNothing) {
  ASSERT_TRUE(store_->Put(Uri("2025-01-15_10-00.parquet"), "x").ok());
  for (const Status& failure : {Status::IOError("engine unreachable"), Status::Invalid("engine: corrupt")}) {
    AnalyzeRequest request{.input = Uri("2025-01-15_10-00.parquet"),
                           .output = std::nullopt,
                           .options = {},
                           .engine = std::make_shared<ScriptedCounter>(failure)};
    const Status st = AnalyzeMinute(*store_, *store_, request, clock_).status();
    EXPECT_EQ(st.code(), failure.code());
    EXPECT_EQ(st.message(), failure.message());
    EXPECT_FALSE(store_->Stat(Uri("2025-01-15_10-00.json"))->exists);
  }
}

TEST(AnalyzeConfig, DefaultsThenFileThenEnvironment) {
  ::unsetenv("PFAD_ENGINE");
  const auto defaults = AnalyzeConfig::Resolve(ConfigFile()).ValueOrDie();
  EXPECT_EQ(defaults.engine, "local");
  EXPECT_EQ(defaults.options.threads, 0);
  const auto file = ConfigFile::Parse("[analyze]\nthreads = 3\nengine = \"spark\"\n").ValueOrDie();
  const auto resolved = AnalyzeConfig::Resolve(file).ValueOrDie();
  EXPECT_EQ(resolved.engine, "spark");
  EXPECT_EQ(resolved.options.threads, 3);
  ::setenv("PFAD_ENGINE", "local", 1);
  EXPECT_EQ(AnalyzeConfig::Resolve(file).ValueOrDie().engine, "local");
  ::setenv("PFAD_ENGINE", "duckdb", 1);
  EXPECT_TRUE(AnalyzeConfig::Resolve(file).status().IsInvalid());
  ::unsetenv("PFAD_ENGINE");
}

}  // namespace
}  // namespace pfad::analyze
