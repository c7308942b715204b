#include "pfad/labels/reviews.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

#include "pfad/common/http_client.h"
#include "pfad/common/log.h"
#include "pfad/labels/label_store.h"

namespace pfad::labels {
namespace {

auto Log() { return Logger("labels"); }

constexpr std::string_view kReviewStemPrefix = "review-";
constexpr double kFailureLogEvery = 60.0;  // seconds between log lines while the dashboard is down

// The review as a label, or why it cannot be one.
Result<events::LabelRecord> ReviewRecord(const nlohmann::json& review, int64_t id,
                                         const events::MinuteCalendar& calendar) {
  const auto text = [&](const char* key) -> Result<std::string> {
    const auto it = review.find(key);
    if (it == review.end() || !it->is_string()) return Status::Invalid("no \"", key, "\" string");
    return it->get<std::string>();
  };
  // An integer, nullopt when null or absent.
  const auto number = [&](const char* key) -> Result<std::optional<int64_t>> {
    const auto it = review.find(key);
    if (it == review.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer()) return Status::Invalid("\"", key, "\" is not an integer");
    return it->get<int64_t>();
  };
  events::LabelRecord record;
  PFAD_ASSIGN_OR_RAISE(const auto kind_text, text("entity_kind"));
  const auto kind = events::ParseEntityKind(kind_text);
  if (!kind) return Status::Invalid("unknown entity_kind '", EscapeUntrusted(kind_text), "'");
  record.label.kind = *kind;
  PFAD_ASSIGN_OR_RAISE(const auto id_text, text("entity_id"));
  auto entity = events::Uuid::Parse(id_text);
  if (!entity.ok()) return Status::Invalid("entity_id '", EscapeUntrusted(id_text), "' is not a UUID");
  record.label.entity_id = *entity;
  PFAD_ASSIGN_OR_RAISE(const auto verdict, text("verdict"));
  if (verdict == "fraud") {
    record.label.scenario = events::Scenario::kFraud;
  } else if (verdict == "not_fraud") {
    record.label.scenario = events::Scenario::kNotFraud;
  } else {
    return Status::Invalid("unknown verdict '", EscapeUntrusted(verdict), "' (expected fraud or not_fraud)");
  }
  PFAD_ASSIGN_OR_RAISE(const auto reviewed, number("reviewed_ms"));
  if (!reviewed) return Status::Invalid("no \"reviewed_ms\" integer");
  record.labelled_at = *reviewed;
  PFAD_ASSIGN_OR_RAISE(const auto first, number("first_ms"));
  PFAD_ASSIGN_OR_RAISE(const auto last, number("last_ms"));
  // Without the entity's times, the minute it was investigated in; else the review's time.
  int64_t span_first = *reviewed, span_last = *reviewed;
  if (const auto it = review.find("minute"); it != review.end() && it->is_string()) {
    if (auto minute = calendar.Parse(it->get<std::string>()); minute.ok()) {
      span_first = minute->start_ms;
      span_last = minute->end_ms - 1;
    }
  }
  record.label.first_ms = first.value_or(span_first);
  record.label.last_ms = last.value_or(std::max(span_last, record.label.first_ms));
  if (record.label.last_ms < record.label.first_ms) return Status::Invalid("last_ms is before first_ms");
  record.source = "review";
  record.ref = fmt::format("review/{}", id);
  return record;
}

}  // namespace

Result<ReviewPage> ParseReviewPage(std::string_view json, const events::MinuteCalendar& calendar) {
  const auto doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("reviews") || !doc["reviews"].is_array()) {
    return Status::Invalid("the dashboard's /reviews answer is not {\"reviews\":[...]}: ",
                           EscapeUntrusted(json.substr(0, 200)));
  }
  ReviewPage page;
  for (const auto& review : doc["reviews"]) {
    const auto id_it = review.is_object() ? review.find("id") : review.end();
    if (!review.is_object() || id_it == review.end() || !id_it->is_number_integer() ||
        id_it->get<int64_t>() <= 0) {
      return Status::Invalid("a review of the dashboard's /reviews answer has no positive integer \"id\"");
    }
    const int64_t id = id_it->get<int64_t>();
    if (id <= page.last_id) {
      return Status::Invalid("the dashboard's /reviews answer is not in ascending id order (", id, " after ",
                             page.last_id, ")");
    }
    if (page.first_id == 0) page.first_id = id;
    page.last_id = id;
    ++page.reviews;
    auto record = ReviewRecord(review, id, calendar);
    if (record.ok()) {
      page.records.push_back(std::move(*record));
    } else {
      page.refused.push_back(fmt::format("review {}: {}", id, record.status().message()));
    }
  }
  return page;
}

