// pfad gen <uri> --rows N --minute 'YYYY-MM-DD HH:MM' --seed S [--minutes M]
//          [--error-rate p] [--fraud share] [--labels <uri>]
#include <fmt/format.h>

#include "cli.h"
#include "pfad/gen/minute_writer.h"

namespace pfad::cli {
namespace {

struct GenFlags {
  std::string target;
  int64_t rows = 0;
  std::string minute;
  int64_t minutes = 1;
  uint64_t seed = 0;
  std::optional<double> error_rate;
  std::optional<double> fraud;
  std::string labels;
  int64_t row_group_rows = 262144;
  StorageFlags storage;
};

Status RunGen(const GenFlags& flags) {
  PFAD_ASSIGN_OR_RAISE(auto config_file, flags.storage.LoadConfig());
  PFAD_ASSIGN_OR_RAISE(auto storage_config, flags.storage.Resolve(config_file));
  PFAD_ASSIGN_OR_RAISE(auto calendar, events::MinuteCalendar::Open());
  gen::SyntheticMinutes spec;
  PFAD_ASSIGN_OR_RAISE(spec.first, calendar.Parse(flags.minute));
  spec.minutes = flags.minutes;
  spec.rows = flags.rows;
  spec.row_group_rows = flags.row_group_rows;
  spec.generator.seed = flags.seed;
  spec.generator.error_rate = flags.error_rate;
  spec.fraud_share = flags.fraud;
  PFAD_ASSIGN_OR_RAISE(auto target, storage::ObjectUri::Parse(flags.target));
  std::optional<storage::ObjectUri> labels;
  if (!flags.labels.empty()) {
    PFAD_ASSIGN_OR_RAISE(labels, storage::ObjectUri::Parse(flags.labels));
  }
  PFAD_ASSIGN_OR_RAISE(auto targets, gen::OpenSyntheticTargets(target, labels, spec.first, storage_config));
  PFAD_ASSIGN_OR_RAISE(auto written, gen::WriteSyntheticMinutes(targets, calendar, spec));
  for (const auto& minute : written) {
    fmt::print("{}\n", minute.events.ToString());
    if (minute.labels) fmt::print("{}\n", minute.labels->ToString());
  }
  return Status::OK();
}

}  // namespace

void RegisterGen(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<GenFlags>();
  CLI::App* cmd = app.add_subcommand(
      "gen",
      "Write synthetic minute files: --rows events per Asia/Tehran minute with the generator\n"
      "distributions, deterministic for --seed, for --minutes consecutive\n"
      "minutes from one continuous generator. <uri> is a .parquet object (one minute), or a\n"
      "directory/prefix that gets <YYYY-MM-DD_HH-MM>.parquet. --fraud mixes in labelled actors\n"
      "(docs/FRAUD.md, \"Labelled scenarios\") and writes each minute's labels, by default beside it as\n"
      "<stem>.labels.parquet. Prints each object written, one per line.\n"
      "Contract: docs/DESIGN.md, \"Event distributions\" and \"Minute objects\".");
  cmd->add_option("uri", flags->target, "output object or directory (local, file://, s3://, s3a://)")
      ->required();
  cmd->add_option("--rows", flags->rows, "number of events per minute")
      ->required()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--minute", flags->minute, "the (first) minute, 'YYYY-MM-DD HH:MM' in Asia/Tehran time")
      ->required();
  cmd->add_option("--minutes", flags->minutes, "number of consecutive minutes")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", flags->seed, "random seed (same seed, same events)")->required();
  cmd->add_option(
         "--error-rate", flags->error_rate,
         "fixed probability of status ERROR (default: each event draws its own from uniform(0, 0.5))")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--fraud", flags->fraud,
                  "share of users that are fraud actors, 0 <= share < 1 (as many again are legitimate "
                  "look-alikes); writes labels")
      ->check(ShareBelowOne());
  cmd->add_option("--labels", flags->labels,
                  "where labels go: a .parquet object (one minute) or a directory/prefix "
                  "(default: beside each minute object)")
      ->needs("--fraud");
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
