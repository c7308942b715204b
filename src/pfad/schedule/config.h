// The schedule's settings (pfad run, backfill, report): defaults <- [schedule]
// of the config file <- environment. The CLI lays its flags over the result.
//
//   [schedule]
//   dashboard = "http://127.0.0.1:8080"   # PFAD_DASHBOARD_URL; "" = do not post
//   token = "..."                         # PFAD_DASHBOARD_TOKEN
//   dashboard_ca = "/path/ca.pem"         # PFAD_DASHBOARD_CA: trusted for an https:// dashboard
//   state = "/path/schedule.db"           # the run-state database
//   max_active_runs = 2
//   retries = 1
//   retry_delay_s = 3
//   delay_s = 5                           # 60 when following announcements
//   dashboard_max_backoff_s = 30          # outbox retries back off up to this
//   outbox_max_messages = 2880            # the outbox's bounds while the dashboard is down
//   outbox_max_age_s = 86400
//   report_wait_s = 120                   # backfill: how long it waits for the dashboard
//   announcements = "user_interactions.windows"   # PFAD_ANNOUNCEMENTS_TOPIC
//   bootstrap = "127.0.0.1:9092"          # PFAD_KAFKA_BOOTSTRAP
// The Kafka client's properties (announcements, fraud alerts) are kafka::ConfiguredProperties:
// the [kafka] table and the PFAD_KAFKA_SECURITY_* / SASL_* / SSL_* environment.
#pragma once

#include "pfad/common/config_file.h"
#include "pfad/common/settings.h"
#include "pfad/common/status.h"
#include "pfad/kafka/client.h"
#include "pfad/schedule/outbox.h"
#include "pfad/schedule/scheduler.h"

#include <chrono>
#include <optional>
#include <string>

namespace pfad::schedule {

struct ScheduleConfig {
  // Runs at once, retries, retry delay; `delay` below sets the clock's delay.
  ScheduleOptions options;
  std::string dashboard_url = "http://127.0.0.1:8080";  // empty = do not post reports or runs
  std::string token;                                    // the dashboard's bearer token
  std::string dashboard_ca;   // PEM CA file trusted for an https:// dashboard; empty = the system's
  std::string state;          // run-state database; empty = the caller's default
  std::string announcements;  // the ingester's windows topic; empty = by the clock only
  std::string bootstrap = "127.0.0.1:9092";  // Kafka, for the announcements
  kafka::Properties kafka;                   // every Kafka client's properties (security included)
  // How long after its end a minute runs by the clock; unset = options.delay,
  // or kAnnouncedDelay when following announcements (they come first).
  std::optional<std::chrono::milliseconds> delay;
  static constexpr std::chrono::milliseconds kAnnouncedDelay{60'000};
  // Delivery to the dashboard (pfad/schedule/outbox.h).
  OutboxOptions outbox;
  // Backfill: how long it waits, after its last minute, for the dashboard to take
  // what is still in the outbox (left there for the next run otherwise).
  std::chrono::milliseconds report_wait{120'000};

  static Result<ScheduleConfig> Resolve(const ConfigFile& file);
  // The rows Resolve reads (key, environment, default, unit, description); `pfad config` prints them.
  static const SettingsTable<ScheduleConfig>& Settings();
  // The scheduler's options, the clock's delay included.
  [[nodiscard]] ScheduleOptions Options() const;
  // The dashboard's base URL without trailing slashes.
  [[nodiscard]] std::string DashboardBase() const;
  // Where and how reports and runs are posted (the base URL, token and CA file).
  [[nodiscard]] DashboardTarget Dashboard() const;
};

}  // namespace pfad::schedule
