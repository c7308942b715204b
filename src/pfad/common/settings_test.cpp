// SettingsTable: defaults <- file <- environment, the validation of types and
// bounds, the sources it reports and the masking of secrets.
#include "pfad/common/settings.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>

namespace pfad {
namespace {

struct Sample {
  std::string host = "127.0.0.1";
  std::string password;
  int port = 8080;
  int64_t rows = 1;
  size_t bytes = 10;
  double ratio = 0.5;
  std::chrono::milliseconds wait{1000};
  std::optional<std::chrono::milliseconds> delay;
  struct {
    int threads = 2;
  } nested;
  std::string env_only;
};

const SettingsTable<Sample>& Table() {
  static const SettingsTable<Sample> table(
      {
          {"sample.host", &Sample::host, {.env = {"PFAD_TEST_HOST", "PFAD_TEST_HOST_FALLBACK"}}},
          {"sample.password", &Sample::password, {.env = {"PFAD_TEST_PASSWORD"}, .secret = true}},
          {"sample.port", &Sample::port, {.env = {"PFAD_TEST_PORT"}, .min = 1, .max = 65535}},
          {"sample.rows", &Sample::rows, {.min = 1}},
          {"sample.bytes", &Sample::bytes, {.unit = "bytes", .max = 100}},
          {"sample.ratio", &Sample::ratio, {.env = {"PFAD_TEST_RATIO"}}},
          {"sample.wait_s", &Sample::wait, {.env = {"PFAD_TEST_WAIT"}, .unit = "s"}},
          {"sample.delay_s", &Sample::delay, {.unit = "s"}},
          {"sample.threads",
           [](auto& s) -> auto& { return s.nested.threads; },
           {.min = 0, .bounds_note = "(0 = one per core)"}},
          {"sample.env_only", &Sample::env_only, {.env = {"PFAD_TEST_ENV_ONLY"}, .in_file = false}},
      },
      {[](const Sample& s) -> Status {
        if (s.host == "forbidden") return Status::Invalid("host 'forbidden' is not allowed");
        return Status::OK();
      }});
  return table;
}

// Sets environment variables for one test, and unsets them after it.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const std::string, std::string>> vars) : vars_(vars) {
    for (const auto& [k, v] : vars_) setenv(k.c_str(), v.c_str(), 1);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    for (const auto& [k, v] : vars_) unsetenv(k.c_str());
  }

 private:
  std::map<std::string, std::string> vars_;
};

ConfigFile Parse(const char* text) { return ConfigFile::Parse(text).ValueOrDie(); }

std::map<std::string, EffectiveSetting> Explain(const ConfigFile& file) {
  std::map<std::string, EffectiveSetting> out;
  for (auto& s : Table().Explain(file).ValueOrDie()) out[s.key] = s;
  return out;
}

TEST(SettingsTable, DefaultsStandWhereNothingIsSet) {
  const Sample s = Table().Resolve(ConfigFile()).ValueOrDie();
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.port, 8080);
  EXPECT_EQ(s.nested.threads, 2);
  EXPECT_FALSE(s.delay.has_value());
  const auto rows = Explain(ConfigFile());
  ASSERT_EQ(rows.size(), 10U);
  for (const auto& [key, row] : rows) EXPECT_EQ(row.source.ToString(), "default") << key;
  EXPECT_EQ(rows.at("sample.wait_s").value, "1");
  EXPECT_EQ(rows.at("sample.wait_s").unit, "s");
  EXPECT_EQ(rows.at("sample.delay_s").value, "");
  EXPECT_EQ(rows.at("sample.password").value, "") << "an unset secret shows as empty";
}

TEST(SettingsTable, FileOverridesDefaultsAndEnvironmentOverridesFile) {
  const auto file = Parse(
      "[sample]\nhost = \"file-host\"\nport = 9000\nrows = 5\nbytes = 50\nratio = 0.25\nwait_s = 1.5\n"
      "delay_s = 2\nthreads = 0\nenv_only = \"ignored\"\n");
  Sample s = Table().Resolve(file).ValueOrDie();
  EXPECT_EQ(s.host, "file-host");
  EXPECT_EQ(s.port, 9000);
  EXPECT_EQ(s.rows, 5);
  EXPECT_EQ(s.bytes, 50U);
  EXPECT_EQ(s.ratio, 0.25);
  EXPECT_EQ(s.wait, std::chrono::milliseconds(1500));
  EXPECT_EQ(s.delay, std::chrono::milliseconds(2000));
  EXPECT_EQ(s.nested.threads, 0);
  EXPECT_EQ(s.env_only, "") << "a row without a file key ignores the file";
  {
    // The first variable of a row that is set wins; an empty one counts as unset.
    ScopedEnv env({{"PFAD_TEST_HOST", ""},
                   {"PFAD_TEST_HOST_FALLBACK", "env-host"},
                   {"PFAD_TEST_PORT", "9001"},
                   {"PFAD_TEST_RATIO", "0.75"},
                   {"PFAD_TEST_WAIT", "0.25"},
                   {"PFAD_TEST_ENV_ONLY", "from-env"}});
    s = Table().Resolve(file).ValueOrDie();
    EXPECT_EQ(s.host, "env-host");
    EXPECT_EQ(s.port, 9001);
    EXPECT_EQ(s.ratio, 0.75);
    EXPECT_EQ(s.wait, std::chrono::milliseconds(250));
    EXPECT_EQ(s.env_only, "from-env");
    const auto rows = Explain(file);
    EXPECT_EQ(rows.at("sample.host").source.ToString(), "env PFAD_TEST_HOST_FALLBACK");
    EXPECT_EQ(rows.at("sample.port").source.ToString(), "env PFAD_TEST_PORT");
    EXPECT_EQ(rows.at("sample.port").value, "9001");
    EXPECT_EQ(rows.at("sample.rows").source.ToString(), "file");
    EXPECT_EQ(rows.at("sample.wait_s").value, "0.25");
    EXPECT_EQ(rows.at("sample.delay_s").value, "2");
    EXPECT_EQ(rows.at("sample.password").source.ToString(), "default");
  }
  {
    ScopedEnv env({{"PFAD_TEST_HOST", "first"}, {"PFAD_TEST_HOST_FALLBACK", "second"}});
    EXPECT_EQ(Table().Resolve(file)->host, "first");
  }
}

