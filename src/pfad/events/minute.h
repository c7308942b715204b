// Minute windows in the pipeline's time zone, Asia/Tehran (docs/DESIGN.md, "Minute objects"),
// computed from the system tz database, never from a fixed offset.
//
// A minute is named by its local wall-clock time: "YYYY-MM-DD_HH-MM". That name
// is the stem of the minute's Parquet object and of its JSON report.
#pragma once

#include "pfad/common/status.h"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace pfad::events {

inline constexpr std::string_view kPipelineTimeZone = "Asia/Tehran";

// One local minute of the pipeline zone and the instants it covers.
struct Minute {
  cctz::civil_minute local;
  int64_t start_ms = 0;  // first instant (epoch ms, UTC) whose local minute is `local`
  int64_t end_ms = 0;    // one past the last instant

  // "YYYY-MM-DD_HH-MM" (object stem).
  [[nodiscard]] std::string Name() const;
  // "YYYY-MM-DD HH:MM" (what people type).
  [[nodiscard]] std::string Display() const;
};

// The minute's object name, "YYYY-MM-DD_HH-MM.parquet" (docs/DESIGN.md, "Object names"):
// the one place that spells it.
[[nodiscard]] std::string ObjectName(const Minute& minute);
inline constexpr std::string_view kObjectSuffix = ".parquet";

// The pipeline time zone, loaded once from the tz database.
class MinuteCalendar {
 public:
  // Fails with a clear message when the zone is not in the tz database (tzdata missing).
  static Result<MinuteCalendar> Open(std::string_view zone = kPipelineTimeZone);

  // The local minute holding an instant (epoch milliseconds, any sign).
  [[nodiscard]] Minute MinuteOf(int64_t epoch_ms) const;
  // Object stem for an instant: "YYYY-MM-DD_HH-MM".
  [[nodiscard]] std::string MinuteName(int64_t epoch_ms) const { return MinuteOf(epoch_ms).Name(); }
  // Parses "YYYY-MM-DD HH:MM", "YYYY-MM-DDTHH:MM" or the stem form "YYYY-MM-DD_HH-MM".
  // A local minute skipped by a clock change is an error; one that occurs twice
  // resolves to its first occurrence.
  [[nodiscard]] Result<Minute> Parse(std::string_view text) const;

  [[nodiscard]] const cctz::time_zone& zone() const { return zone_; }

 private:
  explicit MinuteCalendar(cctz::time_zone zone) : zone_(zone) {}
  [[nodiscard]] Minute FromCivil(cctz::civil_minute local, const cctz::time_zone::civil_lookup& lookup) const;
  cctz::time_zone zone_;
};

}  // namespace pfad::events
