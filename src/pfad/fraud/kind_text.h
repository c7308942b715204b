// Private to the fraud library: the entity kind as shown in messages and
// reports ("user" | "session", the same text as events::ToString). Inline so
// that the fraud library does not need the labels' Parquet/JSON code.
#pragma once

#include "pfad/events/labels.h"

#include <string_view>

namespace pfad::fraud {

inline std::string_view KindText(events::EntityKind kind) {
  return kind == events::EntityKind::kUser ? "user" : "session";
}

}  // namespace pfad::fraud
