// IngestOptions: resolution from the config file and environment, derived
// defaults, validation, and the librdkafka properties they give.
#include "pfad/ingest/ingester.h"

namespace pfad {

// The sink is a location: "" = none, anything else must parse as one.
template <>
struct SettingValue<storage::ObjectUri> {
  static Result<bool> FromFile(const ConfigFile& file, const std::string& key, storage::ObjectUri& field) {
    std::string text;
    PFAD_ASSIGN_OR_RAISE(const bool found, SettingValue<std::string>::FromFile(file, key, text));
    if (found) PFAD_RETURN_NOT_OK(FromEnv(nullptr, text, field));
    return found;
  }
  static Status FromEnv(const char* /*variable*/, const std::string& text, storage::ObjectUri& field) {
    if (text.empty()) return Status::OK();
    PFAD_ASSIGN_OR_RAISE(field, storage::ObjectUri::Parse(text));
    return Status::OK();
  }
  static std::string ToText(const storage::ObjectUri& uri) { return uri.ToString(); }
};

}  // namespace pfad

namespace pfad::ingest {

const SettingsTable<IngestOptions>& IngestOptions::Settings() {
  static const SettingsTable<IngestOptions> table({
      {"ingest.registry",
       &IngestOptions::registry_url,
       {.env = {"PFAD_REGISTRY_URL"}, .description = "schema registry base URL"}},
      {"ingest.sink",
       &IngestOptions::sink,
       {.env = {"PFAD_INGEST_SINK"}, .description = "directory or s3://bucket[/prefix] the minutes go to"}},
  });
  return table;
}

Result<IngestOptions> IngestOptions::Resolve(const ConfigFile& file) {
  PFAD_ASSIGN_OR_RAISE(auto o, Settings().Resolve(file));
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
