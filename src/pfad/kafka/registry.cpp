#include "pfad/kafka/registry.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include <memory>
#include <thread>

#include "pfad/common/http_client.h"

namespace pfad::kafka {
namespace {

std::string Escape(std::string_view segment) {
  std::string out;
  for (const char c : segment) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += {'%', kHex[static_cast<uint8_t>(c) >> 4], kHex[static_cast<uint8_t>(c) & 15]};
    }
  }
  return out;
}

std::string ErrorText(const std::string& body) {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_object() && json.contains("message") && json["message"].is_string()) return json["message"];
  return body.substr(0, 200);
}

}  // namespace

SchemaRegistryClient::SchemaRegistryClient(RegistryOptions options) : options_(std::move(options)) {
  while (!options_.url.empty() && options_.url.back() == '/') options_.url.pop_back();
}

Result<SchemaRegistryClient::Response> SchemaRegistryClient::Request(const std::string& method,
                                                                     const std::string& path,
                                                                     const std::string& body) {
  HttpRequest request;
  request.method = method;
  request.url = options_.url + path;
  request.body = body;
  request.headers = {"Content-Type: application/vnd.schemaregistry.v1+json",
                     "Accept: application/vnd.schemaregistry.v1+json, application/json"};
  request.timeout = options_.request_timeout;
  request.max_attempts = options_.max_attempts;
  auto response = SendHttp(request);
  if (!response.ok()) {
    return Status::IOError("schema registry at ", options_.url, " did not answer ", method, " ", path, " (",
                           response.status().message(),
                           "); is it running? set --registry or PFAD_REGISTRY_URL");
  }
  return Response{response->status, std::move(response->body)};
}

Result<int32_t> SchemaRegistryClient::Register(std::string_view subject, std::string_view schema) {
  const std::string body = nlohmann::json{{"schema", std::string(schema)}}.dump();
  PFAD_ASSIGN_OR_RAISE(auto response, Request("POST", "/subjects/" + Escape(subject) + "/versions", body));
  if (response.status != 200) {
    return Status::IOError("schema registry refused to register subject '", subject, "' (HTTP ",
                           response.status, "): ", ErrorText(response.body));
  }
  const auto json = nlohmann::json::parse(response.body, nullptr, false);
  if (!json.is_object() || !json.contains("id") || !json["id"].is_number_integer()) {
    return Status::IOError("schema registry answered registration without an id: ",
                           response.body.substr(0, 200));
  }
  const auto id = json["id"].get<int32_t>();
  std::lock_guard lock(mutex_);
  by_id_[id] = std::string(schema);
  return id;
}

Result<std::string> SchemaRegistryClient::SchemaById(int32_t id) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = by_id_.find(id); it != by_id_.end()) return it->second;
  }
  PFAD_ASSIGN_OR_RAISE(auto response, Request("GET", "/schemas/ids/" + std::to_string(id), ""));
  if (response.status == 404) return Status::KeyError("schema id ", id, " is not in the registry");
  if (response.status != 200) {
    return Status::IOError("schema registry: GET schema ", id, " gave HTTP ", response.status, ": ",
                           ErrorText(response.body));
  }
  const auto json = nlohmann::json::parse(response.body, nullptr, false);
  if (!json.is_object() || !json.contains("schema") || !json["schema"].is_string()) {
    return Status::IOError("schema registry answered without a schema: ", response.body.substr(0, 200));
  }
  std::lock_guard lock(mutex_);
  return by_id_[id] = json["schema"].get<std::string>();
}

}  // namespace pfad::kafka
