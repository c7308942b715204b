// A stage's settings as one declarative table: each row names a field of the
// stage's config struct, its `section.key` in the TOML config file, the
// environment variables that set it, its unit, what it means and whether it is
// a secret. The table resolves the struct (defaults <- file <- environment; a
// command lays its flags over the result), validates it, and tells where each
// value came from (`pfad config` prints that, secrets masked).
//
//   const SettingsTable<FraudConfig>& FraudConfig::Settings() {
//     static const SettingsTable<FraudConfig> table({
//         {"fraud.top", &FraudConfig::top, {.description = "entities in the top list", .min = 0}},
//         {"fraud.model", &FraudConfig::model, {.env = {"PFAD_FRAUD_MODEL"}, .description = "..."}},
//     });
//     return table;
//   }
//   Result<FraudConfig> FraudConfig::Resolve(const ConfigFile& f) { return Settings().Resolve(f); }
//
// A field is a member pointer or a generic lambda returning a reference to it
// (`[](auto& c) -> auto& { return c.options.threads; }`). Field types: std::string,
// int, int64_t, size_t, double, std::chrono::milliseconds (given in seconds) and
// std::optional<std::chrono::milliseconds>; a stage may specialize SettingValue
// for one of its own types in the file that builds its table.
//
// Rules: the file's value replaces the default (a value of the wrong type is
// the file's error, as ConfigFile words it); of a row's environment variables
// the first one set and non-empty wins over the file; then each row's bounds,
// then the table's own checks, are validated on the result.
#pragma once

#include "pfad/common/config_file.h"
#include "pfad/common/status.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace pfad {

// Where an effective value came from.
struct SettingSource {
  enum class Kind { kDefault, kFile, kEnvironment };
  Kind kind = Kind::kDefault;
  std::string variable;  // kEnvironment: the variable that set it

  // "default", "file" or "env <VARIABLE>".
  [[nodiscard]] std::string ToString() const;
};

// One setting with its effective value, as `pfad config` shows it.
struct EffectiveSetting {
  std::string key;    // "dashboard.port"
  std::string value;  // as text; kMasked for a secret that is set
  SettingSource source;
  std::string unit;
  std::string description;
  bool secret = false;
};

// What a secret's value shows as.
inline constexpr const char* kMasked = "****";

// The metadata of a row (designated initializers: only what applies).
struct SettingInfo {
  std::vector<const char*> env;  // variables that set it, the first one set wins
  const char* unit = "";         // "s", "bytes", ...
  const char* description = "";
  bool secret = false;         // a password, token or secret key: never shown
  bool in_file = true;         // false: only the environment sets it (the key just names it)
  std::optional<int64_t> min;  // integers: the bounds checked after resolution
  std::optional<int64_t> max;
  const char* bounds_note = "";  // said after the bounds ("(0 = one per core)")
};

// How a field's type is read from the file and from an environment variable,
// and printed. Specialized below for the common types.
template <typename T>
struct SettingValue;

template <>
struct SettingValue<std::string> {
  static Result<bool> FromFile(const ConfigFile& file, const std::string& key, std::string& field);
  static Status FromEnv(const char* variable, const std::string& text, std::string& field);
  static std::string ToText(const std::string& value) { return value; }
};
template <>
struct SettingValue<int64_t> {
  static Result<bool> FromFile(const ConfigFile& file, const std::string& key, int64_t& field);
  static Status FromEnv(const char* variable, const std::string& text, int64_t& field);
  static std::string ToText(int64_t value) { return std::to_string(value); }
};
template <>
struct SettingValue<int> {
  static Result<bool> FromFile(const ConfigFile& file, const std::string& key, int& field);
  static Status FromEnv(const char* variable, const std::string& text, int& field);
  static std::string ToText(int value) { return std::to_string(value); }
};
template <>
struct SettingValue<size_t> {
  static Result<bool> FromFile(const ConfigFile& file, const std::string& key, size_t& field);
  static Status FromEnv(const char* variable, const std::string& text, size_t& field);
  static std::string ToText(size_t value) { return std::to_string(value); }
};
template <>
struct SettingValue<double> {
  static Result<bool> FromFile(const ConfigFile& file, const std::string& key, double& field);
  static Status FromEnv(const char* variable, const std::string& text, double& field);
  static std::string ToText(double value);
};
template <>
struct SettingValue<std::chrono::milliseconds> {
  static Result<bool> FromFile(const ConfigFile& file, const std::string& key,
                               std::chrono::milliseconds& field);
  static Status FromEnv(const char* variable, const std::string& text, std::chrono::milliseconds& field);
  static std::string ToText(std::chrono::milliseconds value);  // in seconds
};
template <>
struct SettingValue<std::optional<std::chrono::milliseconds>> {
  static Result<bool> FromFile(const ConfigFile& file, const std::string& key,
                               std::optional<std::chrono::milliseconds>& field);
  static Status FromEnv(const char* variable, const std::string& text,
                        std::optional<std::chrono::milliseconds>& field);
  static std::string ToText(const std::optional<std::chrono::milliseconds>& value);  // "" when unset
};

namespace internal {
// Invalid "config: '<key>' must be from <min> to <max>" (or "at least" / "at most"),
// naming the variable instead when the value came from the environment.
Status OutOfBounds(const std::string& key, const SettingInfo& info, const SettingSource& source);
}  // namespace internal

