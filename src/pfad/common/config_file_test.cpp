#include "pfad/common/config_file.h"

#include <gtest/gtest.h>

namespace pfad {
namespace {

TEST(ConfigFile, ReadsTypedValuesByDottedPath) {
  auto config = ConfigFile::Parse(
                    "[storage]\nendpoint = \"http://127.0.0.1:9000\"\nmax_attempts = 5\n"
                    "connect_timeout_s = 1.5\n")
                    .ValueOrDie();
  EXPECT_EQ(config.GetString("storage.endpoint").ValueOrDie(), "http://127.0.0.1:9000");
  EXPECT_EQ(config.GetInt("storage.max_attempts").ValueOrDie(), 5);
  EXPECT_EQ(config.GetDouble("storage.connect_timeout_s").ValueOrDie(), 1.5);
  EXPECT_EQ(config.GetString("storage.region").ValueOrDie(), std::nullopt);
  EXPECT_EQ(ConfigFile().GetString("storage.endpoint").ValueOrDie(), std::nullopt);
}

TEST(ConfigFile, WrongTypeAndBadSyntaxAreErrors) {
  auto config = ConfigFile::Parse("[analyze]\nthreads = \"many\"\n").ValueOrDie();
  EXPECT_TRUE(config.GetInt("analyze.threads").status().IsInvalid());
  auto bad = ConfigFile::Parse("[analyze\nthreads = 1\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 1"), std::string::npos) << bad.status().ToString();
  EXPECT_TRUE(ConfigFile::Load("/nonexistent/pfad.toml").status().IsIOError());
}

TEST(ConfigFile, SecondsBecomeMilliseconds) {
  auto config =
      ConfigFile::Parse("[schedule]\nretry_delay_s = 0.25\ndelay_s = 60\nbad_s = -1\n").ValueOrDie();
  EXPECT_EQ(config.GetSeconds("schedule.retry_delay_s").ValueOrDie(), std::chrono::milliseconds(250));
  EXPECT_EQ(config.GetSeconds("schedule.delay_s").ValueOrDie(), std::chrono::milliseconds(60'000));
  EXPECT_EQ(config.GetSeconds("schedule.absent_s").ValueOrDie(), std::nullopt);
  EXPECT_TRUE(config.GetSeconds("schedule.bad_s").status().IsInvalid());
}

TEST(ConfigFile, TablesBecomeStringMaps) {
  auto config = ConfigFile::Parse(
                    "[kafka]\n\"linger.ms\" = 5\n\"enable.idempotence\" = true\n"
                    "\"security.protocol\" = \"SASL_SSL\"\n")
                    .ValueOrDie();
  const auto table = config.GetTable("kafka").ValueOrDie();
  EXPECT_EQ(table,
            (std::map<std::string, std::string>{
                {"linger.ms", "5"}, {"enable.idempotence", "true"}, {"security.protocol", "SASL_SSL"}}));
  EXPECT_TRUE(config.GetTable("absent").ValueOrDie().empty());
  EXPECT_TRUE(ConfigFile::Parse("kafka = 1").ValueOrDie().GetTable("kafka").status().IsInvalid());
}

// Found in review while writing the fuzz target: nan passed the ">= 0" check and became a
// negative duration, and an int setting took the low 32 bits of a larger number.
TEST(ConfigFile, SecondsMustBeFiniteAndIntsMustFit) {
  auto config =
      ConfigFile::Parse("a_s = nan\nb_s = inf\nc_s = 1e300\nbig = 4294967297\nsmall = 7\n").ValueOrDie();
  for (const char* path : {"a_s", "b_s", "c_s"})
    EXPECT_TRUE(config.GetSeconds(path).status().IsInvalid()) << path;
  int field = 1;
  EXPECT_TRUE(config.ReadInto("big", field).IsInvalid());
  EXPECT_EQ(field, 1);
  ASSERT_TRUE(config.ReadInto("small", field).ok());
  EXPECT_EQ(field, 7);
}

// Found by fuzzing: toml++ turned a float into an integer setting by a cast that is
// undefined for -1e306; an integer setting now takes only an integer.
TEST(ConfigFile, IntegerSettingsTakeOnlyIntegers) {
  auto config = ConfigFile::Parse("huge = -1e306\nhalf = 2.5\nwhole = 2.0\nint = 3\n").ValueOrDie();
  for (const char* path : {"huge", "half", "whole"})
    EXPECT_TRUE(config.GetInt(path).status().IsInvalid()) << path;
  EXPECT_EQ(config.GetInt("int").ValueOrDie(), 3);
  EXPECT_EQ(config.GetDouble("int").ValueOrDie(), 3.0);
}

}  // namespace
}  // namespace pfad
