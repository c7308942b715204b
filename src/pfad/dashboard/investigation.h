// The analyst's wire contract (docs/DESIGN.md, "Dashboard HTTP API"):
//
// - An Investigation is one element of a report's fraud.investigations array,
//   written by the fraud scorer: one scored entity of one minute with its score,
//   the reasons in words, its recent events and its graph neighbourhood. The
//   dashboard reads only the few fields it indexes or lists; the element itself
//   is kept as JSON and served back unchanged.
// - A Review is an analyst's verdict on an entity (POST /reviews). Reviews form
//   a history: the newest one of an entity counts, and their ids only grow, so
//   a labels consumer can page through them with `after=<id>` exactly once.
#pragma once

#include "pfad/common/status.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pfad::dashboard {

enum class EntityKind { kUser, kSession };
[[nodiscard]] const char* ToString(EntityKind kind);
[[nodiscard]] std::optional<EntityKind> ParseEntityKind(std::string_view text);

enum class Verdict { kFraud, kNotFraud };
[[nodiscard]] const char* ToString(Verdict verdict);
[[nodiscard]] std::optional<Verdict> ParseVerdict(std::string_view text);

struct Investigation {
  EntityKind kind = EntityKind::kUser;
  std::string entity_id;
  std::string minute;  // "2025-01-15_10-05"
  std::optional<double> fraud_score;
  bool is_fraud = false;
  std::string body;  // the element as JSON text, as the scorer sent it

  // Invalid (saying which field) unless `element` is an object with entity_kind
  // "user"|"session" and non-empty string entity_id and minute.
  static Result<Investigation> Parse(const nlohmann::ordered_json& element);
};

// A POST /report body split for storage: the document without
// report.fraud.investigations, and the valid investigations it carried.
struct ReportPost {
  std::string document;  // {"report": ...} as JSON text
  std::vector<Investigation> investigations;
  std::vector<std::string> skipped;  // why each invalid element was left out
};

struct Review {
  int64_t id = 0;
  EntityKind kind = EntityKind::kUser;
  std::string entity_id;
  Verdict verdict = Verdict::kFraud;
  std::string note;
  int64_t reviewed_ms = 0;
  std::optional<int64_t> first_ms;  // of the entity's latest investigation
  std::optional<int64_t> last_ms;
  std::string minute;

  [[nodiscard]] nlohmann::ordered_json ToJson() const;
};

}  // namespace pfad::dashboard
