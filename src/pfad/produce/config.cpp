#include "pfad/produce/event_producer.h"

namespace pfad::produce {

Result<ProduceOptions> ProduceOptions::Resolve(const ConfigFile& file) {
  ProduceOptions o;
  PFAD_RETURN_NOT_OK(file.ReadInto("produce.bootstrap", o.bootstrap));
  PFAD_RETURN_NOT_OK(file.ReadInto("produce.registry", o.registry_url));
  PFAD_RETURN_NOT_OK(file.ReadInto("produce.topic", o.topic));
  PFAD_RETURN_NOT_OK(file.ReadSecondsInto("produce.connect_timeout_s", o.connect_timeout));
  PFAD_ASSIGN_OR_RAISE(o.properties, kafka::ConfiguredProperties(file));
  PFAD_ASSIGN_OR_RAISE(o.topics, kafka::TopicDefaults::Resolve(file));
  if (auto v = GetEnv("PFAD_KAFKA_BOOTSTRAP")) o.bootstrap = *v;
  if (auto v = GetEnv("PFAD_REGISTRY_URL")) o.registry_url = *v;
  return o;
}

}  // namespace pfad::produce
