#include "pfad/demo/services.h"
#include "pfad/kafka/producer.h"

#include <gtest/gtest.h>

#include "pfad/kafka/registry.h"

namespace pfad::demo {
namespace {

TEST(EmbeddedRegistry, ServesTheRestSubsetTheClientUses) {
  auto registry = EmbeddedRegistry::Start().ValueOrDie();
  kafka::SchemaRegistryClient client({.url = registry->url()});
  const std::string v1 = R"({"type":"record","name":"E","fields":[{"name":"a","type":"long"}]})";
  const std::string v1_spaced =
      R"({ "type": "record", "name": "E", "fields": [ {"name": "a", "type": "long"} ] })";
  const std::string v2 = R"({"type":"record","name":"E","fields":[{"name":"b","type":"string"}]})";
  const int32_t id = client.Register("t-value", v1).ValueOrDie();
  EXPECT_EQ(client.Register("t-value", v1).ValueOrDie(), id);         // looked up, not re-registered
  EXPECT_EQ(client.Register("u-value", v1_spaced).ValueOrDie(), id);  // same schema, other subject
  const int32_t id2 = client.Register("t-value", v2).ValueOrDie();
  EXPECT_NE(id2, id);

  kafka::SchemaRegistryClient fresh({.url = registry->url()});  // no cache: asks the server
  EXPECT_EQ(fresh.SchemaById(id).ValueOrDie(), v1);
  EXPECT_EQ(fresh.SchemaById(id2).ValueOrDie(), v2);
  EXPECT_TRUE(fresh.SchemaById(99).status().IsKeyError());
  EXPECT_FALSE(client.Register("t-value", "not json").ok());
}

TEST(EmbeddedKafka, ServesItsTopicsOnLoopback) {
  auto cluster = EmbeddedKafka::Start({{"events", 6}, {"events.dlq", 1}}).ValueOrDie();
  EXPECT_TRUE(cluster->bootstrap().starts_with("127.0.0.1:")) << cluster->bootstrap();
  auto client = kafka::Producer::Make({{"bootstrap.servers", cluster->bootstrap()}}).ValueOrDie();
  EXPECT_EQ(client->WaitForTopic("events", std::chrono::seconds(10)).ValueOrDie(), 6);
  EXPECT_EQ(client->WaitForTopic("events.dlq", std::chrono::seconds(10)).ValueOrDie(), 1);
}

}  // namespace
}  // namespace pfad::demo
