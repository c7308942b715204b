// The embedded pipeline (`pfad demo`): everything in one process on a local
// directory, no external services. Until the ingest stage exists, a generator
// thread stands in for produce -> Kafka -> ingest: it writes each minute's
// Parquet object (synthetic events, DESIGN.md section 1 distributions) as the
// minute closes and announces it to the ETAR scheduler, which analyzes it and
// posts the report to the dashboard served on --port. A few past minutes are
// written at start so the page has reports within seconds.
#pragma once

#include "pfad/common/status.h"

#include <atomic>
#include <string>

namespace pfad::demo {

struct DemoOptions {
  std::string dir;              // where minute objects and reports go
  std::string host = "127.0.0.1";
  int port = 8080;
  int backfill_minutes = 5;
  int64_t events_per_minute = 6000;
};

// Runs until `stop` turns true; then stops every part cleanly.
Status RunEmbedded(const DemoOptions& options, const std::atomic<bool>& stop);

}  // namespace pfad::demo
