#include "pfad/ingest/publishers.h"

#include "pfad/common/log.h"

namespace pfad::ingest {

Status DlqPublisher::Publish(const kafka::Message& message, std::string_view kind, std::string_view error) {
  const kafka::Headers headers = {
      {"pfad.error", std::string(error)},
      {"pfad.error.kind", std::string(kind)},
      {"pfad.source.topic", std::string(message.topic)},
      {"pfad.source.partition", std::to_string(message.partition)},
      {"pfad.source.offset", std::to_string(message.offset)},
      {"pfad.source.timestamp", std::to_string(message.timestamp_ms)},
  };
  if (Status st =
          producer_.Produce(topic_, {.key = message.key, .value = message.value, .headers = &headers});
      !st.ok()) {
    return Status::IOError("cannot send to the DLQ topic ", topic_, ": ", st.message());
  }
  Logger("ingest")->warn("dlq kind={} partition={} offset={} error={}", kind, message.partition,
                         message.offset, error);
  return Status::OK();
}

void AnnouncementPublisher::Publish(const events::WindowAnnouncement& announcement) {
  const std::string body = announcement.ToJson();
  if (Status st = producer_.Produce(topic_, {.key = announcement.minute, .value = body}); !st.ok()) {
    Logger("ingest")->warn("could not announce object={}: {}", announcement.object, st.message());
  }
}

}  // namespace pfad::ingest
