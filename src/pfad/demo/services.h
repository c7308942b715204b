// The services `pfad demo` runs inside its own process, so the demo exercises the
// real producer and ingester without anything installed:
// - EmbeddedKafka: kafka::MockCluster, librdkafka's built-in mock cluster, a
//   Kafka protocol server on 127.0.0.1 that keeps its topics in memory;
// - EmbeddedRegistry: the Confluent Schema Registry REST subset pfad's clients
//   use (register under a subject, schema by id, a subject's versions), in
//   memory, on 127.0.0.1.
// Both forget everything when the demo stops; the minute objects, reports and
// run state live in the demo's directory.
#pragma once

#include "pfad/common/status.h"
#include "pfad/http/server.h"
#include "pfad/kafka/mock_cluster.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pfad::demo {

using EmbeddedKafka = kafka::MockCluster;

class EmbeddedRegistry {
 public:
  // Listens on 127.0.0.1 on a free port.
  static Result<std::unique_ptr<EmbeddedRegistry>> Start();
  ~EmbeddedRegistry();
  EmbeddedRegistry(const EmbeddedRegistry&) = delete;
  EmbeddedRegistry& operator=(const EmbeddedRegistry&) = delete;

  // The base URL clients take (e.g. --registry).
  [[nodiscard]] const std::string& url() const { return url_; }

  // The id of `schema` under `subject`, registering it if it is new. Schemas are
  // compared as parsed JSON, so whitespace does not make a new version.
  Result<int32_t> Register(const std::string& subject, const std::string& schema);
  // The schema text with this id; KeyError when there is none.
  Result<std::string> SchemaById(int32_t id);

 private:
  EmbeddedRegistry();
  std::unique_ptr<http::Server> server_;
  std::string url_;
  std::mutex mutex_;
  std::vector<std::string> schemas_;                      // id - 1 -> schema text
  std::map<std::string, int32_t> ids_;                    // canonical schema -> id
  std::map<std::string, std::vector<int32_t>> subjects_;  // subject -> ids of its versions
};

}  // namespace pfad::demo
