// Fraud ground truth (docs/DESIGN.md, "Fraud labels"; docs/FRAUD.md): the generator's
// scenario labels, kept out of the events. One contract for every writer (the
// `<minute>.labels.parquet` objects of `pfad gen`, the `<topic>.labels` messages
// of `pfad produce`) and every reader (`pfad fraud eval`).
#pragma once

#include "pfad/common/status.h"
#include "pfad/events/event.h"
#include "pfad/events/minute.h"

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pfad::events {

enum class EntityKind : uint8_t { kUser, kSession };
std::string_view ToString(EntityKind kind);  // "user" | "session"
std::optional<EntityKind> ParseEntityKind(std::string_view text);

// Fraud scenarios first, then the legitimate look-alikes (hard negatives).
enum class Scenario : uint8_t {
  kBot,
  kCardTesting,
  kAccountTakeover,
  kCartHoarding,
  kFraudRing,
  kPowerUser,
  kFlashSale,
  kSharedDevice,
  // Labels without a scenario: an analyst's verdict, a chargeback, a case system.
  kFraud,     // "fraud"
  kNotFraud,  // "not_fraud"
};
inline constexpr int kScenarioCount = 10;
// The scenarios the generator plays (kBot .. kSharedDevice).
inline constexpr int kGeneratedScenarioCount = 8;
std::string_view ToString(Scenario scenario);  // "bot", "card_testing", ... (snake case)
std::optional<Scenario> ParseScenario(std::string_view text);
// True for the fraud scenarios, false for the look-alikes.
bool IsFraud(Scenario scenario);

struct FraudLabel {
  EntityKind kind = EntityKind::kUser;
  Uuid entity_id;
  Scenario scenario = Scenario::kBot;
  int64_t first_ms = 0;  // epoch ms of the entity's first event (in the object's minute)
  int64_t last_ms = 0;

  friend bool operator==(const FraudLabel&, const FraudLabel&) = default;
};

// "YYYY-MM-DD_HH-MM.labels.parquet", beside the minute object.
std::string LabelsObjectName(const Minute& minute);
inline constexpr std::string_view kLabelsSuffix = ".labels.parquet";
inline constexpr std::string_view kScoresSuffix = ".scores.parquet";

// entity_kind: string, entity_id: string, scenario: string, first_ms: int64, last_ms: int64.
std::shared_ptr<arrow::Schema> LabelSchema();
Result<std::shared_ptr<arrow::RecordBatch>> LabelsToRecordBatch(std::span<const FraudLabel> labels);
// Invalid, naming the column or the row's value, when a column is missing or
// has another type, or a kind, id or scenario is unknown.
Result<std::vector<FraudLabel>> LabelsFromTable(const arrow::Table& table);

// A label in the labels store (docs/DESIGN.md, "Labels store"): the label, where it came from,
// when it was given, and a reference unique to it (the store is read with one row per ref, so a
// label written twice after a crash counts once).
struct LabelRecord {
  FraudLabel label;
  std::string source;       // "gen", "kafka", "review", or what the message said
  int64_t labelled_at = 0;  // epoch ms the label was given (a chargeback days after the events)
  std::string ref;          // "<topic>/<partition>/<offset>", "review/<id>", ...

  friend bool operator==(const LabelRecord&, const LabelRecord&) = default;
};

// The label columns, then source: string, labelled_at: int64, ref: string.
std::shared_ptr<arrow::Schema> LabelRecordSchema();
Result<std::shared_ptr<arrow::RecordBatch>> LabelRecordsToRecordBatch(std::span<const LabelRecord> records);
Result<std::vector<LabelRecord>> LabelRecordsFromTable(const arrow::Table& table);

// The `<topic>.labels` message value, as `pfad produce --fraud` writes it:
// {"entity_kind":…,"entity_id":…,"scenario":…,"first_ms":…,"last_ms":…}.
std::string LabelToJson(const FraudLabel& label);
Result<FraudLabel> ParseLabelJson(std::string_view json);

// A `<topic>.labels` message from any writer: the form above, or an external system's
// {"entity_kind":…,"entity_id":…,"label":"fraud"|"not_fraud"|<scenario>,"first_ms":…,
//  "last_ms":…(optional, default first_ms),"labelled_at":…(optional),"source":…(optional)}.
// `labelled_at` defaults to `message_ms`, `source` to "kafka". Invalid with the reason otherwise.
Result<LabelRecord> ParseLabelMessage(std::string_view json, int64_t message_ms);

}  // namespace pfad::events
