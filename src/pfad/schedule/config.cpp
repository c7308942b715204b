// ScheduleConfig: its settings table (defaults <- [schedule] <- environment) and what it derives.
#include "pfad/schedule/config.h"

namespace pfad::schedule {

const SettingsTable<ScheduleConfig>& ScheduleConfig::Settings() {
  using C = ScheduleConfig;
  static const SettingsTable<C> table({
      {"schedule.dashboard",
       &C::dashboard_url,
       {.env = {"PFAD_DASHBOARD_URL"}, .description = "dashboard base URL; empty = do not post"}},
      {"schedule.token",
       &C::token,
       {.env = {"PFAD_DASHBOARD_TOKEN"}, .description = "the dashboard's bearer token", .secret = true}},
      {"schedule.dashboard_ca",
       &C::dashboard_ca,
       {.env = {"PFAD_DASHBOARD_CA"},
        .description = "PEM CA file trusted for an https:// dashboard; empty = the system's"}},
      {"schedule.state", &C::state, {.description = "run-state database; empty = the command's default"}},
      {"schedule.announcements",
       &C::announcements,
       {.env = {"PFAD_ANNOUNCEMENTS_TOPIC"},
        .description = "the ingester's windows topic to follow; empty = by the clock only"}},
      {"schedule.bootstrap",
       &C::bootstrap,
       {.env = {"PFAD_KAFKA_BOOTSTRAP"}, .description = "Kafka bootstrap servers, for the announcements"}},
      {"schedule.max_active_runs",
       [](auto& c) -> auto& { return c.options.max_active_runs; },
       {.description = "minutes analyzed at once"}},
      {"schedule.retries",
       [](auto& c) -> auto& { return c.options.retries; },
       {.description = "attempts after the first failed one"}},
      {"schedule.retry_delay_s",
       [](auto& c) -> auto& { return c.options.retry_delay; },
       {.unit = "s", .description = "wait before a failed run's next attempt"}},
      {"schedule.dashboard_max_backoff_s",
       [](auto& c) -> auto& { return c.outbox.max_backoff; },
       {.unit = "s", .description = "longest wait between attempts to reach the dashboard"}},
      {"schedule.outbox_max_messages",
       [](auto& c) -> auto& { return c.outbox.max_messages; },
       {.description = "most messages the outbox keeps while the dashboard is down (oldest dropped)",
        .min = 1}},
      {"schedule.outbox_max_age_s",
       [](auto& c) -> auto& { return c.outbox.max_age; },
       {.unit = "s", .description = "outbox messages older than this are dropped undelivered"}},
      {"schedule.report_wait_s",
       &C::report_wait,
       {.unit = "s", .description = "backfill: how long it waits for the dashboard to take the reports"}},
      {"schedule.delay_s",
       &C::delay,
       {.unit = "s",
        .description = "how long after its end a minute runs; unset = 5, or 60 following announcements"}},
  });
  return table;
}

Result<ScheduleConfig> ScheduleConfig::Resolve(const ConfigFile& file) {
  PFAD_ASSIGN_OR_RAISE(auto c, Settings().Resolve(file));
  PFAD_ASSIGN_OR_RAISE(c.kafka, kafka::ConfiguredProperties(file));
  return c;
}

ScheduleOptions ScheduleConfig::Options() const {
  ScheduleOptions o = options;
  o.delay = delay.value_or(announcements.empty() ? options.delay : kAnnouncedDelay);
  return o;
}

std::string ScheduleConfig::DashboardBase() const {
  std::string url = dashboard_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

DashboardTarget ScheduleConfig::Dashboard() const { return {DashboardBase(), token, dashboard_ca}; }

}  // namespace pfad::schedule
