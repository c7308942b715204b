#include "pfad/dashboard/case_store.h"

#include <mutex>

namespace pfad::dashboard {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS investigations (entity_kind TEXT NOT NULL, entity_id TEXT NOT NULL, "
    "minute TEXT NOT NULL, received_ms INTEGER NOT NULL, fraud_score REAL, is_fraud INTEGER NOT NULL, "
    "body TEXT NOT NULL, PRIMARY KEY (entity_kind, entity_id, minute));"
    "CREATE INDEX IF NOT EXISTS investigations_by_received ON investigations (received_ms);"
    "CREATE TABLE IF NOT EXISTS reviews (id INTEGER PRIMARY KEY AUTOINCREMENT, entity_kind TEXT NOT NULL, "
    "entity_id TEXT NOT NULL, verdict TEXT NOT NULL CHECK (verdict IN ('fraud', 'not_fraud')), "
    "note TEXT NOT NULL, reviewed_ms INTEGER NOT NULL, first_ms INTEGER, last_ms INTEGER, "
    "minute TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS reviews_by_entity ON reviews (entity_kind, entity_id, id);";

constexpr const char* kReviewColumns =
    "id, entity_kind, entity_id, verdict, note, reviewed_ms, first_ms, last_ms, minute";

std::optional<double> OptionalDouble(const SqliteStatement& s, int column) {
  if (s.IsNull(column)) return std::nullopt;
  return s.Double(column);
}

std::optional<int64_t> OptionalInt64(const SqliteStatement& s, int column) {
  if (s.IsNull(column)) return std::nullopt;
  return s.Int64(column);
}

// A row of SELECT kReviewColumns (the table's CHECK keeps kind and verdict valid).
Review ReviewRow(const SqliteStatement& s) {
  return Review{.id = s.Int64(0),
                .kind = ParseEntityKind(s.Text(1)).value_or(EntityKind::kUser),
                .entity_id = s.Text(2),
                .verdict = ParseVerdict(s.Text(3)).value_or(Verdict::kFraud),
                .note = s.Text(4),
                .reviewed_ms = s.Int64(5),
                .first_ms = OptionalInt64(s, 6),
                .last_ms = OptionalInt64(s, 7),
                .minute = s.Text(8)};
}

Result<std::vector<Review>> ReadReviews(SqliteStatement& stmt) {
  std::vector<Review> out;
  while (true) {
    PFAD_ASSIGN_OR_RAISE(const bool row, stmt.Step("read reviews"));
    if (!row) return out;
    out.push_back(ReviewRow(stmt));
  }
}

}  // namespace

Json Alert::ToJson() const {
  const auto optional = [](const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); };
  return Json{{"entity_kind", pfad::dashboard::ToString(kind)},
              {"entity_id", entity_id},
              {"minute", minute},
              {"fraud_score", optional(fraud_score)},
              {"threshold", optional(threshold)},
              {"model", model},
              {"reason", reason},
              {"received_ms", received_ms}};
}

Result<std::unique_ptr<CaseStore>> CaseStore::Open(std::shared_ptr<DashboardDatabase> database) {
  {
    std::lock_guard lock(database->mutex);
    PFAD_RETURN_NOT_OK(database->db->Exec(kSchema));
  }
  return std::unique_ptr<CaseStore>(new CaseStore(std::move(database)));
}

Status CaseStore::AddWithin(SqliteDb& db, const std::vector<Investigation>& investigations,
                            int64_t received_ms, int64_t keep_since_ms) {
  if (!investigations.empty()) {
    PFAD_ASSIGN_OR_RAISE(auto stmt,
                         db.Prepare("INSERT OR REPLACE INTO investigations (entity_kind, entity_id, "
                                    "minute, received_ms, fraud_score, is_fraud, body) "
                                    "VALUES (?, ?, ?, ?, ?, ?, ?)"));
    for (const auto& i : investigations) {
      PFAD_RETURN_NOT_OK(stmt.Reset("store investigation"));
      PFAD_RETURN_NOT_OK(stmt.BindAll(ToString(i.kind), i.entity_id, i.minute, received_ms));
      PFAD_RETURN_NOT_OK(i.fraud_score ? stmt.Bind(5, *i.fraud_score) : stmt.BindNull(5));
      PFAD_RETURN_NOT_OK(stmt.Bind(6, i.is_fraud ? 1 : 0));
      PFAD_RETURN_NOT_OK(stmt.Bind(7, i.body));
      PFAD_RETURN_NOT_OK(stmt.Run("store investigation"));
    }
  }
  PFAD_ASSIGN_OR_RAISE(auto expire, db.Prepare("DELETE FROM investigations WHERE received_ms < ?"));
  PFAD_RETURN_NOT_OK(expire.Bind(1, keep_since_ms));
  return expire.Run("expire investigations");
}

