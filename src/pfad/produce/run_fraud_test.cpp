// produce::Run with --fraud against the in-process mock broker and registry:
// labels reach <topic>.labels. (The mock broker creates topics on first use, so
// a missing labels topic is checked against a real broker in tests/integration.)
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "pfad/demo/services.h"
#include "pfad/kafka/consumer.h"
#include "pfad/kafka/mock_cluster.h"
#include "pfad/produce/event_producer.h"

namespace pfad::produce {
namespace {

using std::chrono::milliseconds;

int64_t EndOffsets(kafka::Consumer& consumer, const std::string& topic, int32_t partitions) {
  int64_t total = 0;
  for (int32_t p = 0; p < partitions; ++p) {
    auto marks = consumer.QueryWatermarks(topic, p, milliseconds(5000));
    EXPECT_TRUE(marks.ok()) << marks.status().ToString();
    if (marks.ok()) total += marks->high;
  }
  return total;
}

ProduceOptions Options(const std::string& bootstrap, const std::string& registry) {
  ProduceOptions options;
  options.bootstrap = bootstrap;
  options.registry_url = registry;
  options.topic = "events";
  options.count = 60'000;
  options.minutes = 10;
  options.start_time_ms = 1736922600000;
  options.seed = 9;
  options.fraud_share = 0.1;
  return options;
}

TEST(RunWithFraud, SendsOneLabelPerEntityToTheLabelsTopic) {
  auto cluster = kafka::MockCluster::Start({{"events", 2}, {"events.labels", 1}}).ValueOrDie();
  auto registry = demo::EmbeddedRegistry::Start().ValueOrDie();
  std::atomic<bool> stop{false};
  ManualClock clock(1736922600000);
  auto stats = produce::Run(Options(cluster->bootstrap(), registry->url()), stop, clock, nullptr);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->delivered, 60'000);
  EXPECT_EQ(stats->failed, 0);
  ASSERT_GT(stats->labels_delivered, 0);

  auto consumer =
      kafka::Consumer::Make({{"bootstrap.servers", cluster->bootstrap()}, {"group.id", "t"}}).ValueOrDie();
  EXPECT_EQ(EndOffsets(*consumer, "events", 2), 60'000);
  ASSERT_TRUE(
      consumer->Assign({{.topic = "events.labels", .partition = 0, .offset = kafka::kOffsetBeginning}}).ok());
  std::vector<kafka::Message> messages;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (static_cast<int64_t>(messages.size()) < stats->labels_delivered &&
         std::chrono::steady_clock::now() < deadline) {
    consumer->Poll(milliseconds(100), 1000, messages);
  }
  ASSERT_EQ(static_cast<int64_t>(messages.size()), stats->labels_delivered);
  std::set<std::string> entities;
  for (const auto& m : messages) {
    ASSERT_TRUE(m.error.ok()) << m.error.ToString();
    auto label = events::ParseLabelJson(m.value);
    ASSERT_TRUE(label.ok()) << label.status().ToString();
    EXPECT_EQ(m.key, label->entity_id.ToString());
    EXPECT_LE(label->first_ms, label->last_ms);
    EXPECT_TRUE(entities.insert(std::string(events::ToString(label->kind)) + std::string(m.key)).second);
  }
}

}  // namespace
}  // namespace pfad::produce
