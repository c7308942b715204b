// Private to src/pfad/kafka: owners of librdkafka handles and the helpers the
// producer, consumer and mock cluster share.
#pragma once

#include "pfad/common/status.h"
#include "pfad/kafka/client.h"
#include "pfad/kafka/error.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace pfad::kafka::internal {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
struct HandleDeleter {
  void operator()(rd_kafka_t* k) const;  // also forgets the handle's SecurityFailure
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

// The last login or TLS failure `handle` logged (escaped), if any. Every configuration
// made by MakeConf forwards librdkafka's log to PFAD's logger and records these.
std::optional<std::string> SecurityFailure(const rd_kafka_t* handle);

// A configuration with every property applied; Invalid naming a refused one (a secret's
// value is never quoted).
Result<ConfPtr> MakeConf(const Properties& properties);
// A client handle of `type` that takes over `conf` (it is released only on success).
Result<HandlePtr> MakeHandle(rd_kafka_type_t type, ConfPtr& conf, std::string_view what);

// A status for a librdkafka error code, classified as retriable, fatal or permanent.
Status ErrorStatus(rd_kafka_resp_err_t err, std::string_view context);
ErrorKind KindOf(rd_kafka_resp_err_t err);

// The client's fatal error (the message is librdkafka's reason), else OK.
Status FatalError(rd_kafka_t* handle);

// Waits until the cluster answers a metadata request and `topic` exists, for at
// most `timeout`; returns its partition count. IOError naming the bootstrap
// servers otherwise.
Result<int32_t> WaitForTopic(rd_kafka_t* handle, const std::string& topic, std::chrono::milliseconds timeout);

// WaitForTopic, and when the topic does not exist, creates it (admin API) with
// `partitions` and `replication_factor` (-1: the broker's default) and waits
// for it; a broker that refuses gives an error naming the topic and its reason.
Result<int32_t> EnsureTopic(rd_kafka_t* handle, const std::string& topic, int32_t partitions,
                            int32_t replication_factor, std::chrono::milliseconds timeout);

}  // namespace pfad::kafka::internal
