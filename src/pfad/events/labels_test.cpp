#include "pfad/events/labels.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

namespace pfad::events {
namespace {

std::vector<FraudLabel> SomeLabels() {
  std::vector<FraudLabel> labels;
  for (int s = 0; s < kScenarioCount; ++s) {
    labels.push_back({.kind = s % 2 == 0 ? EntityKind::kUser : EntityKind::kSession,
                      .entity_id = Uuid::V4(0x1234 + static_cast<uint64_t>(s), 0xABCDEF),
                      .scenario = static_cast<Scenario>(s),
                      .first_ms = 1736922600000 + s,
                      .last_ms = 1736922659999 - s});
  }
  return labels;
}

std::shared_ptr<arrow::Table> TableOf(std::span<const FraudLabel> labels) {
  auto batch = LabelsToRecordBatch(labels);
  EXPECT_TRUE(batch.ok()) << batch.status().ToString();
  return *arrow::Table::FromRecordBatches({*batch});
}

TEST(Labels, NamesRoundTrip) {
  for (int s = 0; s < kScenarioCount; ++s) {
    const auto scenario = static_cast<Scenario>(s);
    EXPECT_EQ(ParseScenario(ToString(scenario)), scenario);
  }
  EXPECT_EQ(ToString(Scenario::kCardTesting), "card_testing");
  EXPECT_EQ(ParseEntityKind("session"), EntityKind::kSession);
  EXPECT_FALSE(ParseEntityKind("product"));
  EXPECT_FALSE(ParseScenario("bots"));
  EXPECT_TRUE(IsFraud(Scenario::kFraudRing));
  EXPECT_FALSE(IsFraud(Scenario::kPowerUser));
}

TEST(Labels, ObjectNameIsBesideTheMinute) {
  auto calendar = MinuteCalendar::Open();
  ASSERT_TRUE(calendar.ok());
  auto minute = calendar->Parse("2025-01-15 10:00");
  ASSERT_TRUE(minute.ok());
  EXPECT_EQ(LabelsObjectName(*minute), "2025-01-15_10-00.labels.parquet");
}

TEST(Labels, TableRoundTrip) {
  const auto labels = SomeLabels();
  const auto table = TableOf(labels);
  EXPECT_TRUE(table->schema()->Equals(*LabelSchema()));
  auto back = LabelsFromTable(*table);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, labels);
  auto empty = LabelsFromTable(*TableOf({}));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(Labels, JsonRoundTrip) {
  for (const FraudLabel& label : SomeLabels()) {
    auto back = ParseLabelJson(LabelToJson(label));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, label);
  }
  EXPECT_TRUE(LabelToJson(SomeLabels()[1]).starts_with(R"({"entity_kind":"session","entity_id":")"));
  EXPECT_TRUE(ParseLabelJson("not json").status().IsInvalid());
  EXPECT_TRUE(ParseLabelJson(R"({"entity_kind":"user"})").status().IsInvalid());
}

TEST(Labels, MissingColumnIsInvalidNamingIt) {
  const auto table = TableOf(SomeLabels());
  auto without = table->RemoveColumn(table->schema()->GetFieldIndex("scenario"));
  ASSERT_TRUE(without.ok());
  const auto st = LabelsFromTable(**without).status();
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("'scenario'"), std::string::npos) << st.message();
}

TEST(Labels, WrongTypeIsInvalidNamingTheColumn) {
  const auto table = TableOf(SomeLabels());
  arrow::Int32Builder b;
  ASSERT_TRUE(b.AppendValues(std::vector<int32_t>(static_cast<size_t>(table->num_rows()), 1)).ok());
  auto replaced = table->SetColumn(3, arrow::field("first_ms", arrow::int32()),
                                   std::make_shared<arrow::ChunkedArray>(*b.Finish()));
  ASSERT_TRUE(replaced.ok());
  const auto st = LabelsFromTable(**replaced).status();
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("'first_ms'"), std::string::npos) << st.message();
}

