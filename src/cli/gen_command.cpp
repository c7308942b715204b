// pfad gen <uri> --rows N --minute 'YYYY-MM-DD HH:MM' --seed S [--error-rate p]
#include <fmt/format.h>

#include "cli.h"
#include "pfad/gen/minute_writer.h"

namespace pfad::cli {
namespace {

struct GenFlags {
  std::string target;
  int64_t rows = 0;
  std::string minute;
  uint64_t seed = 0;
  std::optional<double> error_rate;
  int64_t row_group_rows = 262144;
  StorageFlags storage;
};

Status RunGen(const GenFlags& flags) {
  PFAD_ASSIGN_OR_RAISE(auto config_file, flags.storage.LoadConfig());
  PFAD_ASSIGN_OR_RAISE(auto storage_config, flags.storage.Resolve(config_file));
  PFAD_ASSIGN_OR_RAISE(auto calendar, events::MinuteCalendar::Open());
  gen::SyntheticMinute spec;
  PFAD_ASSIGN_OR_RAISE(spec.minute, calendar.Parse(flags.minute));
  spec.rows = flags.rows;
  spec.row_group_rows = flags.row_group_rows;
  spec.generator.seed = flags.seed;
  spec.generator.error_rate = flags.error_rate;
  PFAD_ASSIGN_OR_RAISE(auto target, storage::ObjectUri::Parse(flags.target));
  const auto object = gen::MinuteObject(target, spec.minute);
  PFAD_ASSIGN_OR_RAISE(auto store, storage::ObjectStore::Open(object, storage_config));
  PFAD_RETURN_NOT_OK(gen::WriteSyntheticMinute(*store, object, spec));
  fmt::print("{}\n", object.ToString());
  return Status::OK();
}

}  // namespace

void RegisterGen(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<GenFlags>();
  CLI::App* cmd = app.add_subcommand(
      "gen",
      "Write a synthetic minute file: --rows events of one Asia/Tehran minute with the\n"
      "generator distributions of DESIGN.md section 1, deterministic for --seed.\n"
      "<uri> is a .parquet object, or a directory/prefix that gets <YYYY-MM-DD_HH-MM>.parquet.");
  cmd->add_option("uri", flags->target, "output object or directory (local, file://, s3://, s3a://)")->required();
  cmd->add_option("--rows", flags->rows, "number of events")->required()->check(CLI::NonNegativeNumber);
  cmd->add_option("--minute", flags->minute, "the minute, 'YYYY-MM-DD HH:MM' in Asia/Tehran time")->required();
  cmd->add_option("--seed", flags->seed, "random seed (same seed, same events)")->required();
  cmd->add_option("--error-rate", flags->error_rate,
                  "fixed probability of status ERROR (default: each event draws its own from uniform(0, 0.5))")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--row-group-rows", flags->row_group_rows, "rows per Parquet row group (at most 1048576)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  flags->storage.AddTo(*cmd);
  cmd->footer(std::string(kExitCodesHelp));
  cmd->callback([flags, &exit_code] {
    if (const Status st = RunGen(*flags); !st.ok()) exit_code = ReportError("gen", st);
  });
}

}  // namespace pfad::cli
