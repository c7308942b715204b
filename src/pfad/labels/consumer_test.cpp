// The labels consumer against librdkafka's mock cluster and a local store; the DLQ through a
// producer fake that keeps what it was given (the mock consumer does not hand headers back).
#include "pfad/labels/consumer.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <thread>

#include "pfad/kafka/mock_cluster.h"
#include "pfad/labels/label_store.h"
#include "pfad/storage/local_store_fixture.h"

namespace pfad::labels {
namespace {

using std::chrono::milliseconds;

constexpr int64_t kT0 = 1736922600000;  // 2025-01-15 06:30 UTC
constexpr const char* kTopic = "events";
constexpr const char* kLabelsTopic = "events.labels";

std::string LabelJson(int i) {
  events::FraudLabel label{.kind = i % 2 ? events::EntityKind::kUser : events::EntityKind::kSession,
                           .entity_id = events::Uuid::V4(static_cast<uint64_t>(i) + 1, 99),
                           .scenario = i % 3 ? events::Scenario::kBot : events::Scenario::kFlashSale,
                           .first_ms = kT0 + i,
                           .last_ms = kT0 + i + 1000};
  return events::LabelToJson(label);
}

// A producer that keeps every message it is given and acknowledges it at once.
class RecordingProducer final : public kafka::Producer {
 public:
  struct Sent {
    std::string topic, key, value;
    kafka::Headers headers;
    [[nodiscard]] std::string Header(const std::string& name) const {
      for (const auto& [k, v] : headers) {
        if (k == name) return v;
      }
      return "";
    }
  };
  Status Produce(const std::string& topic, const kafka::OutgoingMessage& m) override {
    sent.push_back(
        {topic, std::string(m.key), std::string(m.value), m.headers ? *m.headers : kafka::Headers{}});
    CountQueued(1);
    CountDelivery({.topic = topic});
    return Status::OK();
  }
  void Poll(milliseconds) override {}
  Status Flush(milliseconds) override { return Status::OK(); }
  Result<int32_t> WaitForTopic(const std::string&, milliseconds) override { return 1; }
  int32_t PartitionFor(const std::string&, std::string_view, int32_t) override { return 0; }
  [[nodiscard]] Status FatalError() const override { return Status::OK(); }

