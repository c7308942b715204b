#include "pfad/ingest/publishers.h"

#include "pfad/common/log.h"

namespace pfad::ingest {

void AnnouncementPublisher::Publish(const events::WindowAnnouncement& announcement) {
  const std::string body = announcement.ToJson();
  if (Status st = producer_.Produce(topic_, {.key = announcement.minute, .value = body}); !st.ok()) {
    Logger("ingest")->warn("could not announce object={}: {}", announcement.object, st.message());
  }
}

}  // namespace pfad::ingest
