#include <gtest/gtest.h>

#include <cstdlib>

#include "pfad/common/clock.h"
#include "pfad/events/generator.h"
#include "pfad/warehouse/clickhouse_client.h"
#include "pfad/warehouse/ingest_sinks.h"
#include "pfad/warehouse/table.h"

namespace pfad::warehouse {
namespace {

std::vector<events::Event> SomeEvents(int n) {
  events::EventGenerator gen(events::GeneratorOptions{});
  std::vector<events::Event> out;
  for (int i = 0; i < n; ++i) out.push_back(gen.Next(1'736'930'000'000 + i));
  return out;
}

TEST(RowBinary, EventsSurviveTheRoundTripWithTheMinuteColumnsLeftOut) {
  auto events = SomeEvents(500);
  events[0].error_code = std::nullopt;
  events[1].product_id = 1234;
  events[2].error_code = 503;
  std::string rows;
  AppendRowBinary(events, "2025-01-15_12-03", rows);
  // The inserted row carries event_time and event_minute; the selected one does
  // not, so rebuild what a SELECT of the event columns answers.
  std::string selected;
  for (const auto& e : events) {
    std::string one;
    AppendRowBinary(std::span(&e, 1), "2025-01-15_12-03", one);
    // UUIDs, type, timestamp: 3*16 + 1 + 8; then event_time (4) and the minute (1 + 16) to drop.
    selected.append(one, 0, 57);
    selected.append(one, 57 + 4 + 17, std::string::npos);
  }
  auto parsed = ParseRowBinary(selected);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, events);
}

TEST(RowBinary, UuidIsTwoLittleEndianHalves) {
  auto e = SomeEvents(1)[0];
  e.event_id = *events::Uuid::Parse("61f0c404-5cb3-11e7-907b-a6006ad3dba0");
  std::string rows;
  AppendRowBinary(std::span(&e, 1), "2025-01-15_12-03", rows);
  // What ClickHouse 18.16 answers to SELECT toUUID('61f0c404-...') FORMAT RowBinary.
  const unsigned char expected[16] = {0xe7, 0x11, 0xb3, 0x5c, 0x04, 0xc4, 0xf0, 0x61,
                                      0xa0, 0xdb, 0xd3, 0x6a, 0x00, 0xa6, 0x7b, 0x90};
  EXPECT_EQ(rows.substr(0, 16), std::string(reinterpret_cast<const char*>(expected), 16));
}

TEST(RowBinary, TruncatedAnswerIsAnError) {
  std::string rows;
  auto events = SomeEvents(2);
  AppendRowBinary(events, "2025-01-15_12-03", rows);
  auto parsed = ParseRowBinary(std::string_view(rows).substr(0, 20));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("truncated"), std::string::npos);
}

TEST(Table, DdlHasTheDedupKeyAndTimeColumns) {
  const std::string sql = CreateTableSql("pfad");
  EXPECT_NE(sql.find("pfad.user_interactions"), std::string::npos);
  EXPECT_NE(sql.find("ReplacingMergeTree"), std::string::npos);
  EXPECT_NE(sql.find("ORDER BY (event_minute, event_id)"), std::string::npos);
  EXPECT_NE(sql.find("event_timestamp_ms UInt64"), std::string::npos);
  EXPECT_NE(sql.find("event_time DateTime('UTC')"), std::string::npos);
  EXPECT_EQ(sql.find("DateTime64"), std::string::npos);
}

TEST(Endpoint, ParsesHostPortAndDatabase) {
  auto e = ClickHouseEndpoint::Parse("http://127.0.0.1:8123/analytics");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->base, "http://127.0.0.1:8123/");
  EXPECT_EQ(e->database, "analytics");
  auto d = ClickHouseEndpoint::Parse("http://localhost:8123");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->database, "pfad");
  EXPECT_FALSE(ClickHouseEndpoint::Parse("tcp://127.0.0.1:9000/x").ok());
  EXPECT_FALSE(ClickHouseEndpoint::Parse("http://127.0.0.1:8123/x;DROP").ok());
  EXPECT_FALSE(ClickHouseEndpoint::Parse("http://user:pw@127.0.0.1:8123/x").ok());
}

