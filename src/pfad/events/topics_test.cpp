// The topic names derived from the events topic (events/topics.h).
#include "pfad/events/topics.h"

#include <gtest/gtest.h>

namespace pfad::events {
namespace {

TEST(Topics, AreNamedAfterTheEventsTopic) {
  EXPECT_EQ(kEventsTopic, "user_interactions");
  EXPECT_EQ(DlqTopic(kEventsTopic), "user_interactions.dlq");
  EXPECT_EQ(WindowsTopic(kEventsTopic), "user_interactions.windows");
  EXPECT_EQ(LabelsTopic(kEventsTopic), "user_interactions.labels");
  EXPECT_EQ(AlertsTopic("t"), "t.fraud");
}

}  // namespace
}  // namespace pfad::events
