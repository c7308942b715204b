#include "pfad/schedule/outbox.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

namespace pfad::schedule {
namespace {

// A dashboard that answers `status` (or nothing, when unreachable) and records what it took.
struct FakeDashboard {
  bool reachable = false;
  long status = 200;
  int attempts = 0;
  std::vector<std::string> taken;  // "path body"

  DashboardSender Sender() {
    return [this](const std::string& path, const std::string& body) -> Result<long> {
      ++attempts;
      if (!reachable) return Status::IOError("connection refused");
      if (status == 200) taken.push_back(path + " " + body);
      return status;
    };
  }
};

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::filesystem::temp_directory_path() /
          ("pfad-outbox-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    Cleanup();
  }
  void TearDown() override { Cleanup(); }
  void Cleanup() {
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(db_.string() + s);
  }
  std::unique_ptr<DashboardOutbox> Open() {
    return DashboardOutbox::Open(
               db_.string(), dashboard_.Sender(), clock_,
               {.first_backoff = std::chrono::seconds(1), .max_backoff = std::chrono::seconds(8)})
        .ValueOrDie();
  }

  std::filesystem::path db_;
  FakeDashboard dashboard_;
  ManualClock clock_{1'000'000};
};

TEST_F(OutboxTest, KeepsEverythingWhileTheDashboardIsDownAndDeliversInOrderWhenItIsBack) {
  auto outbox = Open();
  ASSERT_TRUE(outbox->Add("/report", "r1").ok());
  ASSERT_TRUE(outbox->Add("/runs", "run1").ok());
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 2);
  EXPECT_EQ(dashboard_.attempts, 1);  // stops at the first failure

  // Backing off: nothing is tried before the backoff has passed, and it doubles up to the cap.
  std::vector<int64_t> waits;
  for (int i = 0; i < 6; ++i) {
    const int before = dashboard_.attempts;
    int64_t waited = 0;
    while (true) {
      ASSERT_EQ(outbox->DeliverDue().ValueOrDie(), 2);
      if (dashboard_.attempts > before) break;
      clock_.Advance(500);
      waited += 500;
    }
    waits.push_back(waited);
  }
  EXPECT_EQ(waits, (std::vector<int64_t>{1000, 2000, 4000, 8000, 8000, 8000}));

  ASSERT_TRUE(outbox->Add("/report", "r2").ok());
  dashboard_.reachable = true;
  clock_.Advance(8000);
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 0);
  EXPECT_EQ(dashboard_.taken, (std::vector<std::string>{"/report r1", "/runs run1", "/report r2"}));

  // Back to the first backoff after a success.
  dashboard_.reachable = false;
  ASSERT_TRUE(outbox->Add("/report", "r3").ok());
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 1);
  clock_.Advance(1000);
  const int before = dashboard_.attempts;
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 1);
  EXPECT_EQ(dashboard_.attempts, before + 1);
}

TEST_F(OutboxTest, ServerErrorsAreRetriedAndARefusedMessageIsDroppedNotRetriedForever) {
  auto outbox = Open();
  dashboard_.reachable = true;
  dashboard_.status = 503;
  ASSERT_TRUE(outbox->Add("/report", "bad").ok());
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 1);
  EXPECT_TRUE(dashboard_.taken.empty());
  dashboard_.status = 422;
  clock_.Advance(1000);
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 0);  // refused: dropped, not blocking what comes after
  dashboard_.status = 200;
  ASSERT_TRUE(outbox->Add("/report", "later").ok());
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 0);
  EXPECT_EQ(dashboard_.taken, (std::vector<std::string>{"/report later"}));
}

TEST_F(OutboxTest, WhatWasNotDeliveredSurvivesARestart) {
  {
    auto outbox = Open();
    ASSERT_TRUE(outbox->Add("/report", "r1").ok());
    ASSERT_TRUE(outbox->Add("/report", "r2").ok());
    EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 2);
  }
  dashboard_.reachable = true;
  auto outbox = Open();
  EXPECT_EQ(outbox->Pending().ValueOrDie(), 2);
  EXPECT_EQ(outbox->DeliverDue().ValueOrDie(), 0);
  EXPECT_EQ(dashboard_.taken, (std::vector<std::string>{"/report r1", "/report r2"}));
}

TEST_F(OutboxTest, DrainGivesUpAfterItsTimeoutAndSaysHowManyAreLeft) {
  auto outbox = Open();
  ASSERT_TRUE(outbox->Add("/report", "r1").ok());
  const int64_t start = clock_.NowMillis();
  EXPECT_EQ(outbox->Drain(std::chrono::seconds(20), std::chrono::milliseconds(250)).ValueOrDie(), 1);
  EXPECT_GE(clock_.NowMillis() - start, 20'000);
  EXPECT_EQ(dashboard_.attempts, 5);  // at 0, 1, 3, 7 and 15 s (backoff 1, 2, 4, 8 s)
}

}  // namespace
}  // namespace pfad::schedule
