#include "pfad/events/minute.h"

#include <gtest/gtest.h>

namespace pfad::events {
namespace {

class MinuteTest : public ::testing::Test {
 protected:
  MinuteCalendar calendar = MinuteCalendar::Open().ValueOrDie();
};

TEST_F(MinuteTest, NamesTheReferenceMinute) {
  // 2025-01-15 06:30 UTC is 10:00 in Tehran (+03:30).
  EXPECT_EQ(calendar.MinuteName(1736922600000), "2025-01-15_10-00");
  EXPECT_EQ(calendar.MinuteName(1736922600000 + 59'999), "2025-01-15_10-00");
  EXPECT_EQ(calendar.MinuteName(1736922600000 + 60'000), "2025-01-15_10-01");
  EXPECT_EQ(calendar.MinuteName(1736922600000 - 1), "2025-01-15_09-59");
}

TEST_F(MinuteTest, CrossesHourDayAndYearBoundaries) {
  const int64_t new_year = 1735677000000;  // 2025-01-01 00:00:00 Tehran
  EXPECT_EQ(calendar.MinuteName(new_year - 1), "2024-12-31_23-59");
  EXPECT_EQ(calendar.MinuteName(new_year), "2025-01-01_00-00");
  const int64_t hour = 1736922600000 - 60'000;  // 09:59 -> 10:00 crosses the hour
  EXPECT_EQ(calendar.MinuteName(hour), "2025-01-15_09-59");
  const int64_t midnight = 1736973000000;  // 2025-01-16 00:00 Tehran
  EXPECT_EQ(calendar.MinuteName(midnight - 1), "2025-01-15_23-59");
  EXPECT_EQ(calendar.MinuteName(midnight), "2025-01-16_00-00");
}

TEST_F(MinuteTest, HandlesNegativeInstants) {
  EXPECT_EQ(calendar.MinuteName(0), "1970-01-01_03-30");
  EXPECT_EQ(calendar.MinuteName(-1), "1970-01-01_03-29");
}

TEST_F(MinuteTest, FollowsHistoricDaylightSavingFromTheTzDatabase) {
  // 2021-03-22 00:00 +03:30 jumped to 01:00 +04:30.
  EXPECT_EQ(calendar.MinuteName(1616358599000), "2021-03-21_23-59");
  EXPECT_EQ(calendar.MinuteName(1616358600000), "2021-03-22_01-00");
  // 2021-09-22 00:00 +04:30 fell back to 2021-09-21 23:00 +03:30.
  EXPECT_EQ(calendar.MinuteName(1632252599000), "2021-09-21_23-59");
  EXPECT_EQ(calendar.MinuteName(1632252600000), "2021-09-21_23-00");
}

TEST_F(MinuteTest, ParsesEveryAcceptedForm) {
  for (const char* text : {"2025-01-15 10:00", "2025-01-15T10:00", "2025-01-15_10-00"}) {
    auto m = calendar.Parse(text);
    ASSERT_TRUE(m.ok()) << text << ": " << m.status().ToString();
    EXPECT_EQ(m->Name(), "2025-01-15_10-00");
    EXPECT_EQ(m->Display(), "2025-01-15 10:00");
    EXPECT_EQ(m->start_ms, 1736922600000);
    EXPECT_EQ(m->end_ms, 1736922660000);
  }
}

TEST_F(MinuteTest, RejectsMalformedAndImpossibleMinutes) {
  for (const char* text : {"", "2025-01-15", "2025-01-15 10:00:00", "2025/01/15 10:00", "2025-02-30 10:00",
                           "2025-01-15 24:00", "2025-01-15_10:00", "abcd-ef-gh ij:kl"}) {
    EXPECT_TRUE(calendar.Parse(text).status().IsInvalid()) << text;
  }
  // Skipped by the 2021 spring-forward.
  EXPECT_TRUE(calendar.Parse("2021-03-22 00:30").status().IsInvalid());
  EXPECT_TRUE(calendar.Parse("2021-03-22 00:59").status().IsInvalid());
  EXPECT_TRUE(calendar.Parse("2021-03-22 01:00").ok());
}

TEST_F(MinuteTest, RepeatedMinuteResolvesToItsFirstOccurrence) {
  auto m = calendar.Parse("2021-09-21 23:00");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->start_ms, 1632249000000);  // 23:00 +04:30
  EXPECT_EQ(m->end_ms - m->start_ms, 60'000);
}

TEST_F(MinuteTest, EveryInstantOfAParsedMinuteHasItsName) {
  auto m = calendar.Parse("2025-03-20 23:59").ValueOrDie();
  EXPECT_EQ(calendar.MinuteName(m.start_ms), "2025-03-20_23-59");
  EXPECT_EQ(calendar.MinuteName(m.end_ms - 1), "2025-03-20_23-59");
  EXPECT_EQ(calendar.MinuteName(m.end_ms), "2025-03-21_00-00");
}

TEST(MinuteCalendar, UnknownZoneIsAClearError) {
  auto calendar = MinuteCalendar::Open("Nowhere/Atlantis");
  ASSERT_FALSE(calendar.ok());
  EXPECT_NE(calendar.status().message().find("tz database"), std::string::npos);
}

}  // namespace
}  // namespace pfad::events
