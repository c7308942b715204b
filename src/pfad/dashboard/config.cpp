#include "pfad/dashboard/server.h"

namespace pfad::dashboard {

Result<DashboardConfig> DashboardConfig::Resolve(const ConfigFile& file) {
  DashboardConfig c;
  PFAD_ASSIGN_OR_RAISE(auto host, file.GetString("dashboard.host"));
  if (host) c.host = *host;
  PFAD_ASSIGN_OR_RAISE(auto port, file.GetInt("dashboard.port"));
  if (port) {
    if (*port < 0 || *port > 65535) return Status::Invalid("config: 'dashboard.port' must be from 0 to 65535");
    c.port = static_cast<int>(*port);
  }
  PFAD_ASSIGN_OR_RAISE(auto token, file.GetString("dashboard.token"));
  if (token) c.token = *token;
  PFAD_ASSIGN_OR_RAISE(auto database, file.GetString("dashboard.database"));
  if (database) c.database = *database;
  PFAD_ASSIGN_OR_RAISE(auto max_body, file.GetInt("dashboard.max_body_bytes"));
  if (max_body) {
    if (*max_body < 1) return Status::Invalid("config: 'dashboard.max_body_bytes' must be at least 1");
    c.max_body_bytes = static_cast<size_t>(*max_body);
  }
  PFAD_ASSIGN_OR_RAISE(auto threads, file.GetInt("dashboard.threads"));
  if (threads) {
    if (*threads < 1 || *threads > 64) return Status::Invalid("config: 'dashboard.threads' must be from 1 to 64");
    c.threads = static_cast<int>(*threads);
  }
  if (auto v = GetEnv("PFAD_DASHBOARD_TOKEN")) c.token = *v;
  return c;
}

}  // namespace pfad::dashboard
