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
#include "pfad/common/settings.h"
#include "pfad/common/status.h"

#include <map>
#include <string>
#include <utility>

namespace pfad::kafka {

using Properties = std::map<std::string, std::string>;

// Parses "key=value" (as given to -X); Invalid when there is no '=' or when the key is a
// secret (sasl.password, ssl.key.password, ...): a command line is visible to every user
// of the machine, so secrets come only from the environment or the config file.
Result<std::pair<std::string, std::string>> ParseProperty(const std::string& text);

// True for the librdkafka properties that hold secrets (never on a command line, never
// in a log or an error message).
bool IsSecretProperty(std::string_view key);

// The environment variables that set the connection's security, and their properties:
//   PFAD_KAFKA_SECURITY_PROTOCOL  security.protocol   (e.g. SASL_SSL)
//   PFAD_KAFKA_SASL_MECHANISM     sasl.mechanism      (e.g. SCRAM-SHA-512)
//   PFAD_KAFKA_SASL_USERNAME      sasl.username
//   PFAD_KAFKA_SASL_PASSWORD      sasl.password
//   PFAD_KAFKA_SSL_CA_LOCATION    ssl.ca.location     (PEM file of the CA to trust)
// scripts/services/kafka.sh sasl-env prints them for its SASL_SSL listener.
inline constexpr std::pair<const char*, const char*> kSecurityEnvironment[] = {
    {"PFAD_KAFKA_SECURITY_PROTOCOL", "security.protocol"},
    {"PFAD_KAFKA_SASL_MECHANISM", "sasl.mechanism"},
    {"PFAD_KAFKA_SASL_USERNAME", "sasl.username"},
    {"PFAD_KAFKA_SASL_PASSWORD", "sasl.password"},
    {"PFAD_KAFKA_SSL_CA_LOCATION", "ssl.ca.location"}};

// The one resolver of every Kafka client's properties (produce, ingest, the scheduler's
// announcements, the fraud alerts): the config file's [kafka] table, then the security
// settings of the environment (kSecurityEnvironment) on top. -X flags go on top of this.
Result<Properties> ConfiguredProperties(const ConfigFile& file);

// Invalid naming the property librdkafka refuses and why, before anything connects.
Status CheckProperties(const Properties& properties);

// How PFAD creates the side topics it needs when they are missing (the DLQ,
// windows, labels and fraud topics; never the event topic): the replication
// factor, from [topics] replication_factor or PFAD_TOPIC_REPLICATION_FACTOR,
// -1 = the broker's default.replication.factor.
struct TopicDefaults {
  int replication_factor = -1;
  static Result<TopicDefaults> Resolve(const ConfigFile& file);
  // The rows Resolve reads (key, environment, default, unit, description); `pfad config` prints them.
  static const SettingsTable<TopicDefaults>& Settings();
};

// The librdkafka version string, for logs.
std::string LibraryVersion();

}  // namespace pfad::kafka
