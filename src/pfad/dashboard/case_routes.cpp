// The analyst's routes of the dashboard (server.h): the entity view, the open
// alerts and the reviews, over CaseStore.
#include <nlohmann/json.hpp>

#include <charconv>

#include "pfad/common/log.h"
#include "pfad/dashboard/request_body.h"
#include "pfad/dashboard/server.h"

namespace pfad::dashboard {
namespace {

using Json = nlohmann::ordered_json;
constexpr auto Detail = http::DetailResponse;
constexpr size_t kMaxNoteBytes = 2000;

// Query parameter `name` as an integer in [min, max]: `fallback` when absent,
// nullopt when it is not such an integer.
std::optional<int64_t> IntegerParam(const http::Request& req, const char* name, int64_t fallback, int64_t min,
                                    int64_t max) {
  const auto v = req.Param(name);
  if (!v) return fallback;
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || ptr != v->data() + v->size() || out < min || out > max) return std::nullopt;
  return out;
}

Json OptionalNumber(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

Json ReviewList(const std::vector<Review>& reviews) {
  Json list = Json::array();
  for (const auto& r : reviews) list.push_back(r.ToJson());
  return list;
}

constexpr const char* kBadKind = "entity_kind must be \"user\" or \"session\".";
constexpr const char* kBadVerdict = "verdict must be \"fraud\" or \"not_fraud\".";

}  // namespace

void DashboardServer::CaseRoutes() {
  auto& routes = *http_;

  routes.Get(
      "/entities/{}/{}", Reading([this](const http::Request& req) {
        const auto kind = ParseEntityKind(req.captures[0]);
        if (!kind) return Detail(400, kBadKind);
        const std::string& id = req.captures[1];
        auto found = cases_->Entity(*kind, id);
        if (!found.ok()) return InternalError(found.status());
        if (!*found) return Detail(404, "No investigation or review of this entity.");
        const EntityCase& c = **found;
        Json scores = Json::array();
        for (const auto& p : c.scores) {
          scores.push_back({{"minute", p.minute},
                            {"fraud_score", OptionalNumber(p.fraud_score)},
                            {"threshold", OptionalNumber(p.threshold)},
                            {"is_fraud", p.is_fraud}});
        }
        Json events = Json::array();
        for (const auto& e : c.events) events.push_back(Json::parse(e));
        return JsonBody(Json{{"entity_kind", ToString(*kind)},
                             {"entity_id", id},
                             {"investigation", c.investigation ? Json::parse(*c.investigation) : Json()},
                             {"scores", std::move(scores)},
                             {"events", std::move(events)},
                             {"reviews", ReviewList(c.reviews)}}
                            .dump());
      }));

  routes.Get("/alerts", Reading([this](const http::Request& req) {
               const auto limit = IntegerParam(req, "limit", 100, 1, 1000);
               if (!limit) return Detail(422, "limit must be an integer from 1 to 1000.");
               auto alerts = cases_->Alerts(RetentionStartMs(), static_cast<int>(*limit));
               if (!alerts.ok()) return InternalError(alerts.status());
               Json list = Json::array();
               for (const auto& a : *alerts) list.push_back(a.ToJson());
               return JsonBody(Json{{"alerts", std::move(list)}}.dump());
             }));

  routes.Post("/reviews", [this](const http::Request& req) {
    if (auto denied = Unauthorized(req)) return std::move(*denied);
    auto doc = ParseBoundedJson(req.body, options_.max_json_depth);
    if (!doc.ok()) return Detail(422, "Invalid request body: " + doc.status().message() + ".");
    const Json& d = *doc;
    const auto field = [&](const char* key) { return d.is_object() && d.contains(key) ? &d[key] : nullptr; };
    const Json* kind_field = field("entity_kind");
    const Json* id_field = field("entity_id");
    const Json* verdict_field = field("verdict");
    const Json* note_field = field("note");
    if (!kind_field || !kind_field->is_string() || !id_field || !id_field->is_string() ||
        id_field->get_ref<const std::string&>().empty() || !verdict_field || !verdict_field->is_string() ||
        (note_field && !note_field->is_string() && !note_field->is_null())) {
      return Detail(422,
                    "Invalid request body: expected {\"entity_kind\": string, \"entity_id\": string, "
                    "\"verdict\": string, \"note\": string (optional)}.");
    }
    const auto kind = ParseEntityKind(kind_field->get_ref<const std::string&>());
    if (!kind) return Detail(400, kBadKind);
    const auto verdict = ParseVerdict(verdict_field->get_ref<const std::string&>());
    if (!verdict) return Detail(400, kBadVerdict);
    const std::string note = note_field && note_field->is_string() ? note_field->get<std::string>() : "";
    if (note.size() > kMaxNoteBytes) return Detail(413, "note is longer than 2000 bytes.");
    auto review = cases_->AddReview(*kind, id_field->get<std::string>(), *verdict, note, clock_.NowMillis());
    if (!review.ok()) return InternalError(review.status());
    if (!*review) return Detail(404, "No investigation of this entity is kept: nothing to review.");
    const std::string body = (*review)->ToJson().dump();
    Publish("review", body);
    http::Response r = JsonBody(body);
    r.status = 201;
    return r;
  });

  routes.Get("/reviews", Reading([this](const http::Request& req) {
               ReviewFilter filter;
               if (const auto v = req.Param("entity_kind")) {
                 filter.kind = ParseEntityKind(*v);
                 if (!filter.kind) return Detail(400, kBadKind);
               }
               filter.entity_id = req.Param("entity_id");
               if (const auto v = req.Param("verdict")) {
                 filter.verdict = ParseVerdict(*v);
                 if (!filter.verdict) return Detail(400, kBadVerdict);
               }
               const auto after = IntegerParam(req, "after", 0, 0, INT64_MAX);
               if (!after) return Detail(422, "after must be a review id (an integer from 0).");
               filter.after = *after;
               const auto limit = IntegerParam(req, "limit", 1000, 1, 10000);
               if (!limit) return Detail(422, "limit must be an integer from 1 to 10000.");
               filter.limit = static_cast<int>(*limit);
               auto reviews = cases_->Reviews(filter);
               if (!reviews.ok()) return InternalError(reviews.status());
               return JsonBody(Json{{"reviews", ReviewList(*reviews)}}.dump());
             }));
}

}  // namespace pfad::dashboard
