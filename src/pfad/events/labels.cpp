#include "pfad/events/labels.h"

#include <arrow/api.h>
#include <nlohmann/json.hpp>

#include <array>
#include <utility>

#include "pfad/common/log.h"

namespace pfad::events {
namespace {

constexpr std::array<std::pair<EntityKind, std::string_view>, 2> kKinds{{
    {EntityKind::kUser, "user"},
    {EntityKind::kSession, "session"},
}};

constexpr std::array<std::pair<Scenario, std::string_view>, kScenarioCount> kScenarios{{
    {Scenario::kBot, "bot"},
    {Scenario::kCardTesting, "card_testing"},
    {Scenario::kAccountTakeover, "account_takeover"},
    {Scenario::kCartHoarding, "cart_hoarding"},
    {Scenario::kFraudRing, "fraud_ring"},
    {Scenario::kPowerUser, "power_user"},
    {Scenario::kFlashSale, "flash_sale"},
    {Scenario::kSharedDevice, "shared_device"},
    {Scenario::kFraud, "fraud"},
    {Scenario::kNotFraud, "not_fraud"},
}};

constexpr std::string_view kKindColumn = "entity_kind";
constexpr std::string_view kIdColumn = "entity_id";
constexpr std::string_view kScenarioColumn = "scenario";
constexpr std::string_view kFirstColumn = "first_ms";
constexpr std::string_view kLastColumn = "last_ms";
constexpr std::string_view kSourceColumn = "source";
constexpr std::string_view kLabelledAtColumn = "labelled_at";
constexpr std::string_view kRefColumn = "ref";

// The column `name` as one array of `type`; Invalid naming it otherwise.
Result<std::shared_ptr<arrow::Array>> Column(const arrow::Table& table, std::string_view name,
                                             const std::shared_ptr<arrow::DataType>& type) {
  const auto chunked = table.GetColumnByName(std::string(name));
  if (!chunked) {
    return Status::Invalid("labels table has no column '", name,
                           "' (expected entity_kind, entity_id, scenario, ", "first_ms, last_ms)");
  }
  if (!chunked->type()->Equals(*type)) {
    return Status::Invalid("labels column '", name, "' is ", chunked->type()->ToString(), ", expected ",
                           type->ToString());
  }
  if (chunked->null_count() > 0) return Status::Invalid("labels column '", name, "' has nulls");
  if (chunked->num_chunks() == 1) return chunked->chunk(0);
  return arrow::Concatenate(chunked->chunks());
}

}  // namespace

std::string_view ToString(EntityKind kind) {
  for (const auto& [k, text] : kKinds) {
    if (k == kind) return text;
  }
  return "unknown";
}

std::optional<EntityKind> ParseEntityKind(std::string_view text) {
  for (const auto& [k, name] : kKinds) {
    if (name == text) return k;
  }
  return std::nullopt;
}

std::string_view ToString(Scenario scenario) {
  for (const auto& [s, text] : kScenarios) {
    if (s == scenario) return text;
  }
  return "unknown";
}

std::optional<Scenario> ParseScenario(std::string_view text) {
  for (const auto& [s, name] : kScenarios) {
    if (name == text) return s;
  }
  return std::nullopt;
}

bool IsFraud(Scenario scenario) {
  switch (scenario) {
    case Scenario::kBot:
    case Scenario::kCardTesting:
    case Scenario::kAccountTakeover:
    case Scenario::kCartHoarding:
    case Scenario::kFraudRing:
    case Scenario::kFraud:
      return true;
    case Scenario::kPowerUser:
    case Scenario::kFlashSale:
    case Scenario::kSharedDevice:
    case Scenario::kNotFraud:
      return false;
  }
  return false;
}

std::string LabelsObjectName(const Minute& minute) { return minute.Name() + std::string(kLabelsSuffix); }

std::shared_ptr<arrow::Schema> LabelSchema() {
  static const auto schema = arrow::schema({
      arrow::field(std::string(kKindColumn), arrow::utf8(), false),
      arrow::field(std::string(kIdColumn), arrow::utf8(), false),
      arrow::field(std::string(kScenarioColumn), arrow::utf8(), false),
      arrow::field(std::string(kFirstColumn), arrow::int64(), false),
      arrow::field(std::string(kLastColumn), arrow::int64(), false),
  });
  return schema;
}

Result<std::shared_ptr<arrow::RecordBatch>> LabelsToRecordBatch(std::span<const FraudLabel> labels) {
  const auto n = static_cast<int64_t>(labels.size());
  arrow::StringBuilder kind, id, scenario;
  arrow::Int64Builder first, last;
  PFAD_RETURN_NOT_OK(id.Reserve(n));
  PFAD_RETURN_NOT_OK(id.ReserveData(n * 36));
  PFAD_RETURN_NOT_OK(first.Reserve(n));
  PFAD_RETURN_NOT_OK(last.Reserve(n));
  char text[36];
  for (const FraudLabel& label : labels) {
    PFAD_RETURN_NOT_OK(kind.Append(ToString(label.kind)));
    label.entity_id.Format(text);
    id.UnsafeAppend(text, 36);
    PFAD_RETURN_NOT_OK(scenario.Append(ToString(label.scenario)));
    first.UnsafeAppend(label.first_ms);
    last.UnsafeAppend(label.last_ms);
  }
  std::vector<std::shared_ptr<arrow::Array>> columns(5);
  PFAD_RETURN_NOT_OK(kind.Finish(&columns[0]));
  PFAD_RETURN_NOT_OK(id.Finish(&columns[1]));
  PFAD_RETURN_NOT_OK(scenario.Finish(&columns[2]));
  PFAD_RETURN_NOT_OK(first.Finish(&columns[3]));
  PFAD_RETURN_NOT_OK(last.Finish(&columns[4]));
  return arrow::RecordBatch::Make(LabelSchema(), n, std::move(columns));
}

Result<std::vector<FraudLabel>> LabelsFromTable(const arrow::Table& table) {
  PFAD_ASSIGN_OR_RAISE(auto kind_array, Column(table, kKindColumn, arrow::utf8()));
  PFAD_ASSIGN_OR_RAISE(auto id_array, Column(table, kIdColumn, arrow::utf8()));
  PFAD_ASSIGN_OR_RAISE(auto scenario_array, Column(table, kScenarioColumn, arrow::utf8()));
  PFAD_ASSIGN_OR_RAISE(auto first_array, Column(table, kFirstColumn, arrow::int64()));
  PFAD_ASSIGN_OR_RAISE(auto last_array, Column(table, kLastColumn, arrow::int64()));
  const auto& kinds = static_cast<const arrow::StringArray&>(*kind_array);
  const auto& ids = static_cast<const arrow::StringArray&>(*id_array);
  const auto& scenarios = static_cast<const arrow::StringArray&>(*scenario_array);
  const auto& firsts = static_cast<const arrow::Int64Array&>(*first_array);
  const auto& lasts = static_cast<const arrow::Int64Array&>(*last_array);

  std::vector<FraudLabel> labels;
  labels.reserve(static_cast<size_t>(table.num_rows()));
  for (int64_t row = 0; row < table.num_rows(); ++row) {
    FraudLabel label;
    const auto kind = ParseEntityKind(kinds.GetView(row));
    if (!kind) {
      return Status::Invalid("labels row ", row, ": unknown entity_kind '", kinds.GetView(row),
                             "' (expected user or session)");
    }
    label.kind = *kind;
    auto id = Uuid::Parse(ids.GetView(row));
    if (!id.ok())
      return Status::Invalid("labels row ", row, ": entity_id '", EscapeUntrusted(ids.GetView(row)),
                             "' is not a UUID");
    label.entity_id = *id;
    const auto scenario = ParseScenario(scenarios.GetView(row));
    if (!scenario)
      return Status::Invalid("labels row ", row, ": unknown scenario '",
                             EscapeUntrusted(scenarios.GetView(row)), "'");
    label.scenario = *scenario;
    label.first_ms = firsts.Value(row);
    label.last_ms = lasts.Value(row);
    labels.push_back(label);
  }
  return labels;
}

std::string LabelToJson(const FraudLabel& label) {
  const nlohmann::ordered_json doc{{kKindColumn, ToString(label.kind)},
                                   {kIdColumn, label.entity_id.ToString()},
                                   {kScenarioColumn, ToString(label.scenario)},
                                   {kFirstColumn, label.first_ms},
                                   {kLastColumn, label.last_ms}};
  return doc.dump();
}

namespace {

// The label fields of a parsed message; `label_key` is "scenario" (pfad produce) or "label".
Result<FraudLabel> LabelFromDoc(const nlohmann::json& doc, bool external) {
  const auto text = [&](std::string_view key) -> Result<std::string> {
    const auto it = doc.find(key);
    if (it == doc.end() || !it->is_string()) return Status::Invalid("a label needs \"", key, "\" (a string)");
    return it->get<std::string>();
  };
  const auto number = [&](std::string_view key) -> Result<int64_t> {
    const auto it = doc.find(key);
    if (it == doc.end() || !it->is_number_integer())
      return Status::Invalid("a label needs \"", key, "\" (an integer)");
    return it->get<int64_t>();
  };
  FraudLabel label;
  PFAD_ASSIGN_OR_RAISE(const auto kind_text, text(kKindColumn));
  const auto kind = ParseEntityKind(kind_text);
  if (!kind) {
    return Status::Invalid("unknown label entity_kind '", EscapeUntrusted(kind_text),
                           "' (expected user or session)");
  }
  label.kind = *kind;
  PFAD_ASSIGN_OR_RAISE(const auto id_text, text(kIdColumn));
  auto id = Uuid::Parse(id_text);
  if (!id.ok()) return Status::Invalid("label entity_id '", EscapeUntrusted(id_text), "' is not a UUID");
  label.entity_id = *id;
  const bool has_label = external && doc.contains("label");
  PFAD_ASSIGN_OR_RAISE(const auto scenario_text, text(has_label ? "label" : kScenarioColumn));
  const auto scenario = ParseScenario(scenario_text);
  if (!scenario) {
    return Status::Invalid("unknown label ", has_label ? "" : "scenario ", "'",
                           EscapeUntrusted(scenario_text), "' (expected fraud, not_fraud or a scenario)");
  }
  label.scenario = *scenario;
  PFAD_ASSIGN_OR_RAISE(label.first_ms, number(kFirstColumn));
  if (external && !doc.contains(kLastColumn)) {
    label.last_ms = label.first_ms;
  } else {
    PFAD_ASSIGN_OR_RAISE(label.last_ms, number(kLastColumn));
  }
  if (label.last_ms < label.first_ms) return Status::Invalid("a label's last_ms is before its first_ms");
  return label;
}

nlohmann::json ParseObject(std::string_view json, Status* error) {
  auto doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    *error = Status::Invalid("a label must be a JSON object: ", EscapeUntrusted(json.substr(0, 200)));
  }
  return doc;
}

}  // namespace

