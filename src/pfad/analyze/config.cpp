#include "pfad/analyze/analyze.h"

namespace pfad::analyze {

Result<AnalyzeConfig> AnalyzeConfig::Resolve(const ConfigFile& file) {
  AnalyzeConfig c;
  PFAD_ASSIGN_OR_RAISE(auto threads, file.GetInt("analyze.threads"));
  if (threads) {
    if (*threads < 0) return Status::Invalid("config: 'analyze.threads' must be >= 0 (0 = one per core)");
    c.options.threads = static_cast<int>(*threads);
  }
  PFAD_ASSIGN_OR_RAISE(auto engine, file.GetString("analyze.engine"));
  if (engine) c.engine = *engine;
  if (auto v = GetEnv("PFAD_ENGINE")) c.engine = *v;
  if (c.engine != "local" && c.engine != "spark") {
    return Status::Invalid("unknown engine '", c.engine,
                           "' in PFAD_ENGINE or [analyze] engine (local or spark)");
  }
  return c;
}

}  // namespace pfad::analyze
