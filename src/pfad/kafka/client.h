// RAII handles over librdkafka, shared by the stages that talk to Kafka
// (produce, ingest). Every handle has one owner; errors come back as Status,
// retriable and fatal kept apart.
#pragma once

#include "pfad/common/status.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace pfad::kafka {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
struct HandleDeleter {
  void operator()(rd_kafka_t* k) const { rd_kafka_destroy(k); }
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;

using Properties = std::map<std::string, std::string>;

// Parses "key=value" (as given to -X); Invalid when there is no '='.
Result<std::pair<std::string, std::string>> ParseProperty(const std::string& text);

// A configuration with every property applied; Invalid naming the property
// librdkafka refused and why, before anything connects.
Result<ConfPtr> MakeConf(const Properties& properties);

// Waits until the cluster answers a metadata request and `topic` exists, for at
// most `timeout`, and returns its partition count; IOError naming the bootstrap
// servers otherwise.
Result<int32_t> WaitForTopic(rd_kafka_t* handle, const std::string& bootstrap, const std::string& topic,
                    std::chrono::milliseconds timeout);

// The librdkafka version string, for logs.
std::string LibraryVersion();

}  // namespace pfad::kafka
