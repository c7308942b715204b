// Report JSON from outside: a report object as `pfad report` and the ETAR
// read it (analyze::ParseReport), and a POST /report body as the dashboard
// takes it (dashboard::ReportDocument). A report that parses must come back
// the same through its own JSON.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pfad/analyze/report.h"
#include "pfad/dashboard/request_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto report = pfad::analyze::ParseReport(text); report.ok()) {
    const std::string json = pfad::analyze::ToJson(*report);
    auto again = pfad::analyze::ParseReport(json);
    if (!again.ok() || pfad::analyze::ToJson(*again) != json) __builtin_trap();
  }
  (void)pfad::dashboard::ReportDocument(text, /*max_depth=*/64);
  return 0;
}
