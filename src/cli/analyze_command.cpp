// pfad analyze <uri> [--out <uri>] [--threads N] [--engine local|spark] [--repeat N]
#include <fmt/format.h>

#include "cli.h"
#include "pfad/analyze/analyze.h"

namespace pfad::cli {
namespace {

struct AnalyzeFlags {
  std::string input;
  std::string output;
  int threads = 0;
  int repeat = 1;
  bool timings = false;
  StorageFlags storage;
  EngineFlags engine;
};

Status RunAnalyze(const AnalyzeFlags& flags) {
  PFAD_ASSIGN_OR_RAISE(auto config_file, flags.storage.LoadConfig());
  PFAD_ASSIGN_OR_RAISE(auto storage_config, flags.storage.Resolve(config_file));
  analyze::AnalyzeRequest request;
  PFAD_ASSIGN_OR_RAISE(request.input, storage::ObjectUri::Parse(flags.input));
  if (!flags.output.empty()) {
    PFAD_ASSIGN_OR_RAISE(request.output, storage::ObjectUri::Parse(flags.output));
  }
  PFAD_ASSIGN_OR_RAISE(auto analyze_config, analyze::AnalyzeConfig::Resolve(config_file));
  if (flags.threads > 0) analyze_config.options.threads = flags.threads;
  request.options = analyze_config.options;
  // One engine (for Spark: one session) for every analysis of this process.
  PFAD_ASSIGN_OR_RAISE(request.engine, flags.engine.Open(config_file, analyze_config));

  PFAD_ASSIGN_OR_RAISE(auto stores, analyze::OpenAnalyzeStores(request, storage_config));
  const Clock& clock = DefaultClock();
  for (int round = 0; round < flags.repeat; ++round) {
    const double start = clock.MonotonicSeconds();
    PFAD_ASSIGN_OR_RAISE(auto outcome, analyze::AnalyzeMinute(*stores.input, *stores.output, request));
    if (flags.timings) {
      fmt::print("{:.6f}\t{}\n", clock.MonotonicSeconds() - start, outcome.written_to.ToString());
    } else {
      fmt::print("{}\n", outcome.written_to.ToString());
    }
    std::fflush(stdout);
  }
  return Status::OK();
}

}  // namespace

void RegisterAnalyze(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<AnalyzeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "analyze",
      "Summarise one minute's Parquet object into its JSON report.\n"
      "<uri> is a local path, file://, s3:// or s3a:// URI. A .parquet object gives\n"
      "{\"report\": {total_events, total_errors, by_event_type, process_time, file_name}};\n"
      "a name without .parquet, or a .parquet object that does not exist in an existing\n"
      "bucket/directory, gives {\"report\": \"No data for <stem>.\"}. The report is written\n"
      "atomically to <dir>/<stem>.json and its URI printed on stdout.\n"
      "Contract: docs/DESIGN.md, \"Analysis job\" and \"Report JSON\".");
  cmd->add_option("uri", flags->input, "the minute's object, e.g. s3a://bucket/2025-01-15_10-00.parquet")
      ->required();
  cmd->add_option("--out", flags->output,
                  "where to write the report: a .json object, or a directory/prefix for <stem>.json "
                  "(default: beside the input)");
  cmd->add_option("--threads", flags->threads,
                  "threads of the local engine (default: [analyze] threads, else one per core)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--repeat", flags->repeat,
                  "analyze the object this many times in this process, through one engine (with Spark: one "
                  "session), as pfad run does every minute (benchmarks)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--timings", flags->timings,
                "print '<seconds>\\t<report uri>' per analysis instead of the URI");
  flags->engine.AddTo(*cmd);
  flags->storage.AddTo(*cmd);
  cmd->footer(
      std::string(kExitCodesHelp) +
      "\nWith --engine spark, an unreachable Spark Connect server is exit 4; a file Spark cannot read\n"
      "is exit 3, with Spark's own message.");
  cmd->callback([flags, &exit_code] {
    if (const Status st = RunAnalyze(*flags); !st.ok()) exit_code = ReportError("analyze", st);
  });
}

}  // namespace pfad::cli
