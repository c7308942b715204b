#include "pfad/events/announcement.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace pfad::events {
namespace {

TEST(WindowAnnouncement, RoundTripsThroughJson) {
  const WindowAnnouncement a{.object = "s3://b/p/2025-01-01_10-00.parquet",
                             .minute = "2025-01-01_10-00",
                             .rows = 10,
                             .added = 4,
                             .update = true,
                             .close_at_ms = 1000,
                             .stored_at_ms = 1500};
  const auto back = WindowAnnouncement::Parse(a.ToJson()).ValueOrDie();
  EXPECT_EQ(back.object, a.object);
  EXPECT_EQ(back.minute, a.minute);
  EXPECT_EQ(back.rows, 10);
  EXPECT_EQ(back.added, 4);
  EXPECT_TRUE(back.update);
  EXPECT_EQ(back.close_at_ms, 1000);
  EXPECT_EQ(back.stored_at_ms, 1500);
}

TEST(WindowAnnouncement, EscapesWhatItQuotes) {
  const WindowAnnouncement a{.object = "dir/with \"quote\"\\/2025-01-01_10-00.parquet",
                             .minute = "2025-01-01_10-00"};
  const auto json = nlohmann::json::parse(a.ToJson());
  EXPECT_EQ(json["object"], a.object);
  EXPECT_EQ(WindowAnnouncement::Parse(a.ToJson()).ValueOrDie().object, a.object);
}

TEST(WindowAnnouncement, RefusesWhatIsNotOne) {
  EXPECT_TRUE(WindowAnnouncement::Parse("not json").status().IsInvalid());
  EXPECT_TRUE(WindowAnnouncement::Parse("[]").status().IsInvalid());
  EXPECT_TRUE(WindowAnnouncement::Parse(R"({"object":"x"})").status().IsInvalid());
  EXPECT_TRUE(WindowAnnouncement::Parse(R"({"minute":"m","rows":"ten"})").status().IsInvalid());
  EXPECT_EQ(WindowAnnouncement::Parse(R"({"minute":"m"})").ValueOrDie().rows, 0);
}

}  // namespace
}  // namespace pfad::events
