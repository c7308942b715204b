#include "pfad/dashboard/server.h"

namespace pfad::dashboard {

Result<DashboardConfig> DashboardConfig::Resolve(const ConfigFile& file) {
  DashboardConfig c;
  PFAD_RETURN_NOT_OK(file.ReadInto("dashboard.host", c.host));
  PFAD_RETURN_NOT_OK(file.ReadInto("dashboard.token", c.token));
  PFAD_RETURN_NOT_OK(file.ReadInto("dashboard.read_token", c.read_token));
  PFAD_RETURN_NOT_OK(file.ReadInto("dashboard.tls_cert", c.tls_cert));
  PFAD_RETURN_NOT_OK(file.ReadInto("dashboard.tls_key", c.tls_key));
  PFAD_RETURN_NOT_OK(file.ReadInto("dashboard.database", c.database));
  int64_t port = c.port;
  int64_t max_body = static_cast<int64_t>(c.max_body_bytes);
  int64_t threads = c.threads;
  PFAD_RETURN_NOT_OK(file.ReadInto("dashboard.port", port));
  PFAD_RETURN_NOT_OK(file.ReadInto("dashboard.max_body_bytes", max_body));
  PFAD_RETURN_NOT_OK(file.ReadInto("dashboard.threads", threads));
  if (port < 0 || port > 65535) return Status::Invalid("config: 'dashboard.port' must be from 0 to 65535");
  if (max_body < 1) return Status::Invalid("config: 'dashboard.max_body_bytes' must be at least 1");
  if (threads < 1 || threads > 64) return Status::Invalid("config: 'dashboard.threads' must be from 1 to 64");
  c.port = static_cast<int>(port);
  c.max_body_bytes = static_cast<size_t>(max_body);
  c.threads = static_cast<int>(threads);
  if (auto v = GetEnv("PFAD_DASHBOARD_TOKEN")) c.token = *v;
  if (auto v = GetEnv("PFAD_DASHBOARD_READ_TOKEN")) c.read_token = *v;
  if (auto v = GetEnv("PFAD_DASHBOARD_TLS_CERT")) c.tls_cert = *v;
  if (auto v = GetEnv("PFAD_DASHBOARD_TLS_KEY")) c.tls_key = *v;
  return c;
}

}  // namespace pfad::dashboard
