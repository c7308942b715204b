// The windows-topic announcement (docs/DESIGN.md, "Announcements"): one JSON
// message per stored minute object, written by the ingester and read by the
// scheduler (`pfad run --announcements`) so a minute runs as soon as its object
// is stored. Keyed by the minute name. This type is the contract's one source:
//   {"object": "<uri>", "minute": "YYYY-MM-DD_HH-MM", "rows": n, "added": n,
//    "update": bool, "close_at_ms": n, "stored_at_ms": n}
#pragma once

#include "pfad/common/status.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace pfad::events {

struct WindowAnnouncement {
  std::string object;        // the stored object's URI
  std::string minute;        // "YYYY-MM-DD_HH-MM"
  int64_t rows = 0;          // rows in the object now
  int64_t added = 0;         // events this write added
  bool update = false;       // the object was rewritten (late events)
  int64_t close_at_ms = 0;   // when the minute was due (end + grace), epoch ms
  int64_t stored_at_ms = 0;  // when the write finished, epoch ms

  [[nodiscard]] std::string ToJson() const;
  // Invalid when `text` is not such a JSON object (a "minute" string is required;
  // the other fields default when missing).
  static Result<WindowAnnouncement> Parse(std::string_view text);
};

}  // namespace pfad::events