TEST(Classify, LoginRetriableAndFatalAnswers) {
  EXPECT_EQ(ClassifyAnswer(200, ""), ClickHouseFailure::kNone);
  EXPECT_EQ(ClassifyAnswer(401, "Code: 193, e.displayText() = DB::Exception: Wrong password for user pfad"),
            ClickHouseFailure::kAuthentication);
  EXPECT_EQ(ClassifyAnswer(516, "Code: 516. DB::Exception: pfad: Authentication failed"),
            ClickHouseFailure::kAuthentication);
  EXPECT_EQ(ClassifyAnswer(500, "Code: 252, e.displayText() = DB::Exception: Too many parts"),
            ClickHouseFailure::kRetriable);
  EXPECT_EQ(ClassifyAnswer(503, ""), ClickHouseFailure::kRetriable);
  EXPECT_EQ(ClassifyAnswer(404, "Code: 60, e.displayText() = DB::Exception: Table x doesn't exist"),
            ClickHouseFailure::kFatal);
}

TEST(Config, EnvironmentOverFileAndPfadNamesOverStandardOnes) {
  auto file =
      ConfigFile::Parse("[clickhouse]\nurl = \"http://10.0.0.1:8123/a\"\nuser = \"u1\"\npassword = \"p1\"\n");
  ASSERT_TRUE(file.ok());
  ::unsetenv("PFAD_CLICKHOUSE_URL");
  ::unsetenv("PFAD_CLICKHOUSE_USER");
  ::unsetenv("PFAD_CLICKHOUSE_PASSWORD");
  ::unsetenv("CLICKHOUSE_USER");
  ::unsetenv("CLICKHOUSE_PASSWORD");
  auto from_file = ClickHouseConfig::Resolve(*file);
  ASSERT_TRUE(from_file.ok());
  EXPECT_EQ(from_file->url, "http://10.0.0.1:8123/a");
  EXPECT_EQ(from_file->user, "u1");
  EXPECT_EQ(from_file->password, "p1");
  ::setenv("CLICKHOUSE_USER", "u2", 1);
  ::setenv("CLICKHOUSE_PASSWORD", "p2", 1);
  ::setenv("PFAD_CLICKHOUSE_PASSWORD", "p3", 1);
  auto from_env = ClickHouseConfig::Resolve(*file);
  ::unsetenv("CLICKHOUSE_USER");
  ::unsetenv("CLICKHOUSE_PASSWORD");
  ::unsetenv("PFAD_CLICKHOUSE_PASSWORD");
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(from_env->user, "u2");
  EXPECT_EQ(from_env->password, "p3");
}

TEST(Client, UnreachableServerIsRetriedWithBackoffThenNamed) {
  ManualClock clock;
  ClickHouseConfig config;
  config.url = "http://127.0.0.1:1/pfad";  // nothing listens on port 1
  config.max_attempts = 3;
  auto client = ClickHouseClient::Make(config, clock);
  ASSERT_TRUE(client.ok());
  auto answer = client->Execute("SELECT 1");
  ASSERT_FALSE(answer.ok());
  EXPECT_TRUE(answer.status().IsIOError());
  EXPECT_NE(answer.status().message().find("unreachable after 3 attempts"), std::string::npos);
  EXPECT_EQ(clock.NowMillis(), 250 + 500);  // two waits, doubling, on the injected clock
}

TEST(Client, NoUrlSaysWhereToSetIt) {
  auto client = ClickHouseClient::Make(ClickHouseConfig{}, DefaultClock());
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.status().message().find("PFAD_CLICKHOUSE_URL"), std::string::npos);
}

TEST(IngestSinks, TheObjectStoreThenTheWarehouseAsConfigured) {
  ingest::IngestOptions options;
  options.sink = storage::ObjectUri::Parse(::testing::TempDir()).ValueOrDie();
  const ClickHouseConfig none;
  ClickHouseConfig clickhouse;
  clickhouse.url = "http://127.0.0.1:8123/pfad";
  const Clock& clock = DefaultClock();

  auto objects = MakeIngestSinks(options, {}, none, clock);
  ASSERT_TRUE(objects.ok()) << objects.status().ToString();
  ASSERT_EQ(objects->size(), 1u);
  EXPECT_EQ((*objects)[0]->Name(), options.sink.ToString());

  auto both = MakeIngestSinks(options, {}, clickhouse, clock);
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  ASSERT_EQ(both->size(), 2u);
  EXPECT_NE((*both)[1]->Name().find("pfad.user_interactions"), std::string::npos) << (*both)[1]->Name();

  options.sink = {};
  auto warehouse_only = MakeIngestSinks(options, {}, clickhouse, clock);
  ASSERT_TRUE(warehouse_only.ok()) << warehouse_only.status().ToString();
  EXPECT_EQ(warehouse_only->size(), 1u);
  EXPECT_TRUE(MakeIngestSinks(options, {}, none, clock).status().IsInvalid());
}

}  // namespace
}  // namespace pfad::warehouse
