// The Kafka topic names of the pipeline, in one place: the events topic and the
// topics named after it. Every stage and test takes its names from here.
//
//   user_interactions          the events (Avro, Confluent framing; pfad produce -> pfad ingest)
//   user_interactions.dlq      messages ingest could not store, with error headers
//   user_interactions.windows  ingest's announcement of each stored minute object (JSON)
//   user_interactions.labels   pfad produce's fraud labels (JSON, events/labels.h)
//   user_interactions.fraud    the live scorer's fraud alerts (JSON)
#pragma once

#include <string>
#include <string_view>

namespace pfad::events {

// The events topic every stage uses unless configured otherwise.
inline constexpr std::string_view kEventsTopic = "user_interactions";

// "<topic>.dlq": the dead-letter topic of an events topic.
inline std::string DlqTopic(std::string_view topic) { return std::string(topic) + ".dlq"; }
// "<topic>.windows": where the stored minute objects of an events topic are announced.
inline std::string WindowsTopic(std::string_view topic) { return std::string(topic) + ".windows"; }
// "<topic>.labels": the fraud labels of the events produced to a topic.
inline std::string LabelsTopic(std::string_view topic) { return std::string(topic) + ".labels"; }
// "<topic>.fraud": the fraud alerts of the windows of an events topic.
inline std::string AlertsTopic(std::string_view topic) { return std::string(topic) + ".fraud"; }

}  // namespace pfad::events
