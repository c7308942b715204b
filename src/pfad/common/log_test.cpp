#include "pfad/common/log.h"

#include <gtest/gtest.h>

#include <string>

namespace pfad {
namespace {

TEST(EscapeUntrusted, KeepsPrintableAsciiAndEscapesTheRest) {
  EXPECT_EQ(EscapeUntrusted("user 42: 'abc-DEF_1'"), "user 42: 'abc-DEF_1'");
  EXPECT_EQ(EscapeUntrusted(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(EscapeUntrusted("\x1b[31mred\n"), "\\x1b[31mred\\x0a");
  EXPECT_EQ(EscapeUntrusted("\xff\xfe\x7f"), "\\xff\\xfe\\x7f");
  EXPECT_EQ(EscapeUntrusted("caf\xc3\xa9"), "caf\\xc3\\xa9");  // not ASCII, so escaped too
  EXPECT_EQ(EscapeUntrusted(""), "");
}

TEST(EscapeUntrusted, EveryLogLineIsEscaped) {
  SetLogLevel("info");
  testing::internal::CaptureStderr();
  Logger("log_test")->info("poison: '{}'", std::string("\x01\xfe\nX", 4));
  Logger("log_test")->flush();
  const std::string line = testing::internal::GetCapturedStderr();
  SetLogLevel("warn");
  EXPECT_NE(line.find("[log_test] poison: '\\x01\\xfe\\x0aX'"), std::string::npos) << line;
  for (const char c : line.substr(0, line.size() - 1)) {
    EXPECT_TRUE(c >= 0x20 && c < 0x7f)
        << "raw byte " << static_cast<int>(static_cast<unsigned char>(c)) << " in " << line;
  }
}

}  // namespace
}  // namespace pfad