Result<FraudLabel> ParseLabelJson(std::string_view json) {
  Status error;
  const auto doc = ParseObject(json, &error);
  PFAD_RETURN_NOT_OK(error);
  return LabelFromDoc(doc, /*external=*/false);
}

Result<LabelRecord> ParseLabelMessage(std::string_view json, int64_t message_ms) {
  Status error;
  const auto doc = ParseObject(json, &error);
  PFAD_RETURN_NOT_OK(error);
  LabelRecord record;
  PFAD_ASSIGN_OR_RAISE(record.label, LabelFromDoc(doc, /*external=*/true));
  record.labelled_at = message_ms;
  record.source = "kafka";
  if (const auto it = doc.find(kLabelledAtColumn); it != doc.end()) {
    if (!it->is_number_integer())
      return Status::Invalid("a label's \"labelled_at\" must be an integer (epoch ms)");
    record.labelled_at = it->get<int64_t>();
  }
  if (const auto it = doc.find(kSourceColumn); it != doc.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
        it->get_ref<const std::string&>().size() > 64) {
      return Status::Invalid("a label's \"source\" must be a string of 1 to 64 bytes");
    }
    record.source = it->get<std::string>();
  }
  return record;
}

std::shared_ptr<arrow::Schema> LabelRecordSchema() {
  static const auto schema = [] {
    auto fields = LabelSchema()->fields();
    fields.push_back(arrow::field(std::string(kSourceColumn), arrow::utf8(), false));
    fields.push_back(arrow::field(std::string(kLabelledAtColumn), arrow::int64(), false));
    fields.push_back(arrow::field(std::string(kRefColumn), arrow::utf8(), false));
    return arrow::schema(std::move(fields));
  }();
  return schema;
}

