// What the ingester writes to Kafka besides committing offsets:
// - a message that holds no event (bad frame, unknown or unreadable writer
//   schema, invalid Avro, too late) goes to the dead-letter topic through
//   kafka::DlqPublisher (kafka/dlq.h), which the labels consumer shares;
// - AnnouncementPublisher: one events::WindowAnnouncement per stored object on
//   the windows topic, keyed by the minute name.
// Both share the ingester's producer; the loop commits past a DLQ'd message only
// once the producer has nothing in flight (kafka::Producer::in_flight).
#pragma once

#include "pfad/common/status.h"
#include "pfad/events/announcement.h"
#include "pfad/kafka/producer.h"

#include <string>
#include <utility>

namespace pfad::ingest {

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
