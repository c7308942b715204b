// pfad config [--config FILE]: every setting of every stage with its effective
// value and where it came from (default, file, env VARIABLE); secrets show as ****.
// The rows are the stages' SettingsTables (pfad/common/settings.h); a command's
// flags, laid over these values when it runs, are not shown.
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cli.h"
#include "pfad/analyze/analyze.h"
#include "pfad/common/settings.h"
#include "pfad/dashboard/server.h"
#include "pfad/fraud/live/live_scorer.h"
#include "pfad/ingest/ingester.h"
#include "pfad/kafka/client.h"
#include "pfad/labels/consumer.h"
#include "pfad/produce/event_producer.h"
#include "pfad/schedule/config.h"
#include "pfad/spark/session.h"
#include "pfad/storage/object_store.h"
#include "pfad/warehouse/clickhouse_client.h"

namespace pfad::cli {
namespace {

// The [kafka] table's librdkafka properties with the security environment on top
// (kafka::ConfiguredProperties), each with its source.
Result<std::vector<EffectiveSetting>> KafkaProperties(const ConfigFile& file) {
  PFAD_ASSIGN_OR_RAISE(const auto properties, kafka::ConfiguredProperties(file));
  std::vector<EffectiveSetting> out;
  for (const auto& [key, value] : properties) {
    EffectiveSetting s{.key = "kafka." + key, .value = value, .source = {SettingSource::Kind::kFile, {}}};
    for (const auto& [variable, property] : kafka::kSecurityEnvironment) {
      if (key == property && GetEnv(variable)) s.source = {SettingSource::Kind::kEnvironment, variable};
    }
    s.secret = kafka::IsSecretProperty(key);
    if (s.secret && !s.value.empty()) s.value = kMasked;
    s.description = "librdkafka property of every Kafka client";
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<EffectiveSetting>> AllSettings(const ConfigFile& file) {
  std::vector<EffectiveSetting> all;
  const auto add = [&all](Result<std::vector<EffectiveSetting>> rows) -> Status {
    PFAD_RETURN_NOT_OK(rows.status());
    for (auto& row : *rows) all.push_back(std::move(row));
    return Status::OK();
  };
  PFAD_RETURN_NOT_OK(add(analyze::AnalyzeConfig::Settings().Explain(file)));
  PFAD_RETURN_NOT_OK(add(spark::SparkConfig::Settings().Explain(file)));
  PFAD_RETURN_NOT_OK(add(storage::StorageConfig::Settings().Explain(file)));
  PFAD_RETURN_NOT_OK(add(ingest::IngestOptions::Settings().Explain(file)));
  PFAD_RETURN_NOT_OK(add(produce::ProduceOptions::Settings().Explain(file)));
  PFAD_RETURN_NOT_OK(add(dashboard::DashboardConfig::Settings().Explain(file)));
  PFAD_RETURN_NOT_OK(add(schedule::ScheduleConfig::Settings().Explain(file)));
  PFAD_RETURN_NOT_OK(add(warehouse::ClickHouseConfig::Settings().Explain(file)));
  PFAD_RETURN_NOT_OK(add(fraud::FraudConfig::Settings().Explain(file)));
  PFAD_RETURN_NOT_OK(add(labels::LabelsOptions::Settings().Explain(file)));
  PFAD_RETURN_NOT_OK(add(kafka::TopicDefaults::Settings().Explain(file)));
  PFAD_RETURN_NOT_OK(add(KafkaProperties(file)));
  return all;
}

Status RunConfig(const std::string& config_path) {
  PFAD_ASSIGN_OR_RAISE(const auto file, LoadConfigFile(config_path));
  PFAD_ASSIGN_OR_RAISE(const auto all, AllSettings(file));
  size_t key_width = 3, value_width = 5, source_width = 6;
  const auto shown = [](const std::string& value) { return value.empty() ? std::string("\"\"") : value; };
  for (const auto& s : all) {
    key_width = std::max(key_width, s.key.size());
    value_width = std::max(value_width, std::min<size_t>(shown(s.value).size(), 40));
    source_width = std::max(source_width, s.source.ToString().size());
  }
  fmt::print("{:<{}}  {:<{}}  {:<{}}  {}\n", "KEY", key_width, "VALUE", value_width, "SOURCE", source_width,
             "DESCRIPTION");
  for (const auto& s : all) {
    std::string description = s.description;
    if (!s.unit.empty()) description += fmt::format(" [{}]", s.unit);
    fmt::print("{:<{}}  {:<{}}  {:<{}}  {}\n", s.key, key_width, shown(s.value), value_width,
               s.source.ToString(), source_width, description);
  }
  return Status::OK();
}

}  // namespace

void RegisterConfig(CLI::App& app, int& exit_code) {
  auto config_path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "config",
      "Print every setting of every stage: its effective value and where it came from\n"
      "(default, file, or env VARIABLE; the config file overrides defaults, the environment\n"
      "overrides the file, a command's flags override both). Passwords, tokens and secret\n"
      "keys show as ****.");
  cmd->add_option("--config", *config_path, "TOML config file (default: $PFAD_CONFIG)");
  cmd->footer(
      "Exit codes: 0 done; 3 a setting is invalid (wrong type, out of range); 4 the config file "
      "cannot be read.");
  cmd->callback([config_path, &exit_code] {
    if (const Status st = RunConfig(*config_path); !st.ok()) exit_code = ReportError("config", st);
  });
}

}  // namespace pfad::cli
