#include "pfad/schedule/config.h"

namespace pfad::schedule {

Result<ScheduleConfig> ScheduleConfig::Resolve(const ConfigFile& file) {
  ScheduleConfig c;
  const auto set_string = [&](std::string_view key, std::string& field) -> Status {
    PFAD_ASSIGN_OR_RAISE(auto v, file.GetString(key));
    if (v) field = *v;
    return Status::OK();
  };
  const auto set_int = [&](std::string_view key, int& field) -> Status {
    PFAD_ASSIGN_OR_RAISE(auto v, file.GetInt(key));
    if (v) field = static_cast<int>(*v);
    return Status::OK();
  };
  PFAD_RETURN_NOT_OK(set_string("schedule.dashboard", c.dashboard_url));
  PFAD_RETURN_NOT_OK(set_string("schedule.token", c.token));
  PFAD_RETURN_NOT_OK(set_string("schedule.state", c.state));
  PFAD_RETURN_NOT_OK(set_string("schedule.announcements", c.announcements));
  PFAD_RETURN_NOT_OK(set_string("schedule.bootstrap", c.bootstrap));
  PFAD_RETURN_NOT_OK(set_int("schedule.max_active_runs", c.options.max_active_runs));
  PFAD_RETURN_NOT_OK(set_int("schedule.retries", c.options.retries));
  PFAD_ASSIGN_OR_RAISE(auto retry_delay, file.GetSeconds("schedule.retry_delay_s"));
  if (retry_delay) c.options.retry_delay = *retry_delay;
  PFAD_ASSIGN_OR_RAISE(c.delay, file.GetSeconds("schedule.delay_s"));

  if (auto v = GetEnv("PFAD_DASHBOARD_URL")) c.dashboard_url = *v;
  if (auto v = GetEnv("PFAD_DASHBOARD_TOKEN")) c.token = *v;
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

}  // namespace pfad::schedule