Result<std::optional<EntityCase>> CaseStore::Entity(EntityKind kind, const std::string& id) {
  std::lock_guard lock(database_->mutex);
  SqliteDb& db = *database_->db;
  EntityCase out;
  PFAD_ASSIGN_OR_RAISE(auto latest,
                       db.Prepare("SELECT body FROM investigations WHERE entity_kind = ? AND "
                                  "entity_id = ? ORDER BY received_ms DESC, minute DESC LIMIT 1"));
  PFAD_RETURN_NOT_OK(latest.BindAll(ToString(kind), id));
  PFAD_ASSIGN_OR_RAISE(const bool found, latest.Step("read investigation"));
  if (found) out.investigation = latest.Text(0);

  PFAD_ASSIGN_OR_RAISE(
      auto scores, db.Prepare("SELECT minute, fraud_score, json_extract(body, '$.threshold'), is_fraud "
                              "FROM investigations WHERE entity_kind = ? AND entity_id = ? ORDER BY minute"));
  PFAD_RETURN_NOT_OK(scores.BindAll(ToString(kind), id));
  while (true) {
    PFAD_ASSIGN_OR_RAISE(const bool row, scores.Step("read scores"));
    if (!row) break;
    out.scores.push_back({.minute = scores.Text(0),
                          .fraud_score = OptionalDouble(scores, 1),
                          .threshold = OptionalDouble(scores, 2),
                          .is_fraud = scores.Int(3) != 0});
  }

  PFAD_ASSIGN_OR_RAISE(
      auto events,
      db.Prepare("SELECT DISTINCT e.value, json_extract(e.value, '$.ts_ms') AS ts FROM investigations, "
                 "json_each(investigations.body, '$.events') AS e WHERE entity_kind = ? AND "
                 "entity_id = ? ORDER BY ts DESC, e.value DESC LIMIT 100"));
  PFAD_RETURN_NOT_OK(events.BindAll(ToString(kind), id));
  while (true) {
    PFAD_ASSIGN_OR_RAISE(const bool row, events.Step("read events"));
    if (!row) break;
    out.events.push_back(events.Text(0));
  }

  const std::string sql = std::string("SELECT ") + kReviewColumns +
                          " FROM reviews WHERE entity_kind = ? AND entity_id = ? ORDER BY id DESC";
  PFAD_ASSIGN_OR_RAISE(auto reviews, db.Prepare(sql.c_str()));
  PFAD_RETURN_NOT_OK(reviews.BindAll(ToString(kind), id));
  PFAD_ASSIGN_OR_RAISE(out.reviews, ReadReviews(reviews));
  if (!out.investigation && out.reviews.empty()) return std::optional<EntityCase>();
  return std::optional<EntityCase>(std::move(out));
}

