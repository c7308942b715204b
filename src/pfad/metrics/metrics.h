// PFAD's metrics: one prometheus-cpp registry per process that every stage
// registers its metrics in, the `pfad_build_info` gauge, and the endpoint each
// long-running process serves on --metrics-port: GET /metrics (Prometheus text
// exposition, format 0.0.4) and GET /health (ready or not, and why, as JSON).
//
// Only prometheus-cpp's core library is linked: the endpoint is PFAD's own
// HTTP server (pfad/http/server.h), so there is one HTTP stack to harden and
// test, and /health shares the port with /metrics (docs/OPERATIONS.md,
// "Metrics"). Naming follows Prometheus: `pfad_<stage>_<what>_<unit>`, base
// units (seconds, bytes), counters end in `_total`, label values come from
// small fixed sets (a route pattern, never a raw path).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "pfad/common/status.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pfad::http {
class Server;
}

namespace pfad::metrics {

using prometheus::Registry;

// The registry of this process (created on first use, never destroyed).
const std::shared_ptr<Registry>& ProcessRegistry();

// Sets pfad_build_info{version, command} to 1 (the gauge carries the version as a
// label, as Prometheus' own build_info metrics do).
void SetBuildInfo(Registry& registry, std::string_view version, std::string_view command);

// The text exposition of everything in `registry`.
std::string TextExposition(Registry& registry);

// Histogram buckets in seconds for durations from milliseconds to minutes
// (0.005 s .. 300 s): a minute's stages, freshness, delivery latency.
prometheus::Histogram::BucketBoundaries SecondsBuckets();

// The families a stage uses, registered once each (Build on an existing name
// with the same type returns the family already registered).
prometheus::Family<prometheus::Counter>& CounterFamily(Registry& registry, const std::string& name,
                                                       const std::string& help);
prometheus::Family<prometheus::Gauge>& GaugeFamily(Registry& registry, const std::string& name,
                                                   const std::string& help);
prometheus::Family<prometheus::Histogram>& HistogramFamily(Registry& registry, const std::string& name,
                                                           const std::string& help);

// A counter of whole things, with the ++ / += / load() of an atomic integer,
// so a stage's hot path reads the same as with its own counters.
class Count {
 public:
  explicit Count(prometheus::Counter& counter) : counter_(&counter) {}
  Count& operator++() {
    counter_->Increment();
    return *this;
  }
  Count& operator+=(int64_t n) {
    if (n > 0) counter_->Increment(static_cast<double>(n));
    return *this;
  }
  [[nodiscard]] int64_t load() const { return static_cast<int64_t>(counter_->Value()); }
  operator int64_t() const { return load(); }  // NOLINT: reads like the atomic it replaces

 private:
  prometheus::Counter* counter_;
};

// A gauge of a whole number (messages, windows, clients).
class Level {
 public:
  explicit Level(prometheus::Gauge& gauge) : gauge_(&gauge) {}
  Level& operator=(int64_t v) {
    gauge_->Set(static_cast<double>(v));
    return *this;
  }
  void Add(int64_t n) { gauge_->Increment(static_cast<double>(n)); }
  [[nodiscard]] int64_t load() const { return static_cast<int64_t>(gauge_->Value()); }
  operator int64_t() const { return load(); }  // NOLINT: reads like the atomic it replaces

 private:
  prometheus::Gauge* gauge_;
};

// What GET /health answers: ready when every check is.
struct CheckResult {
  bool ready = true;
  std::string reason;  // why not (or what it saw when ready)
};

class Health {
 public:
  // A named check, run on every GET /health (keep it cheap and thread-safe).
  void Add(std::string name, std::function<CheckResult()> check);
  // {"status":"ready"|"not ready","checks":{"<name>":{"ready":..,"reason":..}}}
  // and whether everything is ready.
  [[nodiscard]] std::pair<bool, std::string> Evaluate() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, std::function<CheckResult()>>> checks_;
};

struct EndpointOptions {
  std::string host = "127.0.0.1";
  int port = 0;                  // 0 = any free port
  std::string name = "metrics";  // for the HTTP server's log lines
  // Run before each GET /metrics collects (gauges read on demand); may be null.
  std::function<void()> before_scrape;
};

// GET /metrics and GET /health (200 ready, 503 not ready) on host:port, until destroyed.
class Endpoint {
 public:
  static Result<std::unique_ptr<Endpoint>> Start(const EndpointOptions& options,
                                                 std::shared_ptr<Registry> registry,
                                                 std::shared_ptr<const Health> health);
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;
  [[nodiscard]] int port() const;

 private:
  Endpoint() = default;
  std::shared_ptr<Registry> registry_;
  std::shared_ptr<const Health> health_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace pfad::metrics
