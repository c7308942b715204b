// `pfad`: one binary, one sub-command per pipeline stage. This file only parses
// flags and hands over to the stage libraries; besides the sub-commands it
// answers --version and names the closest command to a mistyped one.
#include <arrow/config.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "build_version.h"
#include "cli.h"
#include "pfad/common/log.h"
#include "pfad/kafka/client.h"
#include "pfad/storage/object_store.h"

namespace {

// The sub-commands that hold minutes of Arrow buffers and free them as each
// minute is stored (pfad ingest, and the ingester inside pfad demo).
constexpr std::string_view kMinuteBufferCommands[] = {"ingest", "demo"};

std::string VersionText() {
  return fmt::format("pfad {} ({})\nArrow {}\nlibrdkafka {}", pfad::cli::kBuildVersion, pfad::cli::kBuildType,
                     arrow::GetBuildInfo().version_string, pfad::kafka::LibraryVersion());
}

// Levenshtein distance: single-character insertions, deletions and substitutions.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The first word of the command line that is not an option of `pfad` itself:
// what the user meant as the sub-command.
std::optional<std::string> FirstCommandWord(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--log-level") {
      ++i;  // its value
    } else if (!arg.starts_with("-")) {
      return std::string(arg);
    }
  }
  return std::nullopt;
}

// "unknown command 'analyse' (did you mean 'analyze'?)" when `word` names no
// sub-command; nothing when it does. A name within two edits is suggested.
std::optional<std::string> UnknownCommand(const CLI::App& app, const std::string& word) {
  constexpr size_t kCloseEnough = 2;
  const CLI::App* closest = nullptr;
  size_t best = kCloseEnough + 1;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->check_name(word)) return std::nullopt;
    if (const size_t d = EditDistance(word, sub->get_name()); d < best) {
      best = d;
      closest = sub;
    }
  }
  if (closest == nullptr) return fmt::format("unknown command '{}'", word);
  return fmt::format("unknown command '{}' (did you mean '{}'?)", word, closest->get_name());
}

}  // namespace

int main(int argc, char** argv) {
  // Shuts the AWS SDK down after every store is gone.
  pfad::storage::S3Runtime s3_runtime;
  int exit_code = pfad::cli::kOk;
  CLI::App app{"PFAD: real-time e-commerce event analytics", "pfad"};
  app.require_subcommand(1);
  app.set_version_flag("--version", VersionText,
                       "print the build's version (git describe, build type, "
                       "Arrow and librdkafka versions) and exit");
  std::string log_level;
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error or off (default: info for the ingest and labels services, "
                 "else warn)")
      ->envname("PFAD_LOG_LEVEL");
  app.parse_complete_callback([&] {
    const std::string command =
        app.get_subcommands().empty() ? std::string() : app.get_subcommands().front()->get_name();
    // A long-running stage reports its progress and metrics in its log by default.
    const bool service = command == "ingest" || command == "labels";
    pfad::SetLogLevel(!log_level.empty() ? log_level : service ? "info" : "warn");
    // Each minute's Arrow buffers are freed once its object is stored; the system
    // allocator hands those pages back, where the wheel's default pool keeps them.
    // Arrow reads this variable once, at its first allocation (it has no call that
    // selects the default pool), so it is set here, before any command runs and
    // while the process has one thread; libraries never set the environment.
    if (std::ranges::find(kMinuteBufferCommands, command) != std::end(kMinuteBufferCommands)) {
      ::setenv("ARROW_DEFAULT_MEMORY_POOL", "system", /*overwrite=*/0);
    }
  });
  pfad::cli::RegisterAnalyze(app, exit_code);
  pfad::cli::RegisterGen(app, exit_code);
  pfad::cli::RegisterMinute(app, exit_code);
  pfad::cli::RegisterProduce(app, exit_code);
  pfad::cli::RegisterIngest(app, exit_code);
  pfad::cli::RegisterLabels(app, exit_code);
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
  } catch (const CLI::CallForVersion& e) {
    fmt::print("{}\n", e.what());
    return pfad::cli::kOk;
  } catch (const CLI::ParseError& e) {
    if (app.get_subcommands().empty()) {
      if (const auto word = FirstCommandWord(argc, argv)) {
        if (const auto unknown = UnknownCommand(app, *word)) {
          fmt::print(stderr, "pfad: {}\n\n{}", *unknown, app.help());
          return pfad::cli::kUsage;
        }
      }
    }
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
