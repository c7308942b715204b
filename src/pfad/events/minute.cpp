#include "pfad/events/minute.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>

namespace pfad::events {
namespace {
using Millis = std::chrono::duration<int64_t, std::milli>;
using TimePointMs = std::chrono::time_point<std::chrono::system_clock, Millis>;

int64_t ToMillis(std::chrono::system_clock::time_point tp) {
  return std::chrono::duration_cast<Millis>(tp.time_since_epoch()).count();
}

bool ParseInt(std::string_view text, int* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}
}  // namespace

std::string Minute::Name() const {
  return fmt::format("{:04d}-{:02d}-{:02d}_{:02d}-{:02d}", local.year(), local.month(), local.day(),
                     local.hour(), local.minute());
}

std::string Minute::Display() const {
  return fmt::format("{:04d}-{:02d}-{:02d} {:02d}:{:02d}", local.year(), local.month(), local.day(),
                     local.hour(), local.minute());
}

Result<MinuteCalendar> MinuteCalendar::Open(std::string_view zone) {
  cctz::time_zone tz;
  if (!cctz::load_time_zone(std::string(zone), &tz)) {
    return Status::IOError("time zone '", zone,
                           "' is not in the tz database (install the tzdata package, or set TZDIR)");
  }
  return MinuteCalendar(tz);
}

Minute MinuteCalendar::MinuteOf(int64_t epoch_ms) const {
  const TimePointMs tp{Millis{epoch_ms}};
  // Floor to the second first so negative instants land in the right second.
  const auto secs = std::chrono::floor<std::chrono::seconds>(tp);
  const cctz::civil_minute local(cctz::convert(secs, zone_));
  return FromCivil(local, zone_.lookup(local));
}

Minute MinuteCalendar::FromCivil(cctz::civil_minute local,
                                 const cctz::time_zone::civil_lookup& lookup) const {
  Minute m;
  m.local = local;
  // For a repeated minute (clock set back) `pre` is the first occurrence; the
  // minute's instants then run until the next local minute's first instant.
  m.start_ms = ToMillis(lookup.pre);
  if (lookup.kind == cctz::time_zone::civil_lookup::SKIPPED) m.start_ms = ToMillis(lookup.trans);
  const auto next = zone_.lookup(cctz::civil_second(local + 1));
  m.end_ms = ToMillis(next.kind == cctz::time_zone::civil_lookup::SKIPPED ? next.trans : next.pre);
  return m;
}

Result<Minute> MinuteCalendar::Parse(std::string_view text) const {
  // Accepted: YYYY-MM-DD HH:MM, YYYY-MM-DDTHH:MM, YYYY-MM-DD_HH-MM
  const auto bad = [&] {
    return Status::Invalid("not a minute: '", text,
                           "' (expected 'YYYY-MM-DD HH:MM' or 'YYYY-MM-DD_HH-MM', Asia/Tehran time)");
  };
  if (text.size() != 16 || text[4] != '-' || text[7] != '-') return bad();
  const char sep = text[10];
  const char colon = text[13];
  if (!((sep == ' ' || sep == 'T') && colon == ':') && !(sep == '_' && colon == '-')) return bad();
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  if (!ParseInt(text.substr(0, 4), &y) || !ParseInt(text.substr(5, 2), &mo) ||
      !ParseInt(text.substr(8, 2), &d) || !ParseInt(text.substr(11, 2), &h) ||
      !ParseInt(text.substr(14, 2), &mi)) {
    return bad();
  }
  const cctz::civil_minute local(y, mo, d, h, mi);
  // civil_minute normalises out-of-range fields (Feb 30 -> Mar 2): reject those.
  if (local.year() != y || local.month() != mo || local.day() != d || local.hour() != h ||
      local.minute() != mi) {
    return bad();
  }
  const auto lookup = zone_.lookup(cctz::civil_second(local));
  const auto next = zone_.lookup(cctz::civil_second(local + 1));
  const auto next_start = next.kind == cctz::time_zone::civil_lookup::SKIPPED ? next.trans : next.pre;
  if (lookup.kind == cctz::time_zone::civil_lookup::SKIPPED && next_start <= lookup.trans) {
    return Status::Invalid("minute '", text, "' does not exist in ", zone_.name(),
                           " (skipped by a clock change)");
  }
  return FromCivil(local, lookup);
}

std::string ObjectName(const Minute& minute) { return minute.Name() + std::string(kObjectSuffix); }

}  // namespace pfad::events
