// IngestOptions: resolution from the config file and environment, derived
// defaults, validation, and the librdkafka properties they give.
#include "pfad/ingest/ingester.h"

namespace pfad::ingest {

Result<IngestOptions> IngestOptions::Resolve(const ConfigFile& file) {
  IngestOptions o;
  std::string sink;
  PFAD_RETURN_NOT_OK(file.ReadInto("ingest.registry", o.registry_url));
  PFAD_RETURN_NOT_OK(file.ReadInto("ingest.sink", sink));
  if (auto v = GetEnv("PFAD_REGISTRY_URL")) o.registry_url = *v;
  if (auto v = GetEnv("PFAD_INGEST_SINK")) sink = *v;
  if (!sink.empty()) {
    PFAD_ASSIGN_OR_RAISE(o.sink, storage::ObjectUri::Parse(sink));
  }
  PFAD_ASSIGN_OR_RAISE(o.properties, kafka::ConfiguredProperties(file));
  PFAD_ASSIGN_OR_RAISE(o.topics, kafka::TopicDefaults::Resolve(file));
  return o;
}

IngestOptions WithDefaults(IngestOptions options) {
  if (options.dlq_topic.empty()) options.dlq_topic = events::DlqTopic(options.topic);
  if (options.windows_topic.empty()) options.windows_topic = events::WindowsTopic(options.topic);
  return options;
}

Status Validate(const IngestOptions& options) {
  if (options.topic.empty()) return Status::Invalid("the ingest topic must not be empty");
  if (options.group.empty()) return Status::Invalid("the consumer group must not be empty");
  if (options.registry_url.empty()) return Status::Invalid("no schema registry URL");
  if (options.windows.grace_ms < 0 || options.windows.lookback_ms < 0 ||
      options.windows.idle_timeout_ms <= 0) {
    return Status::Invalid("grace and lookback must be >= 0 and the idle timeout > 0");
  }
  if (options.row_group_rows <= 0) return Status::Invalid("row group size must be > 0");
  if (options.sink.Basename().ends_with(events::kObjectSuffix)) {
    return Status::Invalid("the sink is a directory or bucket/prefix, not an object: ",
                           options.sink.ToString());
  }
  return kafka::CheckProperties(options.properties);
}

kafka::Properties ConsumerProperties(const IngestOptions& options) {
  kafka::Properties props = {
      {"bootstrap.servers", options.bootstrap},
      {"group.id", options.group},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false"},
      {"fetch.wait.max.ms", "50"},
      // Prefetch. librdkafka 2.0 checks these "per partition" limits against the
      // consumer queue the partitions are forwarded to, i.e. all partitions
      // together, and once either is reached it fetches nothing until its broker
      // thread next wakes, up to a second later. So the queue must hold more
      // than a second of consumption (docs/BENCHMARKS.md, ingest).
      {"queued.max.messages.kbytes", "65536"},
      {"queued.min.messages", "500000"},
      {"client.id", "pfad-ingest"},
  };
  if (!options.instance_id.empty()) props["group.instance.id"] = options.instance_id;
  for (const auto& [k, v] : options.properties) props[k] = v;  // overrides go to both clients
  return props;
}

kafka::Properties ProducerProperties(const IngestOptions& options) {
  kafka::Properties props = {
      {"bootstrap.servers", options.bootstrap}, {"acks", "all"},
      {"enable.idempotence", "true"},           {"linger.ms", "5"},
      {"client.id", "pfad-ingest-dlq"},
  };
  for (const auto& [k, v] : options.properties) props[k] = v;
  return props;
}

}  // namespace pfad::ingest
