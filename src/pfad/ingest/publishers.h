// What the ingester writes to Kafka besides committing offsets:
// - DlqPublisher: a message that holds no event (bad frame, unknown or
//   unreadable writer schema, invalid Avro, too late) goes to the dead-letter
//   topic as it came (key and value), with headers naming the error and the
//   source: pfad.error, pfad.error.kind, pfad.source.{topic,partition,offset,timestamp}.
// - AnnouncementPublisher: one events::WindowAnnouncement per stored object on
//   the windows topic, keyed by the minute name.
// Both share the ingester's producer; the loop commits past a DLQ'd message only
// once the producer has nothing in flight (kafka::Producer::in_flight).
#pragma once

#include "pfad/common/status.h"
#include "pfad/events/announcement.h"
#include "pfad/kafka/consumer.h"
#include "pfad/kafka/producer.h"

#include <string>
#include <string_view>

namespace pfad::ingest {

class DlqPublisher {
 public:
  DlqPublisher(kafka::Producer& producer, std::string topic)
      : producer_(producer), topic_(std::move(topic)) {}
  // Queues `message` for the DLQ; an error when the producer refuses it.
  [[nodiscard]] Status Publish(const kafka::Message& message, std::string_view kind, std::string_view error);

 private:
  kafka::Producer& producer_;
  std::string topic_;
};

class AnnouncementPublisher {
 public:
  AnnouncementPublisher(kafka::Producer& producer, std::string topic)
      : producer_(producer), topic_(std::move(topic)) {}
  // Queues the announcement; a refusal is logged (the scheduler's clock is the fallback).
  void Publish(const events::WindowAnnouncement& announcement);

 private:
  kafka::Producer& producer_;
  std::string topic_;
};

}  // namespace pfad::ingest
