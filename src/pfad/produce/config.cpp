// ProduceOptions' settings table: defaults <- [produce] <- environment, and the
// Kafka properties and topic defaults kafka/ resolves.
#include "pfad/produce/event_producer.h"

namespace pfad::produce {

const SettingsTable<ProduceOptions>& ProduceOptions::Settings() {
  using O = ProduceOptions;
  static const SettingsTable<O> table({
      {"produce.bootstrap",
       &O::bootstrap,
       {.env = {"PFAD_KAFKA_BOOTSTRAP"}, .description = "Kafka bootstrap servers"}},
      {"produce.registry",
       &O::registry_url,
       {.env = {"PFAD_REGISTRY_URL"}, .description = "schema registry base URL"}},
      {"produce.topic", &O::topic, {.description = "topic the events go to"}},
      {"produce.connect_timeout_s",
       &O::connect_timeout,
       {.unit = "s", .description = "how long to wait for the broker at start"}},
  });
  return table;
}

Result<ProduceOptions> ProduceOptions::Resolve(const ConfigFile& file) {
  PFAD_ASSIGN_OR_RAISE(auto o, Settings().Resolve(file));
  PFAD_ASSIGN_OR_RAISE(o.properties, kafka::ConfiguredProperties(file));
  PFAD_ASSIGN_OR_RAISE(o.topics, kafka::TopicDefaults::Resolve(file));
  return o;
}

}  // namespace pfad::produce
