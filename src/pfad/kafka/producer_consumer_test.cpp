// kafka::Producer and kafka::Consumer against librdkafka's mock cluster: what
// the stages rely on (headers, delivery reports, group assignment, manual
// assignment, commits, positions, watermarks).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "pfad/kafka/consumer.h"
#include "pfad/kafka/error.h"
#include "pfad/kafka/mock_cluster.h"
#include "pfad/kafka/producer.h"

namespace pfad::kafka {
namespace {

using std::chrono::milliseconds;

// Polls until `n` messages arrived (or 15 s passed).
std::vector<Message> ConsumeN(Consumer& consumer, size_t n) {
  std::vector<Message> out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (out.size() < n && std::chrono::steady_clock::now() < deadline)
    consumer.Poll(milliseconds(100), 100, out);
  return out;
}

TEST(KafkaProducerConsumer, DeliversWithHeadersAndReportsEachDelivery) {
  auto cluster = MockCluster::Start({{"events", 3}}).ValueOrDie();
  std::vector<DeliveryReport> reports;
  int tag = 7;
  auto producer = Producer::Make({{"bootstrap.servers", cluster->bootstrap()}}, [&](const DeliveryReport& r) {
                    reports.push_back(r);
                  }).ValueOrDie();
  EXPECT_EQ(producer->WaitForTopic("events", std::chrono::seconds(10)).ValueOrDie(), 3);
  const Headers headers = {{"pfad.error", "bad"}, {"pfad.source.offset", "12"}};
  ASSERT_TRUE(producer
                  ->Produce("events",
                            {.key = "k1", .value = "v1", .partition = 1, .headers = &headers, .opaque = &tag})
                  .ok());
  const OutgoingMessage batch[] = {{.key = "k2", .value = "v2"}, {.key = "k3", .value = "v3"}};
  Status error;
  EXPECT_EQ(producer->ProduceBatch("events", 2, batch, error), 2u);
  EXPECT_TRUE(error.ok()) << error.ToString();
  ASSERT_TRUE(producer->Flush(std::chrono::seconds(10)).ok());
  EXPECT_EQ(producer->in_flight(), 0);
  EXPECT_EQ(producer->delivered(), 3);
  ASSERT_EQ(reports.size(), 3u);
  const auto tagged =
      std::find_if(reports.begin(), reports.end(), [&](const auto& r) { return r.opaque == &tag; });
  ASSERT_NE(tagged, reports.end());
  EXPECT_EQ(tagged->partition, 1);
  EXPECT_EQ(tagged->topic, "events");
  for (const auto& r : reports) EXPECT_TRUE(r.error.ok()) << r.error.ToString();

  auto consumer =
      Consumer::Make(
          {{"bootstrap.servers", cluster->bootstrap()}, {"group.id", "g"}, {"auto.offset.reset", "earliest"}})
          .ValueOrDie();
  ASSERT_TRUE(consumer
                  ->Assign({{.topic = "events", .partition = 1, .offset = kOffsetBeginning},
                            {.topic = "events", .partition = 2, .offset = kOffsetBeginning}})
                  .ok());
  auto messages = ConsumeN(*consumer, 3);
  ASSERT_EQ(messages.size(), 3u);
  for (const auto& m : messages) {
    EXPECT_TRUE(m.error.ok()) << m.error.ToString();
    EXPECT_EQ(m.topic, "events");
    EXPECT_EQ(m.key[0], 'k');
    EXPECT_EQ(m.value.substr(1), m.key.substr(1));
    EXPECT_GT(m.timestamp_ms, 0);
  }
  const auto marks = consumer->QueryWatermarks("events", 2, milliseconds(5000)).ValueOrDie();
  EXPECT_EQ(marks.high - marks.low, 2);
  EXPECT_EQ(consumer->Position("events", 2).value_or(-1), marks.high);
  consumer->Close();
}

TEST(KafkaProducerConsumer, GroupAssignmentReachesTheHandlerAndCommitsAreReadBack) {
  auto cluster = MockCluster::Start({{"events", 2}}).ValueOrDie();
  auto producer = Producer::Make({{"bootstrap.servers", cluster->bootstrap()}}).ValueOrDie();
  for (int i = 0; i < 10; ++i) {
    const std::string value = std::to_string(i);
    ASSERT_TRUE(producer->Produce("events", {.value = value, .partition = i % 2}).ok());
  }
  ASSERT_TRUE(producer->Flush(std::chrono::seconds(10)).ok());

  std::vector<Rebalance> rebalances;
  const Properties props = {
      {"bootstrap.servers", cluster->bootstrap()}, {"group.id", "ingest"}, {"auto.offset.reset", "earliest"}};
  auto consumer = Consumer::Make(props, [&](const Rebalance& r) { rebalances.push_back(r); }).ValueOrDie();
  ASSERT_TRUE(consumer->Subscribe("events").ok());
  const auto messages = ConsumeN(*consumer, 10);
  ASSERT_EQ(messages.size(), 10u);
  ASSERT_FALSE(rebalances.empty());
  EXPECT_EQ(rebalances[0].kind, RebalanceKind::kAssigned);
  EXPECT_EQ(rebalances[0].partitions.size(), 2u);
  ASSERT_TRUE(consumer->Commit({{.topic = "events", .partition = 0, .offset = 3}}, /*sync=*/true).ok());
  const auto committed =
      consumer
          ->Committed({{.topic = "events", .partition = 0}, {.topic = "events", .partition = 1}},
                      milliseconds(5000))
          .ValueOrDie();
  ASSERT_EQ(committed.size(), 2u);
  EXPECT_EQ(committed[0].offset, 3);
  EXPECT_LT(committed[1].offset, 0);  // nothing committed
  consumer->Close();
  ASSERT_GE(rebalances.size(), 2u);
  EXPECT_EQ(rebalances.back().kind, RebalanceKind::kRevoked);

  // A consumer of the group resumes partition 0 where the commit left it.
  auto next = Consumer::Make(props).ValueOrDie();
  ASSERT_TRUE(next->Assign({{.topic = "events", .partition = 0, .offset = kOffsetStored}}).ok());
  const auto again = ConsumeN(*next, 2);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].offset, 3);
  next->Close();
}

}  // namespace
}  // namespace pfad::kafka
