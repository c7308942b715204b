#include "pfad/kafka/client.h"

#include <algorithm>
#include <thread>

namespace pfad::kafka {

Result<std::pair<std::string, std::string>> ParseProperty(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::Invalid("librdkafka property '", text, "' must look like key=value");
  }
  return std::pair{text.substr(0, eq), text.substr(eq + 1)};
}

Result<ConfPtr> MakeConf(const Properties& properties) {
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  for (const auto& [key, value] : properties) {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      return Status::Invalid("Kafka property ", key, "=", value, ": ", err);
    }
  }
  return conf;
}

Result<int32_t> WaitForTopic(rd_kafka_t* handle, const std::string& bootstrap, const std::string& topic,
                    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_ptr<rd_kafka_topic_t, decltype(&rd_kafka_topic_destroy)> rkt(
      rd_kafka_topic_new(handle, topic.c_str(), nullptr), &rd_kafka_topic_destroy);
  std::string last_error = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const rd_kafka_metadata_t* md = nullptr;
    const auto err = rd_kafka_metadata(handle, 0, rkt.get(), &md,
                                       static_cast<int>(std::clamp<int64_t>(left.count(), 1, 2000)));
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::unique_ptr<const rd_kafka_metadata_t, decltype(&rd_kafka_metadata_destroy)> owned(md, &rd_kafka_metadata_destroy);
      if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topics[0].partition_cnt > 0) {
        return md->topics[0].partition_cnt;
      }
      const auto topic_err = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
      if (topic_err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        return Status::IOError("Kafka at ", bootstrap, " has no topic '", topic,
                               "' (create it first, e.g. scripts/services/kafka.sh creates user_interactions)");
      }
      last_error = rd_kafka_err2str(topic_err);
    } else {
      last_error = rd_kafka_err2str(err);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Status::IOError("cannot reach Kafka at ", bootstrap, " within ", timeout.count(), " ms (", last_error,
                         "); is the broker running? set --bootstrap or PFAD_KAFKA_BOOTSTRAP");
}

std::string LibraryVersion() { return rd_kafka_version_str(); }

}  // namespace pfad::kafka