  std::vector<Sent> sent;
};

class LabelConsumerTest : public storage::LocalStoreFixture {
 protected:
  void SetUp() override {
    LocalStoreFixture::SetUp();
    cluster_ = kafka::MockCluster::Start({{kLabelsTopic, 2}}).ValueOrDie();
    producer_ = kafka::Producer::Make({{"bootstrap.servers", cluster_->bootstrap()}}).ValueOrDie();
    ASSERT_EQ(producer_->WaitForTopic(kLabelsTopic, milliseconds(10'000)).ValueOrDie(), 2);
    options_.bootstrap = cluster_->bootstrap();
    options_.topic = kTopic;
    options_.prefix = Uri("labels").ToString();
    options_.once = true;
    options_.batch_time = milliseconds(500);
    // The mock broker keeps a closed member until its session times out: a rerun in the same
    // group would wait for it.
    options_.properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};
  }

  // Sends `value` to a partition of the labels topic, returning nothing until it is acknowledged.
  void Send(int32_t partition, const std::string& value) {
    ASSERT_TRUE(producer_->Produce(kLabelsTopic, {.key = "k", .value = value, .partition = partition}).ok());
  }
  void Delivered() { ASSERT_TRUE(producer_->Flush(milliseconds(10'000)).ok()); }

  // One `pfad labels consume --once` run.
  Result<LabelsStats> ConsumeOnce(RecordingProducer& dlq) {
    LabelConsumer* loop = nullptr;
    PFAD_ASSIGN_OR_RAISE(auto consumer, kafka::Consumer::Make(ConsumerProperties(options_),
                                                              [&](const auto& r) { loop->OnRebalance(r); }));
    const auto prefix = storage::ObjectUri::Parse(options_.prefix).ValueOrDie();
    LabelConsumer labels(options_, *consumer, dlq, *store_, prefix, nullptr, DefaultClock(), stop_);
    loop = &labels;
    PFAD_RETURN_NOT_OK(labels.Open());
    while (labels.Step()) {
    }
    return labels.Finish();
  }

  std::vector<events::LabelRecord> Stored() {
    return ReadLabelRecords(*store_, Uri("labels"), kT0 - 86'400'000, kT0 + 86'400'000).ValueOrDie();
  }

  std::unique_ptr<kafka::MockCluster> cluster_;
  std::unique_ptr<kafka::Producer> producer_;
  LabelsOptions options_;
  std::atomic<bool> stop_{false};
};

TEST_F(LabelConsumerTest, StoresEveryLabelWithItsRefAndCommits) {
  for (int i = 0; i < 10; ++i) Send(i % 2, LabelJson(i));
  Delivered();
  RecordingProducer dlq;
  const auto stats = ConsumeOnce(dlq).ValueOrDie();
  EXPECT_EQ(stats.messages, 10);
  EXPECT_EQ(stats.labels_written, 10);
  EXPECT_EQ(stats.dlq, 0);
  EXPECT_TRUE(dlq.sent.empty());
  const auto stored = Stored();
  ASSERT_EQ(stored.size(), 10u);
  std::set<std::string> refs;
  for (const auto& r : stored) {
    refs.insert(r.ref);
    EXPECT_EQ(r.source, "kafka");
    EXPECT_GT(r.labelled_at, 0);  // the message's time
  }
  for (int p = 0; p < 2; ++p) {
    for (int o = 0; o < 5; ++o) EXPECT_TRUE(refs.contains(fmt::format("{}/{}/{}", kLabelsTopic, p, o)));
  }
  const auto stems = ListLabelStems(*store_, Uri("labels")).ValueOrDie();
  EXPECT_EQ(stems, (std::vector<std::string>{KafkaStem(0, 0, 4), KafkaStem(1, 0, 4)}));
  EXPECT_EQ(KafkaStem(1, 0, 4), "kafka-1-00000000000000000000-00000000000000000004");

  // Committed: a second run reads nothing.
  const auto again = ConsumeOnce(dlq).ValueOrDie();
  EXPECT_EQ(again.messages, 0);
  EXPECT_EQ(Stored().size(), 10u);
}

TEST_F(LabelConsumerTest, SendsWhatIsNoLabelToTheDlqWithHeadersAndStoresTheRest) {
  Send(0, LabelJson(1));
  Send(0, "not json");
  Send(
      0,
      R"({"entity_kind":"product","entity_id":"0f8fad5b-d9cb-469f-a165-70867728950e","label":"fraud","first_ms":1})");
  Send(0, R"({"entity_kind":"user","label":"fraud","first_ms":1})");
  Send(0, LabelJson(2));
  Delivered();
  RecordingProducer dlq;
  const auto stats = ConsumeOnce(dlq).ValueOrDie();
  EXPECT_EQ(stats.dlq, 3);
  EXPECT_EQ(stats.labels_written, 2);
  const auto stored = Stored();
  ASSERT_EQ(stored.size(), 2u);
  std::set<std::string> refs;
  for (const auto& r : stored) refs.insert(r.ref);
  EXPECT_EQ(refs, (std::set<std::string>{"events.labels/0/0", "events.labels/0/4"}));
  ASSERT_EQ(dlq.sent.size(), 3u);
  for (size_t i = 0; i < dlq.sent.size(); ++i) {
    const auto& m = dlq.sent[i];
    EXPECT_EQ(m.topic, "events.labels.dlq");
    EXPECT_EQ(m.key, "k");
    EXPECT_EQ(m.Header("pfad.error.kind"), "invalid-label");
    EXPECT_FALSE(m.Header("pfad.error").empty());
    EXPECT_EQ(m.Header("pfad.source.topic"), kLabelsTopic);
    EXPECT_EQ(m.Header("pfad.source.partition"), "0");
    EXPECT_EQ(m.Header("pfad.source.offset"), std::to_string(i + 1));
    EXPECT_GT(std::stoll(m.Header("pfad.source.timestamp")), 0);
  }
  EXPECT_EQ(dlq.sent[0].value, "not json");
  EXPECT_NE(dlq.sent[1].Header("pfad.error").find("product"), std::string::npos)
      << dlq.sent[1].Header("pfad.error");
  EXPECT_NE(dlq.sent[2].Header("pfad.error").find("entity_id"), std::string::npos)
      << dlq.sent[2].Header("pfad.error");
}

TEST_F(LabelConsumerTest, ABatchWrittenButNotCommittedCountsOnceAfterTheRestart) {
  constexpr int kLabels = 40;
  for (int i = 0; i < kLabels; ++i) Send(i % 2, LabelJson(i));
  Delivered();
  RecordingProducer dlq;
  options_.batch_messages = 7;
  ASSERT_EQ(ConsumeOnce(dlq).ValueOrDie().labels_written, kLabels);
  const auto first_run = ListLabelStems(*store_, Uri("labels")).ValueOrDie();
  // The crash: every write happened, no commit did. A group without commits is what that
  // leaves, so the restart is a run in a fresh group.
  options_.group = "pfad-labels-restarted";
  // The restart reads it all again, in other batches (other objects, the same refs).
  options_.batch_messages = 5;
  ASSERT_EQ(ConsumeOnce(dlq).ValueOrDie().labels_written, kLabels);
  // The restart's objects are beside the first run's: named after both ends of their offsets,
  // none of those (which could hold committed labels) is replaced by a smaller one.
  const auto both_runs = ListLabelStems(*store_, Uri("labels")).ValueOrDie();
  EXPECT_GT(both_runs.size(), first_run.size());
  for (const auto& stem : first_run) EXPECT_TRUE(std::ranges::binary_search(both_runs, stem)) << stem;
  const auto stored = Stored();
  std::set<std::string> refs;
  for (const auto& r : stored) refs.insert(r.ref);
  EXPECT_EQ(stored.size(), static_cast<size_t>(kLabels));
  EXPECT_EQ(refs.size(), static_cast<size_t>(kLabels));
}

TEST_F(LabelConsumerTest, OnceEndsAtTheEndsOfStartEvenWhileTheTopicIsWritten) {
  for (int i = 0; i < 20; ++i) Send(i % 2, LabelJson(i));
  Delivered();
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    auto producer = kafka::Producer::Make({{"bootstrap.servers", cluster_->bootstrap()}}).ValueOrDie();
    for (int i = 20; writing; ++i) {
      (void)producer->Produce(kLabelsTopic, {.key = "k", .value = LabelJson(i)});
      producer->Poll(milliseconds(2));
    }
    (void)producer->Flush(milliseconds(10'000));
  });
  RecordingProducer dlq;
  options_.batch_messages = 3;  // a batch never waits for the topic to go idle
  const auto stats = ConsumeOnce(dlq);
  writing = false;
  writer.join();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_GE(stats->labels_written, 20);
  std::set<std::string> refs;
  for (const auto& r : Stored()) refs.insert(r.ref);
  for (int p = 0; p < 2; ++p) {
    for (int o = 0; o < 10; ++o) EXPECT_TRUE(refs.contains(fmt::format("{}/{}/{}", kLabelsTopic, p, o)));
  }
}

// The system's time, but each SleepFor (a retry's backoff) returns at once and runs `on_sleep`.
class RetryClock final : public Clock {
 public:
  [[nodiscard]] int64_t NowMillis() const override { return DefaultClock().NowMillis(); }
  [[nodiscard]] double MonotonicSeconds() const override { return DefaultClock().MonotonicSeconds(); }
  void SleepFor(milliseconds duration) const override {
    slept.push_back(duration);
    on_sleep();
  }
  mutable std::vector<milliseconds> slept;
  std::function<void()> on_sleep;
};

TEST_F(LabelConsumerTest, AFailedWriteIsRetriedWithBackoffAndNothingIsCommittedBeforeIt) {
  for (int i = 0; i < 4; ++i) Send(0, LabelJson(i));
  Delivered();
  // The store cannot be written while a file stands where the labels' directory goes.
  const auto blocker = dir_ / "labels";
  {
    std::ofstream(blocker) << "x";
  }
  RetryClock clock;
  kafka::Consumer* consumer_seen = nullptr;
  std::vector<int64_t> committed_while_failing;
  clock.on_sleep = [&] {
    auto committed = consumer_seen->Committed({{.topic = kLabelsTopic, .partition = 0}}, milliseconds(5000));
    committed_while_failing.push_back(committed.ok() ? (*committed)[0].offset : -2);
    if (clock.slept.size() == 3) std::filesystem::remove(blocker);
  };
  LabelConsumer* loop = nullptr;
  auto consumer = kafka::Consumer::Make(ConsumerProperties(options_), [&](const auto& r) {
                    loop->OnRebalance(r);
                  }).ValueOrDie();
  consumer_seen = consumer.get();
  RecordingProducer dlq;
  LabelConsumer labels(options_, *consumer, dlq, *store_, Uri("labels"), nullptr, clock, stop_);
  loop = &labels;
  ASSERT_TRUE(labels.Open().ok());
  while (labels.Step()) {
  }
  const auto stats = labels.Finish().ValueOrDie();
  EXPECT_EQ(stats.write_failures, 3);
  EXPECT_EQ(stats.labels_written, 4);
  EXPECT_EQ(clock.slept,
            (std::vector<milliseconds>{milliseconds(250), milliseconds(500), milliseconds(1000)}));
  for (int64_t offset : committed_while_failing)
    EXPECT_LT(offset, 0) << "committed before the labels were stored";
  EXPECT_EQ(Stored().size(), 4u);
}

TEST(LabelsOptions, NeedAStoreAndSayWhereToGiveIt) {
  LabelsOptions options;
  const Status st = Validate(options);
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("--labels"), std::string::npos) << st.message();
  options.prefix = "s3://bucket/labels";
  EXPECT_TRUE(Validate(options).ok());
  options.dashboard_url = "ftp://x";
  EXPECT_TRUE(Validate(options).IsInvalid());
  EXPECT_EQ(options.LabelsTopic(), "user_interactions.labels");
  EXPECT_EQ(options.DlqTopic(), "user_interactions.labels.dlq");
}

}  // namespace
}  // namespace pfad::labels
