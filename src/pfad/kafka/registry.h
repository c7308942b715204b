// A client for the Confluent Schema Registry REST API (the subset producers and
// consumers use): register a schema under a subject, fetch a schema by id.
// Works with any compatible server (Confluent, Apicurio's ccompat API, ...).
#pragma once

#include "pfad/common/status.h"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pfad::kafka {

struct RegistryOptions {
  std::string url;  // base URL, e.g. http://127.0.0.1:8081/apis/ccompat/v7
  std::chrono::milliseconds request_timeout{5000};
  int max_attempts = 5;  // connection failures and 5xx are retried with backoff
};

class SchemaRegistryClient {
 public:
  explicit SchemaRegistryClient(RegistryOptions options);

  // Registers `schema` (Avro JSON text) under `subject`, or finds it if it is
  // already there; returns its global id.
  [[nodiscard]] Result<int32_t> Register(std::string_view subject, std::string_view schema);
  // The schema text with this id (cached).
  [[nodiscard]] Result<std::string> SchemaById(int32_t id);

 private:
  struct Response {
    long status = 0;
    std::string body;
  };
  Result<Response> Request(const std::string& method, const std::string& path, const std::string& body);

  RegistryOptions options_;
  std::mutex mutex_;
  std::unordered_map<int32_t, std::string> by_id_;
};

}  // namespace pfad::kafka
