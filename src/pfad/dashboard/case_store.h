// The analyst's cases, in the dashboard's database beside the reports:
//
// - investigations: the elements of reports' fraud.investigations, one row per
//   (entity_kind, entity_id, minute), the newest posting replacing an older
//   one. They are working data: rows received before the retention window
//   are deleted on every commit round.
// - reviews: analysts' verdicts, never deleted. A new verdict on an entity is
//   a new row; the newest counts. Ids are SQLite's AUTOINCREMENT: they only
//   grow and are never reused, so readers page with "id > after".
//
// An entity's latest investigation is the one received last (of one posting,
// the latest minute). It is an open alert while it flags the entity, lies in
// the retention window and no review of the entity is at or after its receipt.
#pragma once

#include "pfad/common/status.h"
#include "pfad/dashboard/investigation.h"
#include "pfad/dashboard/report_store.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pfad::dashboard {

// One minute of an entity's score history.
struct ScorePoint {
  std::string minute;
  std::optional<double> fraud_score;
  std::optional<double> threshold;
  bool is_fraud = false;
};

// What GET /entities/{kind}/{id} shows.
struct EntityCase {
  std::optional<std::string> investigation;  // the latest element's JSON, if any is kept
  std::vector<ScorePoint> scores;            // oldest minute first
  std::vector<Review> reviews;               // newest first
  // The events of every kept investigation of the entity (each minute lists its own: the live
  // scorer has the scored minute's events in hand), once each, newest first, at most 100.
  std::vector<std::string> events;
};

// An open alert of GET /alerts.
struct Alert {
  EntityKind kind = EntityKind::kUser;
  std::string entity_id;
  std::string minute;
  std::optional<double> fraud_score;
  std::optional<double> threshold;
  std::string model;
  std::string reason;  // the first "why" in words, or ""
  int64_t received_ms = 0;

  [[nodiscard]] nlohmann::ordered_json ToJson() const;
};

struct ReviewFilter {
  std::optional<EntityKind> kind;
  std::optional<std::string> entity_id;
  std::optional<Verdict> verdict;
  int64_t after = 0;  // only ids above this
  int limit = 1000;
};

class CaseStore {
 public:
  // Creates the tables (if needed) in `database`, which the ReportStore opened.
  static Result<std::unique_ptr<CaseStore>> Open(std::shared_ptr<DashboardDatabase> database);

  // Inside a transaction the caller holds (ReportStore::AddAll's `also`):
  // stores `investigations` as received at `received_ms`, then deletes the
  // rows received before `keep_since_ms`.
  [[nodiscard]] static Status AddWithin(SqliteDb& db, const std::vector<Investigation>& investigations,
                                        int64_t received_ms, int64_t keep_since_ms);

  // The entity's case; nullopt when it has neither an investigation nor a review.
  [[nodiscard]] Result<std::optional<EntityCase>> Entity(EntityKind kind, const std::string& id);
  // Open alerts among investigations received since `since_ms`, newest first.
  [[nodiscard]] Result<std::vector<Alert>> Alerts(int64_t since_ms, int limit);
  // Records a verdict (committed when this returns), copying first_ms, last_ms
  // and minute from the entity's latest investigation; nullopt when none is kept.
  [[nodiscard]] Result<std::optional<Review>> AddReview(EntityKind kind, const std::string& id,
                                                        Verdict verdict, const std::string& note,
                                                        int64_t reviewed_ms);
  // Reviews matching `filter`, by id ascending.
  [[nodiscard]] Result<std::vector<Review>> Reviews(const ReviewFilter& filter);

 private:
  explicit CaseStore(std::shared_ptr<DashboardDatabase> database) : database_(std::move(database)) {}
  std::shared_ptr<DashboardDatabase> database_;
};

}  // namespace pfad::dashboard
