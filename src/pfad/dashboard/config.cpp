// DashboardConfig's settings table: defaults <- [dashboard] <- environment.
#include "pfad/dashboard/server.h"

namespace pfad::dashboard {

const SettingsTable<DashboardConfig>& DashboardConfig::Settings() {
  using C = DashboardConfig;
  static const SettingsTable<C> table({
      {"dashboard.host", &C::host, {.description = "address to listen on"}},
      {"dashboard.token",
       &C::token,
       {.env = {"PFAD_DASHBOARD_TOKEN"},
        .description = "bearer token for POST and DELETE; empty = none (loopback only)",
        .secret = true}},
      {"dashboard.read_token",
       &C::read_token,
       {.env = {"PFAD_DASHBOARD_READ_TOKEN"},
        .description = "bearer token for reading; empty = reads are open",
        .secret = true}},
      {"dashboard.tls_cert",
       &C::tls_cert,
       {.env = {"PFAD_DASHBOARD_TLS_CERT"},
        .description = "PEM certificate (chain) to serve HTTPS; empty = HTTP"}},
      {"dashboard.tls_key",
       &C::tls_key,
       {.env = {"PFAD_DASHBOARD_TLS_KEY"}, .description = "PEM private key of the certificate"}},
      {"dashboard.database", &C::database, {.description = "SQLite file of the history; empty = in memory"}},
      {"dashboard.port", &C::port, {.description = "TCP port (0 = any free port)", .min = 0, .max = 65535}},
      {"dashboard.max_body_bytes",
       &C::max_body_bytes,
       {.unit = "bytes", .description = "largest request body accepted", .min = 1}},
      {"dashboard.threads",
       &C::threads,
       {.description = "event loops serving connections", .min = 1, .max = 64}},
      {"dashboard.investigation_retention_minutes",
       &C::investigation_retention_minutes,
       {.env = {"PFAD_DASHBOARD_INVESTIGATION_RETENTION_MINUTES"},
        .unit = "minutes",
        .description = "investigations (and so open alerts) older than this are deleted; reviews are kept",
        .min = 1}},
      {"dashboard.prometheus",
       &C::prometheus,
       {.env = {"PFAD_PROMETHEUS_URL"},
        .description =
            "Prometheus base URL the page's pipeline-health row reads (GET /pipeline); empty = this "
            "process's own metrics"}},
  });
  return table;
}

Result<DashboardConfig> DashboardConfig::Resolve(const ConfigFile& file) { return Settings().Resolve(file); }

}  // namespace pfad::dashboard
