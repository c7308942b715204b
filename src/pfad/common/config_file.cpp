#include "pfad/common/config_file.h"

#include <toml++/toml.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <type_traits>

namespace pfad {

struct ConfigFile::Impl {
  toml::table table;
  std::string origin;
};

ConfigFile::ConfigFile() : impl_(std::make_unique<Impl>()) {}
ConfigFile::~ConfigFile() = default;
ConfigFile::ConfigFile(ConfigFile&&) noexcept = default;
ConfigFile& ConfigFile::operator=(ConfigFile&&) noexcept = default;

namespace {
Result<toml::table> ParseToml(std::string_view text, const std::string& origin) {
  try {
    return toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin;
    return Status::Invalid("config ", origin, ": ", e.description(), " at ", where.str());
  }
}
}  // namespace

Result<ConfigFile> ConfigFile::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IOError("cannot read config file '", path, "'");
  std::stringstream text;
  text << in.rdbuf();
  ConfigFile config;
  PFAD_ASSIGN_OR_RAISE(config.impl_->table, ParseToml(text.str(), path));
  config.impl_->origin = path;
  return config;
}

Result<ConfigFile> ConfigFile::Parse(std::string_view text) {
  ConfigFile config;
  PFAD_ASSIGN_OR_RAISE(config.impl_->table, ParseToml(text, "<text>"));
  return config;
}

namespace {
template <typename T>
Result<std::optional<T>> Lookup(const toml::table& table, std::string_view path, const std::string& origin,
                                const char* expected) {
  const toml::node_view node = table.at_path(path);
  if (!node) return std::optional<T>();
  // An integer only from an integer: toml++ 3.3 casts a float like -1e306 to int64
  // before it checks the range, which is undefined behaviour.
  std::optional<T> v;
  if constexpr (std::is_same_v<T, int64_t>) {
    v = node.value_exact<int64_t>();
  } else {
    v = node.value<T>();
  }
  if (v) return v;
  return Status::Invalid("config ", origin, ": '", path, "' must be ", expected);
}
}  // namespace

Result<std::optional<std::string>> ConfigFile::GetString(std::string_view path) const {
  return Lookup<std::string>(impl_->table, path, impl_->origin, "a string");
}
Result<std::optional<double>> ConfigFile::GetDouble(std::string_view path) const {
  return Lookup<double>(impl_->table, path, impl_->origin, "a number");
}
Result<std::optional<int64_t>> ConfigFile::GetInt(std::string_view path) const {
  return Lookup<int64_t>(impl_->table, path, impl_->origin, "an integer");
}

Result<std::optional<std::chrono::milliseconds>> ConfigFile::GetSeconds(std::string_view path) const {
  PFAD_ASSIGN_OR_RAISE(auto seconds, GetDouble(path));
  if (!seconds) return std::optional<std::chrono::milliseconds>();
  // Written so that nan fails too; the bound keeps the milliseconds within int64.
  constexpr double kMaxSeconds = 1e9;
  if (!(*seconds >= 0 && *seconds <= kMaxSeconds)) {
    return Status::Invalid("config ", impl_->origin, ": '", path,
                           "' must be a number of seconds from 0 to 1e9");
  }
  return std::optional<std::chrono::milliseconds>(SecondsToMillis(*seconds));
}

namespace {

template <typename T, typename Getter>
Status ReadOptional(Getter&& get, T& field) {
  PFAD_ASSIGN_OR_RAISE(auto value, get());
  if (value) field = static_cast<T>(*value);
  return Status::OK();
}

}  // namespace

Status ConfigFile::ReadInto(std::string_view path, std::string& field) const {
  return ReadOptional([&] { return GetString(path); }, field);
}
Status ConfigFile::ReadInto(std::string_view path, double& field) const {
  return ReadOptional([&] { return GetDouble(path); }, field);
}
Status ConfigFile::ReadInto(std::string_view path, int64_t& field) const {
  return ReadOptional([&] { return GetInt(path); }, field);
}
Status ConfigFile::ReadInto(std::string_view path, int& field) const {
  PFAD_ASSIGN_OR_RAISE(auto value, GetInt(path));
  if (!value) return Status::OK();
  if (*value < std::numeric_limits<int>::min() || *value > std::numeric_limits<int>::max()) {
    return Status::Invalid("config ", impl_->origin, ": '", path, "' is out of range: ", *value);
  }
  field = static_cast<int>(*value);
  return Status::OK();
}
Status ConfigFile::ReadSecondsInto(std::string_view path, std::chrono::milliseconds& field) const {
  return ReadOptional([&] { return GetSeconds(path); }, field);
}

std::optional<std::string> GetEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::chrono::milliseconds SecondsToMillis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(seconds * 1000)));
}

Result<std::map<std::string, std::string>> ConfigFile::GetTable(std::string_view path) const {
  std::map<std::string, std::string> out;
  const toml::node_view node = impl_->table.at_path(path);
  if (!node) return out;
  const toml::table* table = node.as_table();
  if (table == nullptr) return Status::Invalid("config ", impl_->origin, ": '", path, "' must be a table");
  for (const auto& [key, value] : *table) {
    if (auto s = value.value<std::string>()) {
      out[std::string(key.str())] = *s;
    } else if (auto i = value.value_exact<int64_t>()) {
      out[std::string(key.str())] = std::to_string(*i);
    } else if (auto d = value.value_exact<double>()) {
      std::ostringstream text;
      text << *d;
      out[std::string(key.str())] = text.str();
    } else if (auto b = value.value<bool>()) {
      out[std::string(key.str())] = *b ? "true" : "false";
    } else {
      return Status::Invalid("config ", impl_->origin, ": '", path, ".", key.str(),
                             "' must be a string, number or boolean");
    }
  }
  return out;
}

}  // namespace pfad
