#include "pfad/ingest/metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace pfad::ingest {
namespace {

prometheus::Counter& Counter(metrics::Registry& r, const std::string& name, const std::string& help) {
  return metrics::CounterFamily(r, "pfad_ingest_" + name, help).Add({});
}
prometheus::Gauge& Gauge(metrics::Registry& r, const std::string& name, const std::string& help) {
  return metrics::GaugeFamily(r, "pfad_ingest_" + name, help).Add({});
}
std::shared_ptr<metrics::Registry> OrOwn(std::shared_ptr<metrics::Registry> registry) {
  return registry ? std::move(registry) : std::make_shared<metrics::Registry>();
}

}  // namespace

IngestMetrics::IngestMetrics(std::shared_ptr<metrics::Registry> given)
    : registry(OrOwn(std::move(given))),
      events_in(Counter(*registry, "events_in_total", "Messages consumed.")),
      events_stored(Counter(*registry, "events_stored_total", "Events added to minute objects.")),
      objects_written(Counter(*registry, "objects_written_total", "Minute object writes that added events.")),
      object_updates(
          Counter(*registry, "object_updates_total", "Writes that merged into an existing object.")),
      dlq(Counter(*registry, "dlq_total", "Messages sent to the dead-letter topic.")),
      write_failures(Counter(*registry, "write_failures_total", "Failed object writes (retried).")),
      lag(Gauge(*registry, "lag_messages", "Messages behind the ends of the assigned partitions.")),
      open_windows(Gauge(*registry, "open_windows", "Minutes waiting to close.")),
      buffered_events(Gauge(*registry, "buffered_events", "Events waiting in open windows.")),
      window_latency_seconds(
          metrics::HistogramFamily(*registry, "pfad_ingest_window_latency_seconds",
                                   "On-time minutes: seconds from minute end + grace until stored.")
              .Add({}, metrics::SecondsBuckets())) {}

std::string IngestMetrics::LogLine() const {
  return fmt::format(
      "events_in={} events_stored={} objects_written={} object_updates={} dlq={} write_failures={} lag={} "
      "open_windows={} buffered_events={} window_latency_ms={}",
      events_in.load(), events_stored.load(), objects_written.load(), object_updates.load(), dlq.load(),
      write_failures.load(), lag.load(), open_windows.load(), buffered_events.load(),
      window_latency_ms.load());
}

IngestStats IngestMetrics::Snapshot() const {
  return {.events_in = events_in,
          .events_stored = events_stored,
          .objects_written = objects_written,
          .object_updates = object_updates,
          .dlq = dlq,
          .write_failures = write_failures,
          .lag = lag,
          .window_latency_ms = window_latency_ms,
          .window_latency_max_ms = window_latency_max_ms,
          .first_message_wall_ms = first_message_wall_ms,
          .last_store_wall_ms = last_store_wall_ms};
}

void IngestMetrics::RecordLatency(int64_t latency_ms) {
  window_latency_ms = latency_ms;
  window_latency_max_ms = std::max<int64_t>(window_latency_max_ms, latency_ms);
  window_latency_seconds.Observe(static_cast<double>(std::max<int64_t>(latency_ms, 0)) / 1e3);
}

metrics::CheckResult IngestMetrics::WritesHealth() const {
  const int64_t failing = failed_writes_in_row.load();
  if (failing > 0) {
    return {false,
            fmt::format("the last {} object writes failed (retrying; is the sink reachable?)", failing)};
  }
  return {true, fmt::format("{} events stored", events_stored.load())};
}

}  // namespace pfad::ingest
