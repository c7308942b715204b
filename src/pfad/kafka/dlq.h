// kafka::DlqPublisher: the dead-letter topic of a consuming stage (docs/DESIGN.md, "DLQ
// records"). A message the stage cannot use goes there as it came (same key, same value)
// with headers naming the error and where it was read:
//   pfad.error             the error, in words
//   pfad.error.kind        the stage's word for it (bad-frame, invalid-avro, invalid-label, ...)
//   pfad.source.topic, pfad.source.partition, pfad.source.offset, pfad.source.timestamp
// Publish only queues on the stage's producer; the stage commits past a DLQ'd message once
// the producer has nothing in flight (kafka::Producer::in_flight), so a crash re-reads
// the message and DLQs it again rather than losing it.
#pragma once

#include "pfad/common/status.h"
#include "pfad/kafka/consumer.h"
#include "pfad/kafka/producer.h"

#include <string>
#include <string_view>
#include <utility>

namespace pfad::kafka {

class DlqPublisher {
 public:
  // `component` names the stage's logger ("ingest", "labels").
  DlqPublisher(Producer& producer, std::string topic, std::string component)
      : producer_(producer), topic_(std::move(topic)), component_(std::move(component)) {}

  // Queues `message` for the DLQ; IOError naming the topic when the producer refuses it.
  [[nodiscard]] Status Publish(const Message& message, std::string_view kind, std::string_view error);

  [[nodiscard]] const std::string& topic() const { return topic_; }

 private:
  Producer& producer_;
  std::string topic_;
  std::string component_;
};

}  // namespace pfad::kafka
