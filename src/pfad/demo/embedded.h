// The embedded pipeline (`pfad demo`): the real stages in one process, no
// external services. `produce` sends live events (and, at start, a few past
// minutes) to an in-process Kafka (librdkafka's mock cluster) with an in-process
// schema registry (services.h); `ingest` writes each minute's Parquet object to
// a local directory and announces it; the ETAR scheduler runs each announced
// minute (the clock is the fallback) and posts the report to the dashboard
// served on --port.
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
  int64_t grace_ms = 2000;  // ingest: a minute closes this long after it ends
};

// Runs until `stop` turns true; then stops every part cleanly.
Status RunEmbedded(const DemoOptions& options, const std::atomic<bool>& stop);

}  // namespace pfad::demo