Result<std::shared_ptr<arrow::RecordBatch>> LabelRecordsToRecordBatch(std::span<const LabelRecord> records) {
  std::vector<FraudLabel> labels;
  labels.reserve(records.size());
  arrow::StringBuilder source, ref;
  arrow::Int64Builder labelled_at;
  for (const auto& r : records) {
    labels.push_back(r.label);
    PFAD_RETURN_NOT_OK(source.Append(r.source));
    PFAD_RETURN_NOT_OK(labelled_at.Append(r.labelled_at));
    PFAD_RETURN_NOT_OK(ref.Append(r.ref));
  }
  PFAD_ASSIGN_OR_RAISE(auto base, LabelsToRecordBatch(labels));
  auto columns = base->columns();
  columns.resize(8);
  PFAD_RETURN_NOT_OK(source.Finish(&columns[5]));
  PFAD_RETURN_NOT_OK(labelled_at.Finish(&columns[6]));
  PFAD_RETURN_NOT_OK(ref.Finish(&columns[7]));
  return arrow::RecordBatch::Make(LabelRecordSchema(), base->num_rows(), std::move(columns));
}

Result<std::vector<LabelRecord>> LabelRecordsFromTable(const arrow::Table& table) {
  PFAD_ASSIGN_OR_RAISE(auto labels, LabelsFromTable(table));
  PFAD_ASSIGN_OR_RAISE(auto source_array, Column(table, kSourceColumn, arrow::utf8()));
  PFAD_ASSIGN_OR_RAISE(auto at_array, Column(table, kLabelledAtColumn, arrow::int64()));
  PFAD_ASSIGN_OR_RAISE(auto ref_array, Column(table, kRefColumn, arrow::utf8()));
  const auto& sources = static_cast<const arrow::StringArray&>(*source_array);
  const auto& ats = static_cast<const arrow::Int64Array&>(*at_array);
  const auto& refs = static_cast<const arrow::StringArray&>(*ref_array);
  std::vector<LabelRecord> records(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto row = static_cast<int64_t>(i);
    records[i] = {labels[i], std::string(sources.GetView(row)), ats.Value(row),
                  std::string(refs.GetView(row))};
  }
  return records;
}

}  // namespace pfad::events
