#include "cli.h"

#include <fmt/format.h>

#include "pfad/common/log.h"
#include "pfad/spark/engine.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace pfad::cli {

namespace {
std::atomic<bool> g_stop_requested{false};
extern "C" void OnStopSignal(int) { g_stop_requested.store(true); }
}  // namespace

const std::atomic<bool>& StopOnSignals() {
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  return g_stop_requested;
}

std::string CacheDir() {
  if (const char* cache = std::getenv("PFAD_CACHE"); cache != nullptr && *cache != '\0') return cache;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.cache/pfad";
}

int ReportError(std::string_view command, const Status& status) {
  std::string message = status.message();
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  fmt::print(stderr, "pfad {}: error: {}\n", command, EscapeUntrusted(message));
  if (status.IsInvalid() || status.IsTypeError() || status.IsKeyError()) return kBadInput;
  if (status.IsIOError()) return kStorage;
  return kInternal;
}

void MetricsFlags::AddTo(CLI::App& app) {
  app.add_option("--metrics-port", port,
                 "serve GET /metrics (Prometheus text) and GET /health (JSON) on this port (0 = off)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--metrics-host", host, "address of the metrics endpoint")->capture_default_str();
}

Result<std::unique_ptr<metrics::Endpoint>> MetricsFlags::Serve(std::string_view command,
                                                               std::shared_ptr<const metrics::Health> health,
                                                               std::function<void()> before_scrape) const {
  if (port == 0) return std::unique_ptr<metrics::Endpoint>();
  PFAD_ASSIGN_OR_RAISE(auto endpoint,
                       metrics::Endpoint::Start({.host = host,
                                                 .port = port,
                                                 .name = std::string(command) + "-metrics",
                                                 .before_scrape = std::move(before_scrape)},
                                                metrics::ProcessRegistry(), std::move(health)));
  Logger("pfad")->info("metrics on http://{}:{}/metrics, health on /health", host, endpoint->port());
  return endpoint;
}

void StorageFlags::AddTo(CLI::App& app) {
  app.add_option("--config", config_path, "TOML config file (default: $PFAD_CONFIG)");
  app.add_option(
      "--s3-endpoint", endpoint,
      "S3 endpoint URL, e.g. http://127.0.0.1:9000 (default: $PFAD_S3_ENDPOINT, "
      "$AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, else [storage] endpoint; credentials from "
      "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or [storage] access_key / secret_key, never a flag)");
  app.add_option(
      "--s3-region", region,
      "S3 region (default: $AWS_REGION, $AWS_DEFAULT_REGION, else [storage] region, else us-east-1)");
}

Result<ConfigFile> LoadConfigFile(const std::string& flag_path) {
  std::string path = flag_path;
  if (path.empty()) {
    if (const char* env = std::getenv("PFAD_CONFIG"); env != nullptr) path = env;
  }
  if (path.empty()) return ConfigFile();
  return ConfigFile::Load(path);
}

CLI::Validator ShareBelowOne() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          size_t used = 0;
          const double v = std::stod(text, &used);
          if (used != text.size()) return "must be a number";
          return v >= 0 && v < 1 ? "" : "must be >= 0 and < 1";
        } catch (const std::exception&) {
          return "must be a number";
        }
      },
      "in [0, 1)");
}

Status OverlayKafkaFlags(const std::vector<std::string>& flags, kafka::Properties& properties) {
  for (const auto& text : flags) {
    PFAD_ASSIGN_OR_RAISE(auto kv, kafka::ParseProperty(text));
    properties[kv.first] = kv.second;
  }
  return Status::OK();
}

Result<ConfigFile> StorageFlags::LoadConfig() const { return LoadConfigFile(config_path); }

Result<storage::StorageConfig> StorageFlags::Resolve(const ConfigFile& file) const {
  PFAD_ASSIGN_OR_RAISE(auto config, storage::StorageConfig::Resolve(file));
  if (!endpoint.empty()) config.endpoint = endpoint;
  if (!region.empty()) config.region = region;
  return config;
}

void ClickHouseFlags::AddTo(CLI::App& app, std::string_view what) {
  app.add_option(
      "--clickhouse", url,
      fmt::format("{}, http://host:port/<db> (default: $PFAD_CLICKHOUSE_URL, else [clickhouse] url; user "
                  "and password from PFAD_CLICKHOUSE_USER / PFAD_CLICKHOUSE_PASSWORD, CLICKHOUSE_USER / "
                  "CLICKHOUSE_PASSWORD or [clickhouse] user / password, never a flag)",
                  what));
}

Result<warehouse::ClickHouseConfig> ClickHouseFlags::Resolve(const ConfigFile& file) const {
  PFAD_ASSIGN_OR_RAISE(auto config, warehouse::ClickHouseConfig::Resolve(file));
  if (!url.empty()) config.url = url;
  return config;
}

void EngineFlags::AddTo(CLI::App& app) {
  app.add_option("--engine", engine,
                 "analysis engine: local (C++, default) or spark (a Spark cluster over Spark Connect; "
                 "default: $PFAD_ENGINE, else [analyze] engine)")
      ->check(CLI::IsMember({"local", "spark"}));
  app.add_option(
      "--spark-remote", spark_remote,
      "Spark Connect server, sc://host:port (default: $PFAD_SPARK_REMOTE, else [analyze] spark_remote, "
      "else sc://127.0.0.1:15002)");
  app.add_option(
         "--spark-connect-timeout", connect_timeout_s,
         "seconds to reach the Spark Connect server (default: [analyze] spark_connect_timeout_s, else 10)")
      ->check(CLI::PositiveNumber);
  app.add_option("--spark-timeout", request_timeout_s,
                 "seconds one Spark query may take (default: [analyze] spark_timeout_s, else 300)")
      ->check(CLI::PositiveNumber);
}

Result<std::shared_ptr<const analyze::EventCounter>> EngineFlags::Open(
    const ConfigFile& file, const analyze::AnalyzeConfig& config) const {
  analyze::AnalyzeConfig resolved = config;
  resolved.engine = Name(config.engine);
  return spark::OpenEventCounter(resolved, [&] { return ResolveSpark(file); });
}

Result<spark::SparkConfig> EngineFlags::ResolveSpark(const ConfigFile& file) const {
  PFAD_ASSIGN_OR_RAISE(auto spark_config, spark::SparkConfig::Resolve(file));
  if (!spark_remote.empty()) spark_config.remote = spark_remote;
  if (connect_timeout_s > 0) spark_config.connect_timeout_s = connect_timeout_s;
  if (request_timeout_s > 0) spark_config.request_timeout_s = request_timeout_s;
  return spark_config;
}

}  // namespace pfad::cli
