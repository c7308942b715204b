#include "pfad/metrics/metrics.h"

#include <prometheus/text_serializer.h>

#include <nlohmann/json.hpp>

#include "pfad/http/server.h"

namespace pfad::metrics {

const std::shared_ptr<Registry>& ProcessRegistry() {
  static const auto* registry = new std::shared_ptr<Registry>(std::make_shared<Registry>());
  return *registry;
}

void SetBuildInfo(Registry& registry, std::string_view version, std::string_view command) {
  GaugeFamily(registry, "pfad_build_info", "Always 1; the labels name the build and the command running.")
      .Add({{"version", std::string(version)}, {"command", std::string(command)}})
      .Set(1);
}

std::string TextExposition(Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

prometheus::Histogram::BucketBoundaries SecondsBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300};
}

prometheus::Family<prometheus::Counter>& CounterFamily(Registry& registry, const std::string& name,
                                                       const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Gauge>& GaugeFamily(Registry& registry, const std::string& name,
                                                   const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Histogram>& HistogramFamily(Registry& registry, const std::string& name,
                                                           const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
}

void Health::Add(std::string name, std::function<CheckResult()> check) {
  std::lock_guard lock(mutex_);
  checks_.emplace_back(std::move(name), std::move(check));
}

std::pair<bool, std::string> Health::Evaluate() const {
  std::lock_guard lock(mutex_);
  bool ready = true;
  nlohmann::json checks = nlohmann::json::object();
  for (const auto& [name, check] : checks_) {
    const CheckResult r = check();
    ready = ready && r.ready;
    checks[name] = {{"ready", r.ready}, {"reason", r.reason}};
  }
  const nlohmann::json body = {{"status", ready ? "ready" : "not ready"}, {"checks", checks}};
  return {ready, body.dump()};
}

Result<std::unique_ptr<Endpoint>> Endpoint::Start(const EndpointOptions& options,
                                                  std::shared_ptr<Registry> registry,
                                                  std::shared_ptr<const Health> health) {
  std::unique_ptr<Endpoint> endpoint(new Endpoint());
  endpoint->registry_ = std::move(registry);
  endpoint->health_ = health ? std::move(health) : std::make_shared<Health>();
  endpoint->server_ = std::make_unique<http::Server>(
      http::ServerOptions{.host = options.host, .port = options.port, .name = options.name});
  Registry* reg = endpoint->registry_.get();
  const Health* h = endpoint->health_.get();
  endpoint->server_->Get("/metrics", [reg, refresh = options.before_scrape](const http::Request&) {
    if (refresh) refresh();
    return http::Response{.content_type = "text/plain; version=0.0.4; charset=utf-8",
                          .body = TextExposition(*reg)};
  });
  endpoint->server_->Get("/health", [h](const http::Request&) {
    auto [ready, body] = h->Evaluate();
    return http::Response{.status = ready ? 200 : 503, .body = std::move(body)};
  });
  if (const Status st = endpoint->server_->Start(); !st.ok()) {
    return Status::IOError("cannot serve metrics on ", options.host, ":", options.port, ": ", st.message());
  }
  return endpoint;
}

Endpoint::~Endpoint() {
  if (server_) server_->Stop();
}

int Endpoint::port() const { return server_->port(); }

}  // namespace pfad::metrics
