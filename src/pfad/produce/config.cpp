#include "pfad/produce/producer.h"

namespace pfad::produce {

Result<ProduceOptions> ProduceOptions::Resolve(const ConfigFile& file) {
  ProduceOptions o;
  PFAD_ASSIGN_OR_RAISE(auto bootstrap, file.GetString("produce.bootstrap"));
  if (bootstrap) o.bootstrap = *bootstrap;
  PFAD_ASSIGN_OR_RAISE(auto registry, file.GetString("produce.registry"));
  if (registry) o.registry_url = *registry;
  PFAD_ASSIGN_OR_RAISE(auto topic, file.GetString("produce.topic"));
  if (topic) o.topic = *topic;
  PFAD_ASSIGN_OR_RAISE(auto connect_timeout, file.GetSeconds("produce.connect_timeout_s"));
  if (connect_timeout) o.connect_timeout = *connect_timeout;
  PFAD_ASSIGN_OR_RAISE(auto kafka, file.GetTable("kafka"));
  o.properties = kafka::Properties(kafka.begin(), kafka.end());
  if (auto v = GetEnv("PFAD_KAFKA_BOOTSTRAP")) o.bootstrap = *v;
  if (auto v = GetEnv("PFAD_REGISTRY_URL")) o.registry_url = *v;
  return o;
}

}  // namespace pfad::produce
