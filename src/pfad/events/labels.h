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
};
inline constexpr int kScenarioCount = 8;
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

// The `<topic>.labels` message value: {"entity_kind":…,"entity_id":…,"scenario":…,"first_ms":…,"last_ms":…}.
std::string LabelToJson(const FraudLabel& label);
Result<FraudLabel> ParseLabelJson(std::string_view json);

}  // namespace pfad::events
