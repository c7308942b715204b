#include "pfad/kafka/client.h"

#include <gtest/gtest.h>

namespace pfad::kafka {
namespace {

TEST(KafkaClient, ParsesProperties) {
  EXPECT_EQ(ParseProperty("linger.ms=5").ValueOrDie(), (std::pair<std::string, std::string>{"linger.ms", "5"}));
  EXPECT_EQ(ParseProperty("sasl.password=a=b").ValueOrDie().second, "a=b");
  EXPECT_TRUE(ParseProperty("linger.ms").status().IsInvalid());
  EXPECT_TRUE(ParseProperty("=5").status().IsInvalid());
}

TEST(KafkaClient, RefusedPropertiesAreNamed) {
  EXPECT_TRUE(MakeConf({{"linger.ms", "5"}, {"acks", "all"}}).ok());
  const Status st = MakeConf({{"no.such.property", "1"}}).status();
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("no.such.property"), std::string::npos);
  EXPECT_TRUE(MakeConf({{"linger.ms", "not-a-number"}}).status().IsInvalid());
}

TEST(KafkaClient, UnreachableBrokerIsAClearErrorWithinTheTimeout) {
  auto conf = MakeConf({{"bootstrap.servers", "127.0.0.1:1"}}).ValueOrDie();
  char err[256];
  HandlePtr handle(rd_kafka_new(RD_KAFKA_PRODUCER, conf.release(), err, sizeof(err)));
  ASSERT_NE(handle, nullptr) << err;
  const Status st = WaitForTopic(handle.get(), "127.0.0.1:1", "t", std::chrono::milliseconds(1500)).status();
  EXPECT_TRUE(st.IsIOError());
  EXPECT_NE(st.message().find("cannot reach Kafka at 127.0.0.1:1"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace pfad::kafka
