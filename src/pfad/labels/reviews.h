// The dashboard's review verdicts as labels (docs/DESIGN.md, "Labels store"): an analyst's
// "fraud" / "not_fraud" on a user or session becomes a LabelRecord with source "review",
// labelled_at = the review's time and ref "review/<id>".
//
// The dashboard lists reviews in id order, GET <url>/reviews?after=<id>&limit=<n>:
//   {"reviews":[{"id":7,"entity_kind":"user","entity_id":"<uuid>","verdict":"fraud",
//                "note":"…","reviewed_ms":…,"first_ms":…,"last_ms":…,"minute":"…"}, …]}
// first_ms / last_ms (the entity's activity in its latest investigation) may be null; the
// label then spans the investigation's minute ("YYYY-MM-DD_HH-MM", pipeline time), else the
// review's own time.
// A page of reviews is stored as one object named after its first and last id
// (ReviewStem), so where to resume after a restart is in the store itself: the highest
// last id among the stems (LastReviewId). No other state is kept.
#pragma once

#include "pfad/common/clock.h"
#include "pfad/common/status.h"
#include "pfad/events/labels.h"
#include "pfad/events/minute.h"
#include "pfad/storage/object_store.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pfad::labels {

// Reviews asked for per request.
inline constexpr int kReviewPageLimit = 1000;

// One page of /reviews, as labels.
struct ReviewPage {
  std::vector<events::LabelRecord> records;  // the usable reviews, in id order
  size_t reviews = 0;                        // reviews in the page, the refused ones included
  int64_t first_id = 0;                      // of the page (0 when it is empty)
  int64_t last_id = 0;
  std::vector<std::string> refused;  // "review <id>: <reason>", for the log
};

// Parses a /reviews answer (`calendar` reads the minutes). A review with an unknown kind or
// verdict, a bad id or times is refused (named in `refused`, its id still counted as seen); an
// answer that is not the documented shape, or ids that do not ascend, is Invalid.
Result<ReviewPage> ParseReviewPage(std::string_view json, const events::MinuteCalendar& calendar);

// "review-<first id, 12 digits>-<last id, 12 digits>".
std::string ReviewStem(int64_t first_id, int64_t last_id);
// The highest last id among the ReviewStem stems (others ignored); 0 when none.
int64_t LastReviewId(std::span<const std::string> stems);

// Where reviews come from: one page after an id (the dashboard over HTTP; fakes in tests).
class ReviewSource {
 public:
  virtual ~ReviewSource() = default;
  // The answer's body; IOError when the source cannot be read.
  virtual Result<std::string> Page(int64_t after, int limit) = 0;
  // What the log calls it (the dashboard's URL).
  [[nodiscard]] virtual std::string Name() const = 0;
};

struct DashboardAccess {
  std::string url;      // http(s)://host:port of `pfad dashboard`
  std::string token;    // bearer token when the dashboard needs one to read; "" = none
  std::string ca_file;  // PEM CA trusted for an https:// dashboard; "" = the system's
  std::chrono::milliseconds timeout{5000};
};

// GET <url>/reviews?after=<id>&limit=<n> with the token as "Authorization: Bearer".
class DashboardReviews final : public ReviewSource {
 public:
  explicit DashboardReviews(DashboardAccess access) : access_(std::move(access)) {}
  Result<std::string> Page(int64_t after, int limit) override;
  [[nodiscard]] std::string Name() const override { return access_.url; }

 private:
  DashboardAccess access_;
};

// Takes new reviews into the store: every `interval`, pages after the last id taken until a
// short page, each page written as one object before the next is asked for. An unreadable
// source or a failed write is logged (once a minute while it lasts) and retried at the next
// poll; nothing is skipped.
class ReviewPoller {
 public:
  ReviewPoller(ReviewSource& source, const storage::ObjectStore& store, storage::ObjectUri prefix,
               const Clock& clock, std::chrono::milliseconds interval);

  // Finds where the last run stopped (the store's review stems); opens the pipeline's calendar.
  [[nodiscard]] Status Resume();
  [[nodiscard]] bool Due() const { return clock_.MonotonicSeconds() >= next_poll_; }
  // Takes every review there is now; the error of the source or the store otherwise.
  [[nodiscard]] Status Poll();

  [[nodiscard]] int64_t last_id() const { return last_id_; }
  [[nodiscard]] int64_t taken() const { return taken_; }
  [[nodiscard]] int64_t refused() const { return refused_; }

 private:
  Status TakeAll();

  ReviewSource& source_;
  const storage::ObjectStore& store_;
  storage::ObjectUri prefix_;
  const Clock& clock_;
  std::optional<events::MinuteCalendar> calendar_;  // set by Resume
  double interval_s_;
  double next_poll_ = 0;
  double last_failure_log_ = -1e18;
  int64_t failures_in_row_ = 0;
  int64_t last_id_ = 0;
  int64_t taken_ = 0;
  int64_t refused_ = 0;
};

}  // namespace pfad::labels
