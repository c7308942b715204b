#include "pfad/kafka/dlq.h"

#include "pfad/common/log.h"

namespace pfad::kafka {

Status DlqPublisher::Publish(const Message& message, std::string_view kind, std::string_view error) {
  const Headers headers = {
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
  Logger(component_)
      ->warn("dlq kind={} partition={} offset={} error={}", kind, message.partition, message.offset, error);
  return Status::OK();
}

}  // namespace pfad::kafka
