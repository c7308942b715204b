#include "pfad/schedule/config.h"

namespace pfad::schedule {

Result<ScheduleConfig> ScheduleConfig::Resolve(const ConfigFile& file) {
  ScheduleConfig c;
  PFAD_RETURN_NOT_OK(file.ReadInto("schedule.dashboard", c.dashboard_url));
  PFAD_RETURN_NOT_OK(file.ReadInto("schedule.token", c.token));
  PFAD_RETURN_NOT_OK(file.ReadInto("schedule.dashboard_ca", c.dashboard_ca));
  PFAD_RETURN_NOT_OK(file.ReadInto("schedule.state", c.state));
  PFAD_RETURN_NOT_OK(file.ReadInto("schedule.announcements", c.announcements));
  PFAD_RETURN_NOT_OK(file.ReadInto("schedule.bootstrap", c.bootstrap));
  PFAD_RETURN_NOT_OK(file.ReadInto("schedule.max_active_runs", c.options.max_active_runs));
  PFAD_RETURN_NOT_OK(file.ReadInto("schedule.retries", c.options.retries));
  PFAD_RETURN_NOT_OK(file.ReadSecondsInto("schedule.retry_delay_s", c.options.retry_delay));
  PFAD_RETURN_NOT_OK(file.ReadSecondsInto("schedule.dashboard_max_backoff_s", c.outbox.max_backoff));
  PFAD_RETURN_NOT_OK(file.ReadSecondsInto("schedule.report_wait_s", c.report_wait));
  PFAD_ASSIGN_OR_RAISE(c.delay, file.GetSeconds("schedule.delay_s"));
  PFAD_ASSIGN_OR_RAISE(c.kafka, kafka::ConfiguredProperties(file));

  if (auto v = GetEnv("PFAD_DASHBOARD_URL")) c.dashboard_url = *v;
  if (auto v = GetEnv("PFAD_DASHBOARD_TOKEN")) c.token = *v;
  if (auto v = GetEnv("PFAD_DASHBOARD_CA")) c.dashboard_ca = *v;
  if (auto v = GetEnv("PFAD_ANNOUNCEMENTS_TOPIC")) c.announcements = *v;
  if (auto v = GetEnv("PFAD_KAFKA_BOOTSTRAP")) c.bootstrap = *v;
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
