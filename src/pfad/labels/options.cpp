// LabelsOptions: the [labels] table, validation, and the librdkafka properties they give.
#include <fmt/format.h>

#include "pfad/labels/consumer.h"

namespace pfad::labels {

const SettingsTable<LabelsOptions>& LabelsOptions::Settings() {
  using O = LabelsOptions;
  static const SettingsTable<O> table(
      {
          {"labels.prefix",
           &O::prefix,
           {.env = {"PFAD_LABELS_PREFIX"},
            .description = "the labels store: directory, file:// or s3://bucket/prefix"}},
          {"labels.group", &O::group, {.description = "consumer group of pfad labels consume"}},
          {"labels.batch_messages",
           &O::batch_messages,
           {.description = "labels read before a batch is written and committed", .min = 1}},
          {"labels.batch_s",
           &O::batch_time,
           {.unit = "s", .description = "longest a batch collects before it is written and committed"}},
          {"labels.dashboard",
           &O::dashboard_url,
           {.description = "dashboard base URL whose review verdicts become labels; empty = none"}},
          {"labels.dashboard_token",
           &O::dashboard_token,
           {.env = {"PFAD_DASHBOARD_READ_TOKEN", "PFAD_DASHBOARD_TOKEN"},
            .description = "bearer token for reading the dashboard's reviews",
            .secret = true}},
          {"labels.dashboard_ca",
           &O::dashboard_ca,
           {.env = {"PFAD_DASHBOARD_CA"},
            .description = "PEM CA file trusted for an https:// dashboard; empty = the system's"}},
          {"labels.review_poll_s",
           &O::review_poll,
           {.unit = "s", .description = "how often the dashboard is asked for new reviews"}},
      },
      {[](const O& o) -> Status {
        if (o.batch_time.count() <= 0 || o.review_poll.count() <= 0) {
          return Status::Invalid("config: labels.batch_s and labels.review_poll_s must be > 0");
        }
        if (!o.prefix.empty()) PFAD_RETURN_NOT_OK(storage::ObjectUri::Parse(o.prefix).status());
        return Status::OK();
      }});
  return table;
}

Result<LabelsOptions> LabelsOptions::Resolve(const ConfigFile& file) {
  PFAD_ASSIGN_OR_RAISE(auto o, Settings().Resolve(file));
  PFAD_ASSIGN_OR_RAISE(o.properties, kafka::ConfiguredProperties(file));
  PFAD_ASSIGN_OR_RAISE(o.topics, kafka::TopicDefaults::Resolve(file));
  return o;
}

Status Validate(const LabelsOptions& options) {
  if (options.prefix.empty()) {
    return Status::Invalid(
        "no labels store: give --labels (a directory or s3://bucket/prefix), [labels] prefix or "
        "PFAD_LABELS_PREFIX");
  }
  PFAD_RETURN_NOT_OK(storage::ObjectUri::Parse(options.prefix).status());
  if (options.topic.empty()) return Status::Invalid("the topic must not be empty");
  if (options.group.empty()) return Status::Invalid("the consumer group must not be empty");
  if (options.batch_messages <= 0 || options.batch_time.count() <= 0 || options.review_poll.count() <= 0) {
    return Status::Invalid("the batch size, the batch time and the review poll interval must be > 0");
  }
  if (!options.dashboard_url.empty() && !options.dashboard_url.starts_with("http://") &&
      !options.dashboard_url.starts_with("https://")) {
    return Status::Invalid("the dashboard URL '", options.dashboard_url, "' is not http:// or https://");
  }
  return kafka::CheckProperties(options.properties);
}

kafka::Properties ConsumerProperties(const LabelsOptions& options) {
  kafka::Properties props = {
      {"bootstrap.servers", options.bootstrap},
      {"group.id", options.group},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false"},
      {"fetch.wait.max.ms", "100"},
      {"client.id", "pfad-labels"},
  };
  for (const auto& [k, v] : options.properties) props[k] = v;
  return props;
}

kafka::Properties ProducerProperties(const LabelsOptions& options) {
  kafka::Properties props = {
      {"bootstrap.servers", options.bootstrap}, {"acks", "all"},
      {"enable.idempotence", "true"},           {"linger.ms", "5"},
      {"client.id", "pfad-labels-dlq"},
  };
  for (const auto& [k, v] : options.properties) props[k] = v;
  return props;
}

std::string KafkaStem(int32_t partition, int64_t first_offset, int64_t last_offset) {
  return fmt::format("kafka-{}-{:020}-{:020}", partition, first_offset, last_offset);
}

}  // namespace pfad::labels