// One row of a SettingsTable.
template <typename Config>
class Setting {
 public:
  template <typename Field>
  Setting(std::string key, Field field, SettingInfo info) : key_(std::move(key)), info_(std::move(info)) {
    using T = std::remove_cvref_t<std::invoke_result_t<Field, Config&>>;
    using Value = SettingValue<T>;
    from_file_ = [field](const ConfigFile& file, const std::string& key, Config& c) -> Result<bool> {
      return Value::FromFile(file, key, std::invoke(field, c));
    };
    from_env_ = [field](const char* variable, const std::string& text, Config& c) {
      return Value::FromEnv(variable, text, std::invoke(field, c));
    };
    to_text_ = [field](const Config& c) { return Value::ToText(std::invoke(field, c)); };
    if constexpr (std::is_integral_v<T>) {
      within_bounds_ = [field](const Config& c, const SettingInfo& info) {
        const auto value = std::invoke(field, c);
        if constexpr (std::is_unsigned_v<T>) {
          if (info.max && value > static_cast<uint64_t>(*info.max)) return false;
          return !info.min || *info.min <= 0 || value >= static_cast<uint64_t>(*info.min);
        } else {
          return (!info.min || value >= *info.min) && (!info.max || value <= *info.max);
        }
      };
    }
  }

  [[nodiscard]] const std::string& key() const { return key_; }
  [[nodiscard]] const SettingInfo& info() const { return info_; }

  // Sets the field from the file when the file has it; where it came from goes to `source`.
  [[nodiscard]] Status ApplyFile(const ConfigFile& file, Config& c, SettingSource& source) const {
    if (!info_.in_file) return Status::OK();
    PFAD_ASSIGN_OR_RAISE(const bool found, from_file_(file, key_, c));
    if (found) source = {SettingSource::Kind::kFile, {}};
    return Status::OK();
  }
  // Sets the field from the first of its variables that is set.
  [[nodiscard]] Status ApplyEnvironment(Config& c, SettingSource& source) const {
    for (const char* variable : info_.env) {
      if (auto text = GetEnv(variable)) {
        PFAD_RETURN_NOT_OK(from_env_(variable, *text, c));
        source = {SettingSource::Kind::kEnvironment, variable};
        return Status::OK();
      }
    }
    return Status::OK();
  }
  [[nodiscard]] Status Validate(const Config& c, const SettingSource& source) const {
    if (within_bounds_ && !within_bounds_(c, info_)) return internal::OutOfBounds(key_, info_, source);
    return Status::OK();
  }
  // The value as text, kMasked for a secret that is set.
  [[nodiscard]] std::string Text(const Config& c) const {
    std::string text = to_text_(c);
    return info_.secret && !text.empty() ? std::string(kMasked) : text;
  }

 private:
  std::string key_;
  SettingInfo info_;
  std::function<Result<bool>(const ConfigFile&, const std::string&, Config&)> from_file_;
  std::function<Status(const char*, const std::string&, Config&)> from_env_;
  std::function<std::string(const Config&)> to_text_;
  std::function<bool(const Config&, const SettingInfo&)> within_bounds_;
};

// The settings of one config struct.
template <typename Config>
class SettingsTable {
 public:
  // A check of the whole result, after every row's bounds.
  using Check = std::function<Status(const Config&)>;

  explicit SettingsTable(std::vector<Setting<Config>> rows, std::vector<Check> checks = {})
      : rows_(std::move(rows)), checks_(std::move(checks)) {}

  // `defaults` <- the file <- the environment, validated.
  [[nodiscard]] Result<Config> Resolve(const ConfigFile& file, Config defaults = Config{}) const {
    std::vector<SettingSource> sources;
    return ResolveInto(file, std::move(defaults), sources);
  }

  // The same resolution, row by row: the effective value (secrets masked) and its source.
  [[nodiscard]] Result<std::vector<EffectiveSetting>> Explain(const ConfigFile& file,
                                                              Config defaults = Config{}) const {
    std::vector<SettingSource> sources;
    PFAD_ASSIGN_OR_RAISE(const Config c, ResolveInto(file, std::move(defaults), sources));
    std::vector<EffectiveSetting> out;
    for (size_t i = 0; i < rows_.size(); ++i) {
      const auto& row = rows_[i];
      out.push_back(
          {row.key(), row.Text(c), sources[i], row.info().unit, row.info().description, row.info().secret});
    }
    return out;
  }

  // Only the environment over `base` (no file, no validation).
  [[nodiscard]] Result<Config> ApplyEnvironment(Config base) const {
    SettingSource ignored;
    for (const auto& row : rows_) PFAD_RETURN_NOT_OK(row.ApplyEnvironment(base, ignored));
    return base;
  }

  [[nodiscard]] const std::vector<Setting<Config>>& rows() const { return rows_; }

 private:
  Result<Config> ResolveInto(const ConfigFile& file, Config c, std::vector<SettingSource>& sources) const {
    sources.assign(rows_.size(), SettingSource{});
    for (size_t i = 0; i < rows_.size(); ++i) PFAD_RETURN_NOT_OK(rows_[i].ApplyFile(file, c, sources[i]));
    for (size_t i = 0; i < rows_.size(); ++i) PFAD_RETURN_NOT_OK(rows_[i].ApplyEnvironment(c, sources[i]));
    for (size_t i = 0; i < rows_.size(); ++i) PFAD_RETURN_NOT_OK(rows_[i].Validate(c, sources[i]));
    for (const auto& check : checks_) PFAD_RETURN_NOT_OK(check(c));
    return c;
  }

  std::vector<Setting<Config>> rows_;
  std::vector<Check> checks_;
};

}  // namespace pfad