// A table with one row whose `column` holds `value` (the others valid).
std::shared_ptr<arrow::Table> OneRowWith(std::string_view column, std::string_view value) {
  const auto labels = SomeLabels();
  const auto good = TableOf(std::span(labels).first(1));
  const int i = good->schema()->GetFieldIndex(std::string(column));
  arrow::StringBuilder b;
  EXPECT_TRUE(b.Append(value).ok());
  auto replaced =
      good->SetColumn(i, good->schema()->field(i), std::make_shared<arrow::ChunkedArray>(*b.Finish()));
  EXPECT_TRUE(replaced.ok());
  return *replaced;
}

TEST(Labels, UnknownValuesAreInvalidNamingTheValue) {
  for (const auto& [column, value] : std::vector<std::pair<std::string_view, std::string_view>>{
           {"scenario", "phishing"}, {"entity_kind", "product"}, {"entity_id", "not-a-uuid"}}) {
    const auto st = LabelsFromTable(*OneRowWith(column, value)).status();
    EXPECT_TRUE(st.IsInvalid()) << column;
    EXPECT_NE(st.message().find(std::string(value)), std::string::npos) << st.message();
  }
}

TEST(Labels, RecordsRoundTripThroughATable) {
  std::vector<LabelRecord> records;
  for (const auto& label : SomeLabels()) {
    records.push_back({label, "kafka", label.first_ms + 86'400'000,
                       "user_interactions.labels/0/" + std::to_string(records.size())});
  }
  auto batch = LabelRecordsToRecordBatch(records);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  auto table = arrow::Table::FromRecordBatches({*batch});
  ASSERT_TRUE(table.ok());
  auto back = LabelRecordsFromTable(**table);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, records);
  // A table of labels alone (no source, labelled_at, ref) is not a labels store object.
  EXPECT_TRUE(LabelRecordsFromTable(*TableOf(SomeLabels())).status().IsInvalid());
}

TEST(Labels, MessagesOfEveryWriterParse) {
  // pfad produce --fraud
  const auto produced = SomeLabels()[0];
  auto a = ParseLabelMessage(LabelToJson(produced), 42);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->label, produced);
  EXPECT_EQ(a->labelled_at, 42);
  EXPECT_EQ(a->source, "kafka");
  // A chargeback system: label, one event time, its own label time and source.
  auto b = ParseLabelMessage(R"({"entity_kind":"user","entity_id":"00000000-0000-4000-8000-000000000001",
      "label":"fraud","first_ms":1000,"labelled_at":99000,"source":"chargeback"})",
                             42);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->label.scenario, Scenario::kFraud);
  EXPECT_TRUE(IsFraud(b->label.scenario));
  EXPECT_EQ(b->label.last_ms, 1000);
  EXPECT_EQ(b->labelled_at, 99000);
  EXPECT_EQ(b->source, "chargeback");
  EXPECT_FALSE(IsFraud(*ParseScenario("not_fraud")));
}

TEST(Labels, BadMessagesSayWhy) {
  const std::string id = R"("entity_id":"00000000-0000-4000-8000-000000000001")";
  for (const auto& [json, reason] : std::vector<std::pair<std::string, std::string>>{
           {"not json", "JSON object"},
           {"[1]", "JSON object"},
           {R"({"entity_kind":"product",)" + id + R"(,"label":"fraud","first_ms":1})",
            "entity_kind 'product'"},
           {R"({"entity_kind":"user","label":"fraud","first_ms":1})", "entity_id"},
           {R"({"entity_kind":"user",)" + id + R"(,"label":"maybe","first_ms":1})", "'maybe'"},
           {R"({"entity_kind":"user",)" + id + R"(,"label":"fraud"})", "first_ms"},
           {R"({"entity_kind":"user",)" + id + R"(,"label":"fraud","first_ms":5,"last_ms":1})", "before"},
           {R"({"entity_kind":"user",)" + id + R"(,"label":"fraud","first_ms":5,"source":""})", "source"},
       }) {
    const auto st = ParseLabelMessage(json, 0).status();
    EXPECT_TRUE(st.IsInvalid()) << json;
    EXPECT_NE(st.message().find(reason), std::string::npos) << json << " -> " << st.message();
  }
}

}  // namespace
}  // namespace pfad::events
