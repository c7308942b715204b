#include "pfad/ingest/metrics.h"

#include <fmt/format.h>

#include <algorithm>

#include "pfad/http/server.h"

namespace pfad::ingest {

std::string IngestMetrics::PrometheusText() const {
  std::string out;
  const auto add = [&](std::string_view name, std::string_view type, std::string_view help, int64_t value) {
    out += fmt::format("# HELP pfad_ingest_{0} {1}\n# TYPE pfad_ingest_{0} {2}\npfad_ingest_{0} {3}\n", name,
                       help, type, value);
  };
  add("events_in_total", "counter", "Messages consumed.", events_in);
  add("events_stored_total", "counter", "Events added to minute objects.", events_stored);
  add("objects_written_total", "counter", "Minute object writes that added events.", objects_written);
  add("object_updates_total", "counter", "Writes that merged into an existing object.", object_updates);
  add("dlq_total", "counter", "Messages sent to the dead-letter topic.", dlq);
  add("write_failures_total", "counter", "Failed object writes (retried).", write_failures);
  add("lag_messages", "gauge", "Messages behind the ends of the assigned partitions.", lag);
  add("window_latency_ms", "gauge", "Last on-time minute: stored minus (minute end + grace).",
      window_latency_ms);
  add("window_latency_max_ms", "gauge", "Largest window latency so far.", window_latency_max_ms);
  add("open_windows", "gauge", "Minutes waiting to close.", open_windows);
  add("buffered_events", "gauge", "Events waiting in open windows.", buffered_events);
  return out;
}

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
}

Result<std::unique_ptr<http::Server>> ServeMetrics(const IngestMetrics& metrics, const std::string& host,
                                                   int port) {
  auto server =
      std::make_unique<http::Server>(http::ServerOptions{.host = host, .port = port, .name = "ingest"});
  server->Get("/metrics", [&metrics](const http::Request&) {
    return http::Response{.content_type = "text/plain; version=0.0.4", .body = metrics.PrometheusText()};
  });
  if (const Status st = server->Start(); !st.ok())
    return Status::IOError("cannot serve metrics: ", st.message());
  return server;
}

}  // namespace pfad::ingest
