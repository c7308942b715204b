// The component loggers and the escaping of untrusted text in their lines (see log.h).
#include "pfad/common/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace pfad {
namespace {
std::mutex g_log_mutex;
spdlog::level::level_enum g_level = spdlog::level::warn;

void AppendEscaped(std::string_view text, spdlog::memory_buf_t& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte >= 0x20 && byte < 0x7f) {
      out.push_back(ch);
    } else {
      const char escaped[4] = {'\\', 'x', kHex[byte >> 4], kHex[byte & 0xf]};
      out.append(escaped, escaped + 4);
    }
  }
}

// The pattern flag %* : the message, escaped.
class EscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*time*/,
              spdlog::memory_buf_t& out) override {
    AppendEscaped(std::string_view(msg.payload.data(), msg.payload.size()), out);
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedMessage>();
  }
};
}  // namespace

std::string EscapeUntrusted(std::string_view text) {
  spdlog::memory_buf_t out;
  AppendEscaped(text, out);
  return {out.data(), out.size()};
}

std::shared_ptr<spdlog::logger> Logger(const std::string& component) {
  std::lock_guard lock(g_log_mutex);
  auto logger = spdlog::get(component);
  if (!logger) {
    logger = spdlog::stderr_color_mt(component);
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<EscapedMessage>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %*");
    logger->set_formatter(std::move(formatter));
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