std::string ReviewStem(int64_t first_id, int64_t last_id) {
  return fmt::format("{}{:012}-{:012}", kReviewStemPrefix, first_id, last_id);
}

int64_t LastReviewId(std::span<const std::string> stems) {
  int64_t last = 0;
  for (const auto& stem : stems) {
    if (!stem.starts_with(kReviewStemPrefix)) continue;
    const auto dash = stem.rfind('-');
    if (dash + 1 >= stem.size() || dash < kReviewStemPrefix.size()) continue;
    int64_t id = 0;
    const char* end = stem.data() + stem.size();
    if (const auto [ptr, ec] = std::from_chars(stem.data() + dash + 1, end, id);
        ec == std::errc() && ptr == end) {
      last = std::max(last, id);
    }
  }
  return last;
}

Result<std::string> DashboardReviews::Page(int64_t after, int limit) {
  HttpRequest request{.url = fmt::format("{}/reviews?after={}&limit={}", access_.url, after, limit),
                      .timeout = access_.timeout,
                      .max_attempts = 1,  // the poller retries at its own pace
                      .ca_file = access_.ca_file};
  if (!access_.token.empty()) request.headers.push_back("Authorization: Bearer " + access_.token);
  PFAD_ASSIGN_OR_RAISE(const auto response, SendHttp(request));
  if (response.status == 200) return response.body;
  if (response.status == 401 || response.status == 403) {
    return Status::IOError("the dashboard at ", access_.url, " refused to list reviews (HTTP ",
                           response.status,
                           "): give its read token (PFAD_DASHBOARD_READ_TOKEN or [labels] dashboard_token)");
  }
  if (response.status == 404) {
    return Status::IOError("the dashboard at ", access_.url,
                           " has no /reviews (HTTP 404): it is older than the review verdicts");
  }
  return Status::IOError("the dashboard at ", access_.url, " answered /reviews with HTTP ", response.status);
}

ReviewPoller::ReviewPoller(ReviewSource& source, const storage::ObjectStore& store, storage::ObjectUri prefix,
                           const Clock& clock, std::chrono::milliseconds interval)
    : source_(source),
      store_(store),
      prefix_(std::move(prefix)),
      clock_(clock),
      interval_s_(std::chrono::duration<double>(interval).count()) {}

Status ReviewPoller::Resume() {
  if (!calendar_) {
    PFAD_ASSIGN_OR_RAISE(auto calendar, events::MinuteCalendar::Open());
    calendar_.emplace(std::move(calendar));
  }
  PFAD_ASSIGN_OR_RAISE(const auto stems, ListLabelStems(store_, prefix_));
  last_id_ = LastReviewId(stems);
  Log()->info("reviews resume after_id={} dashboard={}", last_id_, source_.Name());
  return Status::OK();
}

Status ReviewPoller::TakeAll() {
  if (!calendar_) return Status::Invalid("ReviewPoller::Poll before Resume");
  while (true) {
    PFAD_ASSIGN_OR_RAISE(const auto body, source_.Page(last_id_, kReviewPageLimit));
    PFAD_ASSIGN_OR_RAISE(const auto page, ParseReviewPage(body, *calendar_));
    if (page.reviews == 0) return Status::OK();
    if (page.first_id <= last_id_) {
      return Status::Invalid("the dashboard listed review ", page.first_id, " when asked for those after ",
                             last_id_);
    }
    for (const auto& reason : page.refused) Log()->error("review not taken (not a label): {}", reason);
    if (!page.records.empty()) {
      PFAD_RETURN_NOT_OK(
          WriteLabelRecords(store_, prefix_, ReviewStem(page.first_id, page.last_id), page.records).status());
    }
    last_id_ = page.last_id;
    taken_ += static_cast<int64_t>(page.records.size());
    refused_ += static_cast<int64_t>(page.refused.size());
    Log()->info("reviews taken={} refused={} ids={}..{}", page.records.size(), page.refused.size(),
                page.first_id, page.last_id);
    if (page.reviews < static_cast<size_t>(kReviewPageLimit)) return Status::OK();
  }
}

Status ReviewPoller::Poll() {
  const double now = clock_.MonotonicSeconds();
  next_poll_ = now + interval_s_;
  Status st = TakeAll();
  if (st.ok()) {
    if (failures_in_row_ > 0)
      Log()->info("reviews: {} readable again after {} failed polls", source_.Name(), failures_in_row_);
    failures_in_row_ = 0;
    return st;
  }
  ++failures_in_row_;
  if (now - last_failure_log_ >= kFailureLogEvery) {
    last_failure_log_ = now;
    Log()->warn(
        "reviews: cannot take them ({} failed polls so far; retrying every {} s, logged once a minute): {}",
        failures_in_row_, interval_s_, st.message());
  }
  return st;
}

}  // namespace pfad::labels
