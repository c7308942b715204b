// Reading the JSON bodies of the dashboard's POST requests, before anything
// is stored: the routes of server.cpp call these, and so does the fuzzer
// (tests/fuzz/report_json_fuzzer.cpp), so both see the same checks.
#pragma once

#include "pfad/common/status.h"
#include "pfad/dashboard/investigation.h"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace pfad::dashboard {

// Parses JSON, refusing nesting deeper than `max_depth` before building it: a
// byte scan (skipping strings) finds the depth first, so hostile nesting never
// reaches the recursive parser. Invalid saying why.
Result<nlohmann::ordered_json> ParseBoundedJson(std::string_view text, int max_depth);

// What the dashboard stores for a POST /report body: the document {"report":
// <the body's "report" object or string>} as JSON text, without
// report.fraud.investigations, whose valid elements come apart (the invalid ones
// are skipped, each with its reason). Invalid with the text of the 422 answer
// ("Invalid request body: ...") for anything else.
Result<ReportPost> ReportDocument(std::string_view body, int max_depth);

}  // namespace pfad::dashboard
