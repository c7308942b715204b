#include "pfad/kafka/client.h"

#include <gtest/gtest.h>

#include "pfad/kafka/error.h"
#include "pfad/kafka/producer.h"

namespace pfad::kafka {
namespace {

TEST(KafkaClient, ParsesProperties) {
  EXPECT_EQ(ParseProperty("linger.ms=5").ValueOrDie(),
            (std::pair<std::string, std::string>{"linger.ms", "5"}));
  EXPECT_EQ(ParseProperty("sasl.username=a=b").ValueOrDie().second, "a=b");
  EXPECT_TRUE(ParseProperty("linger.ms").status().IsInvalid());
  EXPECT_TRUE(ParseProperty("=5").status().IsInvalid());
}

TEST(KafkaClient, SecretsAreNeverTakenFromTheCommandLineNorQuoted) {
  const Status st = ParseProperty("sasl.password=hunter2").status();
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("PFAD_KAFKA_SASL_PASSWORD"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("hunter2"), std::string::npos) << st.message();
  EXPECT_TRUE(ParseProperty("ssl.key.password=x").status().IsInvalid());
  EXPECT_EQ(ParseProperty("hunter2").status().message().find("hunter2"), std::string::npos);
  // A client refused with a secret among its properties does not quote it.
  const Status refused =
      Producer::Make(
          {{"sasl.password", "hunter2"}, {"sasl.mechanism", "NO-SUCH"}, {"security.protocol", "SASL_SSL"}})
          .status();
  EXPECT_TRUE(refused.IsInvalid()) << refused.ToString();
  EXPECT_EQ(refused.message().find("hunter2"), std::string::npos) << refused.message();
}

TEST(KafkaClient, SecuritySettingsComeFromTheEnvironmentOverTheConfigFile) {
  const auto file =
      ConfigFile::Parse("[kafka]\n\"security.protocol\" = \"SSL\"\n\"linger.ms\" = \"7\"\n").ValueOrDie();
  ::setenv("PFAD_KAFKA_SECURITY_PROTOCOL", "SASL_SSL", 1);
  ::setenv("PFAD_KAFKA_SASL_PASSWORD", "from-env", 1);
  const auto properties = ConfiguredProperties(file).ValueOrDie();
  ::unsetenv("PFAD_KAFKA_SECURITY_PROTOCOL");
  ::unsetenv("PFAD_KAFKA_SASL_PASSWORD");
  EXPECT_EQ(properties.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(properties.at("sasl.password"), "from-env");
  EXPECT_EQ(properties.at("linger.ms"), "7");
  EXPECT_EQ(properties.count("sasl.username"), 0U);
}

TEST(KafkaClient, RefusedPropertiesAreNamed) {
  EXPECT_TRUE(CheckProperties({{"linger.ms", "5"}, {"acks", "all"}}).ok());
  const Status st = CheckProperties({{"no.such.property", "1"}});
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("no.such.property"), std::string::npos);
  EXPECT_TRUE(CheckProperties({{"linger.ms", "not-a-number"}}).IsInvalid());
  EXPECT_TRUE(Producer::Make({{"no.such.property", "1"}}).status().IsInvalid());
}

TEST(KafkaClient, UnreachableBrokerIsARetriableErrorWithinTheTimeout) {
  auto producer = Producer::Make({{"bootstrap.servers", "127.0.0.1:1"}}).ValueOrDie();
  const Status st = producer->WaitForTopic("t", std::chrono::milliseconds(1500)).status();
  EXPECT_TRUE(st.IsIOError());
  EXPECT_TRUE(IsRetriable(st)) << st.ToString();
  EXPECT_FALSE(IsFatal(st));
  EXPECT_NE(st.message().find("cannot reach Kafka at 127.0.0.1:1"), std::string::npos) << st.ToString();
}

TEST(KafkaClient, ErrorsThatAreNotKafkasHaveNoKind) {
  EXPECT_EQ(KafkaError(Status::IOError("disk")), nullptr);
  EXPECT_FALSE(IsRetriable(Status::IOError("disk")));
  EXPECT_FALSE(IsFatal(Status::OK()));
}

}  // namespace
}  // namespace pfad::kafka
