#include "pfad/demo/services.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

namespace pfad::demo {

namespace {

constexpr const char* kRegistryJson = "application/vnd.schemaregistry.v1+json";

http::Response RegistryAnswer(int status, std::string body) {
  return http::Response{.status = status, .content_type = kRegistryJson, .body = std::move(body)};
}

http::Response RegistryError(int status, int code, const std::string& message) {
  return RegistryAnswer(status, nlohmann::json{{"error_code", code}, {"message", message}}.dump());
}

}  // namespace

EmbeddedRegistry::EmbeddedRegistry()
    : server_(std::make_unique<http::Server>(http::ServerOptions{.name = "demo-registry"})) {}

Result<std::unique_ptr<EmbeddedRegistry>> EmbeddedRegistry::Start() {
  std::unique_ptr<EmbeddedRegistry> registry(new EmbeddedRegistry());
  EmbeddedRegistry* self = registry.get();
  auto& routes = *registry->server_;
  routes.SetErrorRenderer([](int status, std::string_view message) {
    return RegistryError(status, status * 100, std::string(message));
  });
  routes.Post("/subjects/{}/versions", [self](const http::Request& req) {
    const auto body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("schema") || !body["schema"].is_string()) {
      return RegistryError(422, 42201, "Invalid schema: expected {\"schema\": \"...\"}");
    }
    auto id = self->Register(req.captures[0], body["schema"].get<std::string>());
    if (!id.ok()) return RegistryError(422, 42201, "Invalid schema: " + id.status().message());
    return RegistryAnswer(200, nlohmann::json{{"id", *id}}.dump());
  });
  routes.Get("/schemas/ids/{}", [self](const http::Request& req) {
    int32_t id = 0;
    const std::string& text = req.captures[0];
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || ptr != text.data() + text.size())
      return RegistryError(404, 40403, "Schema not found");
    auto schema = self->SchemaById(id);
    if (!schema.ok()) return RegistryError(404, 40403, "Schema not found");
    return RegistryAnswer(200, nlohmann::json{{"schema", *schema}}.dump());
  });
  routes.Get("/subjects/{}/versions", [self](const http::Request& req) {
    std::lock_guard lock(self->mutex_);
    const auto it = self->subjects_.find(req.captures[0]);
    if (it == self->subjects_.end()) return RegistryError(404, 40401, "Subject not found");
    nlohmann::json versions = nlohmann::json::array();
    for (size_t v = 1; v <= it->second.size(); ++v) versions.push_back(v);
    return RegistryAnswer(200, versions.dump());
  });
  if (const Status st = routes.Start(); !st.ok())
    return Status::IOError("embedded schema registry: ", st.message());
  registry->url_ = "http://127.0.0.1:" + std::to_string(routes.port());
  return registry;
}

EmbeddedRegistry::~EmbeddedRegistry() { server_->Stop(); }

Result<int32_t> EmbeddedRegistry::Register(const std::string& subject, const std::string& schema) {
  const auto parsed = nlohmann::json::parse(schema, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Status::Invalid("the schema is not JSON");
  const std::string canonical = parsed.dump();
  std::lock_guard lock(mutex_);
  auto [it, added] = ids_.try_emplace(canonical, static_cast<int32_t>(schemas_.size() + 1));
  if (added) schemas_.push_back(schema);
  auto& versions = subjects_[subject];
  if (std::find(versions.begin(), versions.end(), it->second) == versions.end())
    versions.push_back(it->second);
  return it->second;
}

Result<std::string> EmbeddedRegistry::SchemaById(int32_t id) {
  std::lock_guard lock(mutex_);
  if (id < 1 || static_cast<size_t>(id) > schemas_.size()) return Status::KeyError("no schema with id ", id);
  return schemas_[static_cast<size_t>(id) - 1];
}

}  // namespace pfad::demo
