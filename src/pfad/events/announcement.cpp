#include "pfad/events/announcement.h"

#include <nlohmann/json.hpp>

namespace pfad::events {

std::string WindowAnnouncement::ToJson() const {
  return nlohmann::json{{"object", object},
                        {"minute", minute},
                        {"rows", rows},
                        {"added", added},
                        {"update", update},
                        {"close_at_ms", close_at_ms},
                        {"stored_at_ms", stored_at_ms}}
      .dump();
}

Result<WindowAnnouncement> WindowAnnouncement::Parse(std::string_view text) {
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("minute") || !json["minute"].is_string()) {
    return Status::Invalid("not a window announcement (a JSON object with a \"minute\" string)");
  }
  WindowAnnouncement a;
  a.minute = json["minute"].get<std::string>();
  const auto get = [&](const char* key, auto& out) {
    const auto it = json.find(key);
    if (it == json.end() || it->is_null()) return true;
    using T = std::decay_t<decltype(out)>;
    if constexpr (std::is_same_v<T, std::string>) {
      if (!it->is_string()) return false;
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!it->is_boolean()) return false;
    } else {
      if (!it->is_number_integer()) return false;
    }
    out = it->template get<T>();
    return true;
  };
  if (!get("object", a.object) || !get("rows", a.rows) || !get("added", a.added) ||
      !get("update", a.update) || !get("close_at_ms", a.close_at_ms) ||
      !get("stored_at_ms", a.stored_at_ms)) {
    return Status::Invalid("window announcement for ", a.minute, " has a field of the wrong type");
  }
  return a;
}

}  // namespace pfad::events
