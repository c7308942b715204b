// A windows-topic message as the scheduler reads it
// (events::WindowAnnouncement::Parse); one that parses must come back the
// same through its own JSON.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pfad/events/announcement.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using pfad::events::WindowAnnouncement;
  auto a = WindowAnnouncement::Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!a.ok()) return 0;
  const std::string json = a->ToJson();
  auto again = WindowAnnouncement::Parse(json);
  if (!again.ok() || again->ToJson() != json) __builtin_trap();
  return 0;
}
