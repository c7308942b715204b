#include "pfad/kafka/registry.h"

#include <curl/curl.h>
#include <cctype>
#include <nlohmann/json.hpp>

#include <memory>
#include <thread>

#include "pfad/common/log.h"

namespace pfad::kafka {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

void GlobalInit() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)done;
}

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
  GlobalInit();
}

Result<SchemaRegistryClient::Response> SchemaRegistryClient::Request(const std::string& method,
                                                                     const std::string& path,
                                                                     const std::string& body) {
  const std::string url = options_.url + path;
  std::string last_error;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) return Status::UnknownError("curl_easy_init failed");
    std::unique_ptr<curl_slist, SlistDeleter> headers(
        curl_slist_append(nullptr, "Content-Type: application/vnd.schemaregistry.v1+json"));
    headers.reset(curl_slist_append(headers.release(), "Accept: application/vnd.schemaregistry.v1+json, application/json"));
    Response response;
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
    curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &Collect);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response.body);
    if (!body.empty()) {
      curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    const CURLcode rc = curl_easy_perform(curl.get());
    if (rc == CURLE_OK) {
      curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &response.status);
      if (response.status < 500) return response;
      last_error = "HTTP " + std::to_string(response.status) + ": " + ErrorText(response.body);
    } else {
      last_error = curl_easy_strerror(rc);
    }
    if (attempt < options_.max_attempts) {
      Logger("kafka")->warn("schema registry {} {}: {} (attempt {}/{})", method, url, last_error, attempt,
                            options_.max_attempts);
      std::this_thread::sleep_for(std::chrono::milliseconds(200 << (attempt - 1)));
    }
  }
  return Status::IOError("schema registry at ", options_.url, " did not answer ", method, " ", path, " (", last_error,
                         "); is it running? set --registry or PFAD_REGISTRY_URL");
}

Result<int32_t> SchemaRegistryClient::Register(std::string_view subject, std::string_view schema) {
  const std::string body = nlohmann::json{{"schema", std::string(schema)}}.dump();
  PFAD_ASSIGN_OR_RAISE(auto response, Request("POST", "/subjects/" + Escape(subject) + "/versions", body));
  if (response.status != 200) {
    return Status::IOError("schema registry refused to register subject '", subject, "' (HTTP ", response.status,
                           "): ", ErrorText(response.body));
  }
  const auto json = nlohmann::json::parse(response.body, nullptr, false);
  if (!json.is_object() || !json.contains("id") || !json["id"].is_number_integer()) {
    return Status::IOError("schema registry answered registration without an id: ", response.body.substr(0, 200));
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
