// The web page's assets, embedded at build time from web/ (and Chart.js and
// Cytoscape.js from web/node_modules, installed by scripts/setup.sh from npm):
// the binary serves them itself, offline.
#pragma once

#include <string_view>

namespace pfad::dashboard {
std::string_view IndexHtml();
std::string_view AppJs();
std::string_view AnalystJs();
std::string_view PipelineJs();
std::string_view ChartJs();
std::string_view CytoscapeJs();
}  // namespace pfad::dashboard
