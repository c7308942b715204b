// `pfad`: one binary, one sub-command per pipeline stage. This file only parses
// flags and hands over to the stage libraries.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "cli.h"
#include "pfad/common/log.h"
#include "pfad/storage/object_store.h"

int main(int argc, char** argv) {
  // Shuts the AWS SDK down after every store is gone.
  pfad::storage::S3Runtime s3_runtime;
  int exit_code = pfad::cli::kOk;
  CLI::App app{"PFAD: real-time e-commerce event analytics", "pfad"};
  app.require_subcommand(1);
  std::string log_level;
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error or off (default: info for the ingest service, else warn)")
      ->envname("PFAD_LOG_LEVEL");
  app.parse_complete_callback([&] {
    // A long-running stage reports its progress and metrics in its log by default.
    const bool service =
        !app.get_subcommands().empty() && app.get_subcommands().front()->get_name() == "ingest";
    pfad::SetLogLevel(!log_level.empty() ? log_level : service ? "info" : "warn");
  });
  pfad::cli::RegisterAnalyze(app, exit_code);
  pfad::cli::RegisterGen(app, exit_code);
  pfad::cli::RegisterMinute(app, exit_code);
  pfad::cli::RegisterProduce(app, exit_code);
  pfad::cli::RegisterIngest(app, exit_code);
  pfad::cli::RegisterExport(app, exit_code);
  pfad::cli::RegisterDashboard(app, exit_code);
  pfad::cli::RegisterSchedule(app, exit_code);
  pfad::cli::RegisterDemo(app, exit_code);
  pfad::cli::RegisterFraud(app, exit_code);
  pfad::cli::RegisterConfig(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help("", CLI::AppFormatMode::Normal));
    return pfad::cli::kOk;
  } catch (const CLI::CallForAllHelp&) {
    fmt::print("{}", app.help("", CLI::AppFormatMode::All));
    return pfad::cli::kOk;
  } catch (const CLI::ParseError& e) {
    // Usage errors: the message, then the usage of the (sub-)command.
    const CLI::App* failing = &app;
    for (const CLI::App* sub : app.get_subcommands()) failing = sub;
    fmt::print(stderr, "pfad: {}\n\n{}", e.what(), failing->help());
    return pfad::cli::kUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "pfad: internal error: {}\n", e.what());
    return pfad::cli::kInternal;
  }
  return exit_code;
}
