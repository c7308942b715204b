// librdkafka's built-in mock cluster: a Kafka protocol server on 127.0.0.1 that
// keeps its topics in memory (groups, offsets and idempotent producers
// included). `pfad demo` runs on it, and unit tests use it where a real broker
// is not the point. It forgets everything when destroyed.
#pragma once

#include "pfad/common/status.h"

#include <map>
#include <memory>
#include <string>

namespace pfad::kafka {

class MockCluster {
 public:
  // One broker with these topics (name -> partitions).
  static Result<std::unique_ptr<MockCluster>> Start(const std::map<std::string, int>& topics);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  [[nodiscard]] const std::string& bootstrap() const { return bootstrap_; }

 private:
  struct State;
  explicit MockCluster(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
  std::string bootstrap_;
};

}  // namespace pfad::kafka