TEST(SettingsTable, SecretsAreMaskedWhenSet) {
  const auto file = Parse("[sample]\npassword = \"hunter2\"\n");
  EXPECT_EQ(Table().Resolve(file)->password, "hunter2") << "resolution keeps the value";
  auto rows = Explain(file);
  EXPECT_EQ(rows.at("sample.password").value, kMasked);
  EXPECT_TRUE(rows.at("sample.password").secret);
  EXPECT_EQ(rows.at("sample.password").source.ToString(), "file");
  ScopedEnv env({{"PFAD_TEST_PASSWORD", "s3cret"}});
  rows = Explain(file);
  EXPECT_EQ(rows.at("sample.password").value, kMasked);
  EXPECT_EQ(rows.at("sample.password").source.ToString(), "env PFAD_TEST_PASSWORD");
  for (const auto& [key, row] : rows) {
    EXPECT_EQ(row.value.find("s3cret"), std::string::npos) << key;
    EXPECT_EQ(row.value.find("hunter2"), std::string::npos) << key;
  }
}

TEST(SettingsTable, WrongTypesAreTheFilesErrors) {
  auto st = Table().Resolve(Parse("[sample]\nport = \"x\"\n")).status();
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("'sample.port' must be an integer"), std::string::npos) << st.ToString();
  st = Table().Resolve(Parse("[sample]\nhost = 1\n")).status();
  EXPECT_NE(st.message().find("'sample.host' must be a string"), std::string::npos) << st.ToString();
  st = Table().Resolve(Parse("[sample]\nwait_s = -1\n")).status();
  EXPECT_NE(st.message().find("'sample.wait_s' must be a number of seconds from 0 to 1e9"), std::string::npos)
      << st.ToString();
  st = Table().Resolve(Parse("[sample]\nport = 5000000000\n")).status();
  EXPECT_NE(st.message().find("'sample.port' is out of range"), std::string::npos) << st.ToString();
  st = Table().Resolve(Parse("[sample]\nbytes = -1\n")).status();
  EXPECT_EQ(st.message(), "config: 'sample.bytes' must not be negative");
}

TEST(SettingsTable, BoundsAndChecksAreValidatedWhereverTheValueCameFrom) {
  EXPECT_EQ(Table().Resolve(Parse("[sample]\nport = 70000\n")).status().message(),
            "config: 'sample.port' must be from 1 to 65535");
  EXPECT_EQ(Table().Resolve(Parse("[sample]\nrows = 0\n")).status().message(),
            "config: 'sample.rows' must be at least 1");
  EXPECT_EQ(Table().Resolve(Parse("[sample]\nbytes = 101\n")).status().message(),
            "config: 'sample.bytes' must be at most 100");
  EXPECT_EQ(Table().Resolve(Parse("[sample]\nthreads = -1\n")).status().message(),
            "config: 'sample.threads' must be at least 0 (0 = one per core)");
  EXPECT_EQ(Table().Resolve(Parse("[sample]\nhost = \"forbidden\"\n")).status().message(),
            "host 'forbidden' is not allowed");
  {
    ScopedEnv env({{"PFAD_TEST_PORT", "0"}});
    EXPECT_EQ(Table().Resolve(ConfigFile()).status().message(),
              "PFAD_TEST_PORT ('sample.port') must be from 1 to 65535");
  }
  {
    ScopedEnv env({{"PFAD_TEST_PORT", "80x"}});
    EXPECT_EQ(Table().Resolve(ConfigFile()).status().message(),
              "PFAD_TEST_PORT must be an integer, not '80x'");
  }
  {
    ScopedEnv env({{"PFAD_TEST_WAIT", "soon\x1b"}});
    EXPECT_EQ(Table().Resolve(ConfigFile()).status().message(),
              "PFAD_TEST_WAIT must be a number, not 'soon\\x1b'");
  }
  {
    ScopedEnv env({{"PFAD_TEST_HOST", "forbidden"}});
    EXPECT_TRUE(Table().Resolve(ConfigFile()).status().IsInvalid());
    EXPECT_FALSE(Table().Explain(ConfigFile()).ok()) << "Explain validates as Resolve does";
  }
}

TEST(SettingsTable, ApplyEnvironmentLeavesTheRestOfTheBase) {
  Sample base;
  base.host = "base";
  base.port = 1;
  ScopedEnv env({{"PFAD_TEST_RATIO", "2"}});
  const Sample s = Table().ApplyEnvironment(base).ValueOrDie();
  EXPECT_EQ(s.host, "base");
  EXPECT_EQ(s.port, 1);
  EXPECT_EQ(s.ratio, 2.0);
}

}  // namespace
}  // namespace pfad
