// Shared pieces of the `pfad` command line: exit codes, error reporting and
// the flags every storage-touching sub-command takes.
#pragma once

#include <CLI/CLI.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pfad/analyze/analyze.h"
#include "pfad/common/config_file.h"
#include "pfad/common/status.h"
#include "pfad/kafka/client.h"
#include "pfad/storage/object_store.h"
#include "pfad/warehouse/clickhouse_client.h"

namespace pfad::spark {
struct SparkConfig;
}  // namespace pfad::spark

namespace pfad::cli {

// Exit codes of every sub-command.
enum ExitCode : int {
  kOk = 0,
  kInternal = 1,  // a bug or an unexpected failure
  kUsage = 2,     // wrong flags or arguments
  kBadInput = 3,  // the input is wrong: corrupt/not Parquet, missing columns, bad value
  kStorage = 4,   // a service failed: missing bucket/dir, access denied, broker/registry unreachable
  kDelivery = 5,  // pfad produce: some events were not delivered
};

inline constexpr std::string_view kExitCodesHelp =
    "Exit codes: 0 done; 2 wrong usage; 3 bad input (not Parquet, corrupt, missing "
    "columns, an invalid setting); 4 storage error (missing bucket or directory, access denied, store "
    "unreachable) or another service unreachable (Kafka, schema registry, Spark, ClickHouse); "
    "1 internal error.";

// Turns SIGINT/SIGTERM into a flag the long-running commands poll to stop cleanly.
const std::atomic<bool>& StopOnSignals();

// $PFAD_CACHE, else ~/.cache/pfad: where state files go by default.
std::string CacheDir();

// Prints "pfad <command>: error: <message>" as one line on stderr and returns
// the exit code for the status.
int ReportError(std::string_view command, const Status& status);

// The config file named by the --config flag, else $PFAD_CONFIG, else an empty one.
Result<ConfigFile> LoadConfigFile(const std::string& flag_path);

// Lays -X key=value flags over librdkafka properties a library resolved
// (kafka::ConfiguredProperties); a secret among them is refused (kafka::ParseProperty).
Status OverlayKafkaFlags(const std::vector<std::string>& flags, kafka::Properties& properties);

// Accepts a number in [0, 1) (a --fraud share).
CLI::Validator ShareBelowOne();

// Flags and config shared by sub-commands that reach storage.
struct StorageFlags {
  std::string config_path;  // --config (or PFAD_CONFIG)
  std::string endpoint;     // --s3-endpoint
  std::string region;       // --s3-region

  void AddTo(CLI::App& app);
  // The config file named by --config / PFAD_CONFIG, or an empty one.
  [[nodiscard]] Result<ConfigFile> LoadConfig() const;
  // Defaults <- config file <- environment <- flags.
  [[nodiscard]] Result<storage::StorageConfig> Resolve(const ConfigFile& file) const;
};

// Which analysis engine to use (local C++ or Spark over Spark Connect), shared by
// pfad analyze and the scheduler: --engine over analyze::AnalyzeConfig's engine;
// for Spark, the --spark-* flags over spark::SparkConfig.
struct EngineFlags {
  std::string engine;            // --engine local|spark
  std::string spark_remote;      // --spark-remote sc://host:port
  double connect_timeout_s = 0;  // --spark-connect-timeout (0 = config/default)
  double request_timeout_s = 0;  // --spark-timeout

  void AddTo(CLI::App& app);
  // The engine (spark::OpenEventCounter): --engine over `config`, and for Spark
  // the settings of ResolveSpark. For Spark this opens the one session every
  // analysis of the process shares (IOError when Spark is unreachable).
  [[nodiscard]] Result<std::shared_ptr<const analyze::EventCounter>> Open(
      const ConfigFile& file, const analyze::AnalyzeConfig& config) const;
  // The engine name: the flag, else `configured`.
  [[nodiscard]] const std::string& Name(const std::string& configured) const {
    return engine.empty() ? configured : engine;
  }
  // spark::SparkConfig::Resolve, then the --spark-* flags over it.
  [[nodiscard]] Result<spark::SparkConfig> ResolveSpark(const ConfigFile& file) const;
};

// The ClickHouse server of pfad ingest, export, run and backfill: --clickhouse
// over warehouse::ClickHouseConfig (URL from [clickhouse] url, then
// PFAD_CLICKHOUSE_URL; user and password only from the config file or the
// environment, never from a flag).
struct ClickHouseFlags {
  std::string url;  // --clickhouse

  // Adds --clickhouse with `what` (the sub-command's use of it) before the help on defaults.
  void AddTo(CLI::App& app, std::string_view what);
  // Defaults <- config file <- environment <- --clickhouse.
  [[nodiscard]] Result<warehouse::ClickHouseConfig> Resolve(const ConfigFile& file) const;
};

// Lays a flag over a resolved setting when the flag was given.
template <typename T, typename U>
void Overlay(const std::optional<T>& flag, U& setting) {
  if (flag) setting = *flag;
}

void RegisterAnalyze(CLI::App& app, int& exit_code);
void RegisterGen(CLI::App& app, int& exit_code);
void RegisterMinute(CLI::App& app, int& exit_code);
void RegisterProduce(CLI::App& app, int& exit_code);
void RegisterIngest(CLI::App& app, int& exit_code);
void RegisterLabels(CLI::App& app, int& exit_code);
void RegisterExport(CLI::App& app, int& exit_code);
void RegisterDashboard(CLI::App& app, int& exit_code);
void RegisterSchedule(CLI::App& app, int& exit_code);
void RegisterDemo(CLI::App& app, int& exit_code);
void RegisterFraud(CLI::App& app, int& exit_code);
void RegisterConfig(CLI::App& app, int& exit_code);

}  // namespace pfad::cli
