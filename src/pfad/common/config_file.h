// The optional TOML config file (docs/DESIGN.md, "Configuration"): defaults <- this file <-
// environment <- flags. Each component reads its own [section].
#pragma once

#include "pfad/common/status.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace pfad {

class ConfigFile {
 public:
  // An empty config (every lookup misses).
  ConfigFile();
  ~ConfigFile();
  ConfigFile(ConfigFile&&) noexcept;
  ConfigFile& operator=(ConfigFile&&) noexcept;

  // Parses a TOML file; Invalid with line and column on a syntax error.
  static Result<ConfigFile> Load(const std::string& path);
  // Parses TOML text (tests).
  static Result<ConfigFile> Parse(std::string_view text);

  // Lookups by dotted path ("storage.endpoint"). A value of the wrong type is an error.
  [[nodiscard]] Result<std::optional<std::string>> GetString(std::string_view path) const;
  [[nodiscard]] Result<std::optional<double>> GetDouble(std::string_view path) const;
  [[nodiscard]] Result<std::optional<int64_t>> GetInt(std::string_view path) const;
  // A duration given as a number of seconds ("retry_delay_s = 0.5").
  [[nodiscard]] Result<std::optional<std::chrono::milliseconds>> GetSeconds(std::string_view path) const;
  // Sets `field` from `path` when the file has it (a value of the wrong type is an
  // error): the one step of every stage's Resolve.
  [[nodiscard]] Status ReadInto(std::string_view path, std::string& field) const;
  [[nodiscard]] Status ReadInto(std::string_view path, double& field) const;
  [[nodiscard]] Status ReadInto(std::string_view path, int64_t& field) const;
  [[nodiscard]] Status ReadInto(std::string_view path, int& field) const;
  [[nodiscard]] Status ReadSecondsInto(std::string_view path, std::chrono::milliseconds& field) const;
  // Every key = value of a table whose values are strings, numbers or booleans
  // (e.g. librdkafka properties under [kafka]); empty when the table is absent.
  [[nodiscard]] Result<std::map<std::string, std::string>> GetTable(std::string_view path) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The environment variable `name`, unless it is unset or empty.
std::optional<std::string> GetEnv(const char* name);

// Seconds (a flag's or a file's number) as milliseconds.
std::chrono::milliseconds SecondsToMillis(double seconds);

}  // namespace pfad
