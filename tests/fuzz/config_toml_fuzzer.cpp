// The TOML config file (common/config_file.h): parsing, then the lookups
// every stage makes, through the real Resolve of two stages and each typed
// getter on a table and a few dotted paths.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pfad/analyze/analyze.h"
#include "pfad/common/config_file.h"
#include "pfad/dashboard/server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = pfad::ConfigFile::Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!file.ok()) return 0;
  (void)pfad::analyze::AnalyzeConfig::Resolve(*file);
  (void)pfad::dashboard::DashboardConfig::Resolve(*file);
  for (const std::string_view path : {"a", "a.b", "kafka.x", "ingest.grace_s"}) {
    (void)file->GetString(path);
    (void)file->GetInt(path);
    (void)file->GetDouble(path);
    // A duration that reads is never negative (nan once became one).
    if (auto seconds = file->GetSeconds(path);
        seconds.ok() && *seconds && **seconds < std::chrono::milliseconds(0)) {
      __builtin_trap();
    }
    int narrow = 0;
    (void)file->ReadInto(path, narrow);
  }
  (void)file->GetTable("kafka");
  (void)file->GetTable("a");
  return 0;
}
