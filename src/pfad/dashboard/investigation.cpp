#include "pfad/dashboard/investigation.h"

namespace pfad::dashboard {

using Json = nlohmann::ordered_json;

const char* ToString(EntityKind kind) { return kind == EntityKind::kUser ? "user" : "session"; }

std::optional<EntityKind> ParseEntityKind(std::string_view text) {
  if (text == "user") return EntityKind::kUser;
  if (text == "session") return EntityKind::kSession;
  return std::nullopt;
}

const char* ToString(Verdict verdict) { return verdict == Verdict::kFraud ? "fraud" : "not_fraud"; }

std::optional<Verdict> ParseVerdict(std::string_view text) {
  if (text == "fraud") return Verdict::kFraud;
  if (text == "not_fraud") return Verdict::kNotFraud;
  return std::nullopt;
}

Result<Investigation> Investigation::Parse(const Json& element) {
  if (!element.is_object()) return Status::Invalid("an investigation must be an object");
  const auto text = [&](const char* key) -> std::optional<std::string> {
    const auto it = element.find(key);
    if (it == element.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) return {};
    return it->get<std::string>();
  };
  const auto kind_text = text("entity_kind");
  const auto kind = kind_text ? ParseEntityKind(*kind_text) : std::nullopt;
  if (!kind) return Status::Invalid("entity_kind must be \"user\" or \"session\"");
  auto id = text("entity_id");
  if (!id) return Status::Invalid("entity_id must be a non-empty string");
  auto minute = text("minute");
  if (!minute) return Status::Invalid("minute must be a non-empty string");
  Investigation out{.kind = *kind, .entity_id = *std::move(id), .minute = *std::move(minute)};
  if (const auto it = element.find("fraud_score"); it != element.end() && it->is_number()) {
    out.fraud_score = it->get<double>();
  }
  if (const auto it = element.find("is_fraud"); it != element.end() && it->is_boolean()) {
    out.is_fraud = it->get<bool>();
  }
  out.body = element.dump();
  return out;
}

Json Review::ToJson() const {
  const auto optional = [](const std::optional<int64_t>& v) { return v ? Json(*v) : Json(nullptr); };
  return Json{{"id", id},
              {"entity_kind", pfad::dashboard::ToString(kind)},
              {"entity_id", entity_id},
              {"verdict", pfad::dashboard::ToString(verdict)},
              {"note", note},
              {"reviewed_ms", reviewed_ms},
              {"first_ms", optional(first_ms)},
              {"last_ms", optional(last_ms)},
              {"minute", minute}};
}

}  // namespace pfad::dashboard
