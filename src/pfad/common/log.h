// One spdlog logger per component, writing to stderr. Libraries log through
// these, never to stdout.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

namespace pfad {

// The logger of a component ("analyze", "storage", ...), created on first use.
std::shared_ptr<spdlog::logger> Logger(const std::string& component);

// Text safe to print whatever it holds: printable ASCII as is, every other
// byte as \xNN. Every log line's message passes through it (so bytes quoted
// from hostile input, e.g. a poison event, never reach a terminal or log file
// raw), and so do the CLI's error lines.
std::string EscapeUntrusted(std::string_view text);

// Sets the level of every PFAD logger ("trace", "debug", "info", "warn", "error", "off").
void SetLogLevel(const std::string& level);

}  // namespace pfad
