// pfad export: one Asia/Tehran minute from ClickHouse to its Parquet object.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "pfad/events/minute.h"
#include "pfad/warehouse/export.h"
#include "pfad/warehouse/table.h"

namespace pfad::cli {
namespace {

struct ExportFlags {
  ClickHouseFlags clickhouse;
  std::string minute;
  std::string to;
  bool json = false;
  StorageFlags storage;
};

Status RunExport(const ExportFlags& flags) {
  PFAD_ASSIGN_OR_RAISE(auto config, flags.storage.LoadConfig());
  PFAD_ASSIGN_OR_RAISE(auto clickhouse, flags.clickhouse.Resolve(config));
  PFAD_ASSIGN_OR_RAISE(auto client, warehouse::ClickHouseClient::Make(clickhouse, DefaultClock()));
  PFAD_ASSIGN_OR_RAISE(auto calendar, events::MinuteCalendar::Open());
  PFAD_ASSIGN_OR_RAISE(const auto minute, calendar.Parse(flags.minute));
  PFAD_ASSIGN_OR_RAISE(const auto to, storage::ObjectUri::Parse(flags.to));
  if (to.Basename().ends_with(events::kObjectSuffix)) {
    return Status::Invalid("--to is a directory or bucket/prefix, not an object: ", flags.to);
  }
  PFAD_ASSIGN_OR_RAISE(auto storage_config, flags.storage.Resolve(config));
  PFAD_ASSIGN_OR_RAISE(auto store, storage::ObjectStore::Open(to, storage_config));
  PFAD_ASSIGN_OR_RAISE(const auto result, warehouse::ExportMinute(client, minute, std::move(store), to));
  if (result.object) {
    fmt::print(stderr, "pfad export: {} rows of minute {} -> {} (query {} ms, write {} ms)\n", result.rows,
               minute.Display(), result.object->ToString(), result.query_ms, result.write_ms);
  } else {
    fmt::print(stderr, "pfad export: no rows for minute {} in {}{}.{}; nothing written\n", minute.Display(),
               client.base_url(), client.database(), warehouse::kTableName);
  }
  if (flags.json) {
    const nlohmann::json json = {
        {"minute", result.minute},
        {"rows", result.rows},
        {"object", result.object ? nlohmann::json(result.object->ToString()) : nullptr},
        {"query_ms", result.query_ms},
        {"write_ms", result.write_ms}};
    fmt::print("{}\n", json.dump());
  }
  return Status::OK();
}

}  // namespace

void RegisterExport(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ExportFlags>();
  CLI::App* cmd = app.add_subcommand(
      "export",
      "Export one Asia/Tehran minute from ClickHouse (<db>.user_interactions, deduplicated with FINAL)\n"
      "to its Parquet object <to>/YYYY-MM-DD_HH-MM.parquet (all columns), written\n"
      "atomically by the ingester's writer and merged by event_id with an object already there.\n"
      "A minute without rows writes nothing. Credentials: PFAD_CLICKHOUSE_USER / PFAD_CLICKHOUSE_PASSWORD\n"
      "(or CLICKHOUSE_USER / CLICKHOUSE_PASSWORD, or [clickhouse] user / password in the config).\n"
      "Contract: docs/DESIGN.md, \"Warehouse export\" and \"Minute objects\".");
  flags->clickhouse.AddTo(*cmd, "the ClickHouse server and database to export from");
  cmd->add_option("--minute", flags->minute, "the minute, 'YYYY-MM-DD HH:MM' Asia/Tehran")->required();
  cmd->add_option("--to", flags->to, "directory, file:// or s3://bucket[/prefix] for the object")->required();
  cmd->add_flag("--json", flags->json, "print the result as JSON on stdout");
  flags->storage.AddTo(*cmd);
  cmd->footer(std::string(kExitCodesHelp));
  cmd->callback([flags, &exit_code] {
    if (const Status st = RunExport(*flags); !st.ok()) exit_code = ReportError("export", st);
  });
}

}  // namespace pfad::cli
