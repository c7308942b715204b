#include "pfad/kafka/mock_cluster.h"

#include "pfad/kafka/handle.h"

#include <librdkafka/rdkafka_mock.h>  // after rdkafka.h (handle.h)

namespace pfad::kafka {

struct MockCluster::State {
  internal::HandlePtr handle;  // the cluster lives in this handle's background threads
  rd_kafka_mock_cluster_t* cluster = nullptr;
  ~State() {
    if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
  }
};

MockCluster::MockCluster(std::unique_ptr<State> state) : state_(std::move(state)) {
  bootstrap_ = rd_kafka_mock_cluster_bootstraps(state_->cluster);
}

MockCluster::~MockCluster() = default;

Result<std::unique_ptr<MockCluster>> MockCluster::Start(const std::map<std::string, int>& topics) {
  auto state = std::make_unique<State>();
  PFAD_ASSIGN_OR_RAISE(auto conf, internal::MakeConf({{"log_level", "3"}}));
  auto handle = internal::MakeHandle(RD_KAFKA_PRODUCER, conf, "mock cluster");
  if (!handle.ok()) return Status::IOError("embedded Kafka: ", handle.status().message());
  state->handle = std::move(*handle);
  state->cluster = rd_kafka_mock_cluster_new(state->handle.get(), 1);
  if (state->cluster == nullptr)
    return Status::IOError("embedded Kafka: librdkafka could not start a mock cluster");
  for (const auto& [name, partitions] : topics) {
    if (const auto e = rd_kafka_mock_topic_create(state->cluster, name.c_str(), partitions, 1);
        e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::IOError("embedded Kafka: cannot create topic ", name, ": ", rd_kafka_err2str(e));
    }
  }
  return std::unique_ptr<MockCluster>(new MockCluster(std::move(state)));
}

}  // namespace pfad::kafka
