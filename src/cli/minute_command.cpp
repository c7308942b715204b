// pfad minute [EPOCH_MS ...]: the minute object name of instants.
#include <fmt/format.h>

#include <charconv>
#include <iostream>

#include "cli.h"
#include "pfad/events/minute.h"

namespace pfad::cli {
namespace {

Status PrintName(const events::MinuteCalendar& calendar, std::string_view text) {
  int64_t ms = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::Invalid("not an epoch-millisecond instant: '", text, "'");
  }
  fmt::print("{}\n", calendar.MinuteName(ms));
  return Status::OK();
}

Status RunMinute(const std::vector<std::string>& instants) {
  PFAD_ASSIGN_OR_RAISE(auto calendar, events::MinuteCalendar::Open());
  if (!instants.empty()) {
    for (const auto& text : instants) PFAD_RETURN_NOT_OK(PrintName(calendar, text));
    return Status::OK();
  }
  for (std::string line; std::getline(std::cin, line);) {
    if (!line.empty()) PFAD_RETURN_NOT_OK(PrintName(calendar, line));
  }
  return Status::OK();
}

}  // namespace

void RegisterMinute(CLI::App& app, int& exit_code) {
  auto instants = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand(
      "minute",
      "Print the minute object name (YYYY-MM-DD_HH-MM, Asia/Tehran) of each instant given\n"
      "in epoch milliseconds, as arguments or one per line on stdin. Exit codes: 0 done; 3 an\n"
      "instant is not an integer number of milliseconds.");
  cmd->add_option("epoch_ms", *instants, "instants in epoch milliseconds (UTC)");
  cmd->callback([instants, &exit_code] {
    if (const Status st = RunMinute(*instants); !st.ok()) exit_code = ReportError("minute", st);
  });
}

}  // namespace pfad::cli