Result<std::vector<Alert>> CaseStore::Alerts(int64_t since_ms, int limit) {
  std::lock_guard lock(database_->mutex);
  PFAD_ASSIGN_OR_RAISE(
      auto stmt,
      database_->db->Prepare(
          "WITH latest AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY entity_kind, entity_id "
          "ORDER BY received_ms DESC, minute DESC) AS n FROM investigations WHERE received_ms >= ?) "
          "SELECT entity_kind, entity_id, minute, received_ms, fraud_score, json_extract(body, "
          "'$.threshold'), "
          "json_extract(body, '$.model'), json_extract(body, '$.why[0].text') FROM latest l "
          "WHERE n = 1 AND is_fraud = 1 AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.entity_kind = "
          "l.entity_kind AND r.entity_id = l.entity_id AND r.reviewed_ms >= l.received_ms) "
          "ORDER BY received_ms DESC, fraud_score DESC, entity_kind, entity_id LIMIT ?"));
  PFAD_RETURN_NOT_OK(stmt.BindAll(since_ms, limit));
  std::vector<Alert> out;
  while (true) {
    PFAD_ASSIGN_OR_RAISE(const bool row, stmt.Step("read alerts"));
    if (!row) return out;
    out.push_back({.kind = ParseEntityKind(stmt.Text(0)).value_or(EntityKind::kUser),
                   .entity_id = stmt.Text(1),
                   .minute = stmt.Text(2),
                   .fraud_score = OptionalDouble(stmt, 4),
                   .threshold = OptionalDouble(stmt, 5),
                   .model = stmt.Text(6),
                   .reason = stmt.Text(7),
                   .received_ms = stmt.Int64(3)});
  }
}

Result<std::optional<Review>> CaseStore::AddReview(EntityKind kind, const std::string& id, Verdict verdict,
                                                   const std::string& note, int64_t reviewed_ms) {
  std::lock_guard lock(database_->mutex);
  SqliteDb& db = *database_->db;
  PFAD_ASSIGN_OR_RAISE(auto latest, db.Prepare("SELECT json_extract(body, '$.first_ms'), "
                                               "json_extract(body, '$.last_ms'), minute FROM investigations "
                                               "WHERE entity_kind = ? AND entity_id = ? "
                                               "ORDER BY received_ms DESC, minute DESC LIMIT 1"));
  PFAD_RETURN_NOT_OK(latest.BindAll(ToString(kind), id));
  PFAD_ASSIGN_OR_RAISE(const bool seen, latest.Step("read investigation"));
  if (!seen) return std::optional<Review>();
  Review review{.kind = kind,
                .entity_id = id,
                .verdict = verdict,
                .note = note,
                .reviewed_ms = reviewed_ms,
                .first_ms = OptionalInt64(latest, 0),
                .last_ms = OptionalInt64(latest, 1),
                .minute = latest.Text(2)};
  PFAD_ASSIGN_OR_RAISE(auto insert, db.Prepare("INSERT INTO reviews (entity_kind, entity_id, verdict, note, "
                                               "reviewed_ms, first_ms, last_ms, minute) "
                                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  PFAD_RETURN_NOT_OK(insert.BindAll(ToString(kind), id, ToString(verdict), note, reviewed_ms));
  // An absent time stays NULL (an unbound parameter is NULL).
  if (review.first_ms) PFAD_RETURN_NOT_OK(insert.Bind(6, *review.first_ms));
  if (review.last_ms) PFAD_RETURN_NOT_OK(insert.Bind(7, *review.last_ms));
  PFAD_RETURN_NOT_OK(insert.Bind(8, review.minute));
  PFAD_RETURN_NOT_OK(insert.Run("store review"));
  review.id = db.LastInsertRowId();
  return std::optional<Review>(std::move(review));
}

Result<std::vector<Review>> CaseStore::Reviews(const ReviewFilter& filter) {
  std::string sql = std::string("SELECT ") + kReviewColumns + " FROM reviews WHERE id > ?";
  if (filter.kind) sql += " AND entity_kind = ?";
  if (filter.entity_id) sql += " AND entity_id = ?";
  if (filter.verdict) sql += " AND verdict = ?";
  sql += " ORDER BY id LIMIT ?";
  std::lock_guard lock(database_->mutex);
  PFAD_ASSIGN_OR_RAISE(auto stmt, database_->db->Prepare(sql.c_str()));
  int column = 1;
  PFAD_RETURN_NOT_OK(stmt.Bind(column++, filter.after));
  if (filter.kind) PFAD_RETURN_NOT_OK(stmt.Bind(column++, ToString(*filter.kind)));
  if (filter.entity_id) PFAD_RETURN_NOT_OK(stmt.Bind(column++, *filter.entity_id));
  if (filter.verdict) PFAD_RETURN_NOT_OK(stmt.Bind(column++, ToString(*filter.verdict)));
  PFAD_RETURN_NOT_OK(stmt.Bind(column, filter.limit));
  return ReadReviews(stmt);
}

}  // namespace pfad::dashboard
