#include "pfad/common/clock.h"
#include "pfad/common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace pfad {

const Clock& DefaultClock() {
  static const SystemClock clock;
  return clock;
}

namespace {
std::mutex g_log_mutex;
spdlog::level::level_enum g_level = spdlog::level::warn;
}  // namespace

std::shared_ptr<spdlog::logger> Logger(const std::string& component) {
  std::lock_guard lock(g_log_mutex);
  auto logger = spdlog::get(component);
  if (!logger) {
    logger = spdlog::stderr_color_mt(component);
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
    logger->set_level(g_level);
  }
  return logger;
}

void SetLogLevel(const std::string& level) {
  std::lock_guard lock(g_log_mutex);
  g_level = spdlog::level::from_str(level);
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->set_level(g_level); });
}

}  // namespace pfad
