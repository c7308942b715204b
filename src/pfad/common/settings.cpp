// The value types of SettingsTable rows and the bounds' error (see settings.h).
#include "pfad/common/settings.h"

#include "pfad/common/log.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace pfad {
namespace {

Status NotA(const char* variable, const char* what, const std::string& text) {
  return Status::Invalid(variable, " must be ", what, ", not '", EscapeUntrusted(text), "'");
}

Result<int64_t> ParseInteger(const char* variable, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end != text.c_str() + text.size() || text.empty()) {
    return NotA(variable, "an integer", text);
  }
  return static_cast<int64_t>(value);
}

Result<double> ParseNumber(const char* variable, const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || text.empty() || !std::isfinite(value)) {
    return NotA(variable, "a number", text);
  }
  return value;
}

Result<std::chrono::milliseconds> ParseSeconds(const char* variable, const std::string& text) {
  PFAD_ASSIGN_OR_RAISE(const double seconds, ParseNumber(variable, text));
  // The bound of ConfigFile::GetSeconds.
  if (!(seconds >= 0 && seconds <= 1e9)) return NotA(variable, "a number of seconds from 0 to 1e9", text);
  return SecondsToMillis(seconds);
}

}  // namespace

std::string SettingSource::ToString() const {
  switch (kind) {
    case Kind::kDefault:
      return "default";
    case Kind::kFile:
      return "file";
    case Kind::kEnvironment:
      return "env " + variable;
  }
  return "default";
}

namespace internal {

Status OutOfBounds(const std::string& key, const SettingInfo& info, const SettingSource& source) {
  std::string bounds;
  if (info.min && info.max) {
    bounds = "from " + std::to_string(*info.min) + " to " + std::to_string(*info.max);
  } else if (info.min) {
    bounds = "at least " + std::to_string(*info.min);
  } else {
    bounds = "at most " + std::to_string(*info.max);
  }
  if (*info.bounds_note != '\0') bounds += std::string(" ") + info.bounds_note;
  if (source.kind == SettingSource::Kind::kEnvironment) {
    return Status::Invalid(source.variable, " ('", key, "') must be ", bounds);
  }
  return Status::Invalid("config: '", key, "' must be ", bounds);
}

}  // namespace internal

// ---- std::string ------------------------------------------------------------------

Result<bool> SettingValue<std::string>::FromFile(const ConfigFile& file, const std::string& key,
                                                 std::string& field) {
  PFAD_ASSIGN_OR_RAISE(auto value, file.GetString(key));
  if (value) field = std::move(*value);
  return value.has_value();
}

Status SettingValue<std::string>::FromEnv(const char* /*variable*/, const std::string& text,
                                          std::string& field) {
  field = text;
  return Status::OK();
}

// ---- integers ------------------------------------------------------------------

Result<bool> SettingValue<int64_t>::FromFile(const ConfigFile& file, const std::string& key, int64_t& field) {
  PFAD_ASSIGN_OR_RAISE(auto value, file.GetInt(key));
  if (value) field = *value;
  return value.has_value();
}

Status SettingValue<int64_t>::FromEnv(const char* variable, const std::string& text, int64_t& field) {
  PFAD_ASSIGN_OR_RAISE(field, ParseInteger(variable, text));
  return Status::OK();
}

Result<bool> SettingValue<int>::FromFile(const ConfigFile& file, const std::string& key, int& field) {
  PFAD_ASSIGN_OR_RAISE(auto value, file.GetInt(key));
  if (!value) return false;
  PFAD_RETURN_NOT_OK(file.ReadInto(key, field));  // ConfigFile's own range error
  return true;
}

Status SettingValue<int>::FromEnv(const char* variable, const std::string& text, int& field) {
  PFAD_ASSIGN_OR_RAISE(const int64_t value, ParseInteger(variable, text));
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    return NotA(variable, "an integer in range", text);
  }
  field = static_cast<int>(value);
  return Status::OK();
}

Result<bool> SettingValue<size_t>::FromFile(const ConfigFile& file, const std::string& key, size_t& field) {
  PFAD_ASSIGN_OR_RAISE(auto value, file.GetInt(key));
  if (!value) return false;
  if (*value < 0) return Status::Invalid("config: '", key, "' must not be negative");
  field = static_cast<size_t>(*value);
  return true;
}

Status SettingValue<size_t>::FromEnv(const char* variable, const std::string& text, size_t& field) {
  PFAD_ASSIGN_OR_RAISE(const int64_t value, ParseInteger(variable, text));
  if (value < 0) return NotA(variable, "a non-negative integer", text);
  field = static_cast<size_t>(value);
  return Status::OK();
}

// ---- numbers and durations --------------------------------------------------------

Result<bool> SettingValue<double>::FromFile(const ConfigFile& file, const std::string& key, double& field) {
  PFAD_ASSIGN_OR_RAISE(auto value, file.GetDouble(key));
  if (value) field = *value;
  return value.has_value();
}

Status SettingValue<double>::FromEnv(const char* variable, const std::string& text, double& field) {
  PFAD_ASSIGN_OR_RAISE(field, ParseNumber(variable, text));
  return Status::OK();
}

std::string SettingValue<double>::ToText(double value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

Result<bool> SettingValue<std::chrono::milliseconds>::FromFile(const ConfigFile& file, const std::string& key,
                                                               std::chrono::milliseconds& field) {
  PFAD_ASSIGN_OR_RAISE(auto value, file.GetSeconds(key));
  if (value) field = *value;
  return value.has_value();
}

Status SettingValue<std::chrono::milliseconds>::FromEnv(const char* variable, const std::string& text,
                                                        std::chrono::milliseconds& field) {
  PFAD_ASSIGN_OR_RAISE(field, ParseSeconds(variable, text));
  return Status::OK();
}

std::string SettingValue<std::chrono::milliseconds>::ToText(std::chrono::milliseconds value) {
  return SettingValue<double>::ToText(static_cast<double>(value.count()) / 1000.0);
}

Result<bool> SettingValue<std::optional<std::chrono::milliseconds>>::FromFile(
    const ConfigFile& file, const std::string& key, std::optional<std::chrono::milliseconds>& field) {
  PFAD_ASSIGN_OR_RAISE(auto value, file.GetSeconds(key));
  if (value) field = *value;
  return value.has_value();
}

Status SettingValue<std::optional<std::chrono::milliseconds>>::FromEnv(
    const char* variable, const std::string& text, std::optional<std::chrono::milliseconds>& field) {
  PFAD_ASSIGN_OR_RAISE(field, ParseSeconds(variable, text));
  return Status::OK();
}

std::string SettingValue<std::optional<std::chrono::milliseconds>>::ToText(
    const std::optional<std::chrono::milliseconds>& value) {
  return value ? SettingValue<std::chrono::milliseconds>::ToText(*value) : std::string();
}

}  // namespace pfad
