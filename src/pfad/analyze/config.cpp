// AnalyzeConfig's settings table: defaults <- [analyze] <- PFAD_ENGINE.
#include "pfad/analyze/analyze.h"

namespace pfad::analyze {

const SettingsTable<AnalyzeConfig>& AnalyzeConfig::Settings() {
  static const SettingsTable<AnalyzeConfig> table(
      {
          {"analyze.threads",
           [](auto& c) -> auto& { return c.options.threads; },
           {.description = "threads of the local engine (0 = one per core)",
            .min = 0,
            .bounds_note = "(0 = one per core)"}},
          {"analyze.engine",
           &AnalyzeConfig::engine,
           {.env = {"PFAD_ENGINE"}, .description = "the engine that counts events: local or spark"}},
      },
      {[](const AnalyzeConfig& c) -> Status {
        if (c.engine != "local" && c.engine != "spark") {
          return Status::Invalid("unknown engine '", c.engine,
                                 "' in PFAD_ENGINE or [analyze] engine (local or spark)");
        }
        return Status::OK();
      }});
  return table;
}

Result<AnalyzeConfig> AnalyzeConfig::Resolve(const ConfigFile& file) { return Settings().Resolve(file); }

}  // namespace pfad::analyze
