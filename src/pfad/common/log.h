// One spdlog logger per component, writing to stderr. Libraries log through
// these, never to stdout.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace pfad {

// The logger of a component ("analyze", "storage", ...), created on first use.
std::shared_ptr<spdlog::logger> Logger(const std::string& component);

// Sets the level of every PFAD logger ("trace", "debug", "info", "warn", "error", "off").
void SetLogLevel(const std::string& level);

}  // namespace pfad
