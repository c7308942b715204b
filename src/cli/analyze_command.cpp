// pfad analyze <uri>... [--out <uri>] [--threads N] [--engine local|spark] [--repeat N]
#include <fmt/format.h>

#include "cli.h"
#include "pfad/analyze/analyze.h"

namespace pfad::cli {
namespace {

struct AnalyzeFlags {
  std::vector<std::string> inputs;
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
  std::vector<analyze::AnalyzeRequest> requests;
  std::optional<storage::ObjectUri> output;
  if (!flags.output.empty()) {
    PFAD_ASSIGN_OR_RAISE(output, storage::ObjectUri::Parse(flags.output));
    if (flags.inputs.size() > 1 && output->Basename().ends_with(".json")) {
      return Status::Invalid("--out ", flags.output, " names one report, but ", flags.inputs.size(),
                             " objects are analyzed: give a directory/prefix");
    }
  }
  PFAD_ASSIGN_OR_RAISE(auto threads, config_file.GetInt("analyze.threads"));
  analyze::AnalyzeOptions options;
  options.threads = flags.threads > 0 ? flags.threads : static_cast<int>(threads.value_or(0));
  for (const auto& input : flags.inputs) {
    analyze::AnalyzeRequest request;
    PFAD_ASSIGN_OR_RAISE(request.input, storage::ObjectUri::Parse(input));
    request.output = output;
    request.options = options;
    requests.push_back(std::move(request));
  }
  // One engine (for Spark: one session) for every object of this process.
  PFAD_ASSIGN_OR_RAISE(auto engine, flags.engine.Open(config_file, options));

  // One store per kind (local, S3) serves every object.
  std::shared_ptr<storage::ObjectStore> local_store, s3_store;
  const auto store_for = [&](const storage::ObjectUri& uri) -> Result<std::shared_ptr<storage::ObjectStore>> {
    auto& store = uri.is_s3() ? s3_store : local_store;
    if (!store) {
      PFAD_ASSIGN_OR_RAISE(store, storage::ObjectStore::Open(uri, storage_config));
    }
    return store;
  };
  const Clock& clock = DefaultClock();
  for (int round = 0; round < flags.repeat; ++round) {
    for (auto& request : requests) {
      request.engine = engine;
      const double start = clock.MonotonicSeconds();
      PFAD_ASSIGN_OR_RAISE(auto input_store, store_for(request.input));
      PFAD_ASSIGN_OR_RAISE(auto output_store, store_for(request.output.value_or(request.input)));
      PFAD_ASSIGN_OR_RAISE(auto outcome, analyze::AnalyzeMinute(*input_store, *output_store, request));
      if (flags.timings) {
        fmt::print("{:.6f}\t{}\n", clock.MonotonicSeconds() - start, outcome.written_to.ToString());
      } else {
        fmt::print("{}\n", outcome.written_to.ToString());
      }
      std::fflush(stdout);
    }
  }
  return Status::OK();
}

}  // namespace

void RegisterAnalyze(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<AnalyzeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "analyze",
      "Summarise one minute's Parquet object into its JSON report (DESIGN.md section 3).\n"
      "<uri> is a local path, file://, s3:// or s3a:// URI. A .parquet object gives\n"
      "{\"report\": {total_events, total_errors, by_event_type, process_time, file_name}};\n"
      "a name without .parquet, or a .parquet object that does not exist in an existing\n"
      "bucket/directory, gives {\"report\": \"No data for <stem>.\"}. The report is written\n"
      "atomically to <dir>/<stem>.json and its URI printed on stdout. Several objects are\n"
      "analyzed one after the other by one engine (with Spark: one session).");
  cmd->add_option("uri", flags->inputs, "the minute's object, e.g. s3a://bucket/2025-01-15_10-00.parquet")
      ->required();
  cmd->add_option("--out", flags->output,
                  "where to write the report: a .json object, or a directory/prefix for <stem>.json "
                  "(default: beside the input)");
  cmd->add_option("--threads", flags->threads, "threads of the local engine (default: one per core)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--repeat", flags->repeat, "analyze the objects this many times in this process (benchmarks)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--timings", flags->timings, "print '<seconds>\\t<report uri>' per analysis instead of the URI");
  flags->engine.AddTo(*cmd);
  flags->storage.AddTo(*cmd);
  cmd->footer(std::string(kExitCodesHelp) +
              "\nWith --engine spark, an unreachable Spark Connect server is exit 4; a file Spark cannot read\n"
              "is exit 3, with Spark's own message.");
  cmd->callback([flags, &exit_code] {
    if (const Status st = RunAnalyze(*flags); !st.ok()) exit_code = ReportError("analyze", st);
  });
}

}  // namespace pfad::cli
