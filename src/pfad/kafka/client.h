// The Kafka boundary: librdkafka is used only inside src/pfad/kafka/. Stages see
// these types:
// - client.h    properties (-X key=value, the [kafka] config table) and their checks;
// - error.h     Kafka errors as Status, retriable and fatal told apart by type;
// - producer.h  kafka::Producer: produce, typed delivery reports, flush;
// - consumer.h  kafka::Consumer: subscribe or assign, batches of messages, typed
//               rebalance callbacks, commit, positions and watermarks;
// - mock_cluster.h  librdkafka's in-process mock broker (the demo, unit tests);
// - registry.h  the Confluent Schema Registry client.
// Every handle is made by a factory returning Result<> and owned by one object.
#pragma once

#include "pfad/common/config_file.h"
#include "pfad/common/status.h"

#include <map>
#include <string>
#include <utility>

namespace pfad::kafka {

using Properties = std::map<std::string, std::string>;

// Parses "key=value" (as given to -X); Invalid when there is no '='.
Result<std::pair<std::string, std::string>> ParseProperty(const std::string& text);

// Invalid naming the property librdkafka refuses and why, before anything connects.
Status CheckProperties(const Properties& properties);

// How PFAD creates the side topics it needs when they are missing (the DLQ,
// windows, labels and fraud topics; never the event topic): the replication
// factor, from [topics] replication_factor or PFAD_TOPIC_REPLICATION_FACTOR,
// -1 = the broker's default.replication.factor.
struct TopicDefaults {
  int replication_factor = -1;
  static Result<TopicDefaults> Resolve(const ConfigFile& file);
};

// The librdkafka version string, for logs.
std::string LibraryVersion();

}  // namespace pfad::kafka
