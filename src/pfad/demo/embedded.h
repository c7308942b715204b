// The embedded pipeline (`pfad demo`): the real stages in one process, no
// external services. `produce` sends live events (and, at start, a few past
// minutes) to an in-process Kafka (librdkafka's mock cluster) with an in-process
// schema registry (services.h); `ingest` writes each minute's Parquet object to
// a local directory and announces it; the ETAR scheduler runs each announced
// minute (the clock is the fallback) and posts the report to the dashboard
// served on --port. Every stage's metrics go to the process's registry, which
// the dashboard's GET /pipeline reads (no Prometheus needed).
//
// Fraud (docs/FRAUD.md section 6): the producer mixes labelled fraud actors
// into the stream (`fraud_share`; their labels go to the <topic>.labels topic,
// never into the minute objects), and the ETAR scores each minute's window
// with a model trained at start on a few generated labelled minutes of another
// seed (in <dir>/fraud-training, TrainModel's defaults), or with `fraud_model`.
// Alerts go to the embedded <topic>.fraud.
#pragma once

#include "pfad/common/status.h"

#include <atomic>
#include <string>

namespace pfad::demo {

struct DemoOptions {
  std::string dir;  // where minute objects and reports go
  std::string host = "127.0.0.1";
  int port = 8080;
  int backfill_minutes = 5;
  int64_t events_per_minute = 6000;
  int64_t grace_ms = 2000;    // ingest: a minute closes this long after it ends
  double fraud_share = 0.05;  // share of users that are fraud actors; 0 = none
  std::string fraud_model;    // a model file; empty = train one at start
  int training_minutes = 10;  // labelled minutes the start-up model trains on (one window)
  // The analyst loop (docs/FRAUD.md section 9): the embedded labels topic and the page's verdicts
  // feed the labels store under <dir>/labels; every this many minutes a retrain judges a
  // challenger against the model in use (0 = no retraining).
  int retrain_minutes = 5;
};

// Runs until `stop` turns true; then stops every part cleanly.
Status RunEmbedded(const DemoOptions& options, const std::atomic<bool>& stop);

}  // namespace pfad::demo
