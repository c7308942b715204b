#include "pfad/schedule/announcements.h"

#include "pfad/common/log.h"

namespace pfad::schedule {

Result<std::unique_ptr<MinuteAnnouncements>> MinuteAnnouncements::Start(
    const std::string& bootstrap, const std::string& topic, const kafka::Properties& properties,
    std::function<void(const Announcement&)> on_announcement) {
  kafka::Properties props = properties;
  props["bootstrap.servers"] = bootstrap;
  props.try_emplace("group.id", "pfad-run-announcements");  // required by librdkafka; nothing is committed
  props["fetch.wait.max.ms"] = "50";
  std::unique_ptr<MinuteAnnouncements> self(new MinuteAnnouncements());
  PFAD_ASSIGN_OR_RAISE(self->consumer_, kafka::Consumer::Make(props));
  self->on_announcement_ = std::move(on_announcement);
  PFAD_ASSIGN_OR_RAISE(const int32_t partitions,
                       self->consumer_->WaitForTopic(topic, std::chrono::seconds(10)));
  std::vector<kafka::TopicPartition> all;
  for (int32_t p = 0; p < partitions; ++p)
    all.push_back({.topic = topic, .partition = p, .offset = kafka::kOffsetEnd});
  if (Status st = self->consumer_->Assign(all); !st.ok())
    return Status::IOError("cannot follow ", topic, ": ", st.message());
  Logger("schedule")->info("following announcements topic={} partitions={}", topic, partitions);
  self->thread_ = std::thread([s = self.get()] { s->Loop(); });
  return self;
}

MinuteAnnouncements::~MinuteAnnouncements() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (consumer_) consumer_->Close();
}

void MinuteAnnouncements::Loop() {
  std::vector<kafka::Message> batch;
  while (!stop_) {
    batch.clear();
    consumer_->Poll(std::chrono::milliseconds(200), 100, batch);
    for (const kafka::Message& msg : batch) {
      if (!msg.error.ok()) {
        Logger("schedule")->warn("announcements: {}", msg.error.message());
        continue;
      }
      auto announcement = events::WindowAnnouncement::Parse(msg.value);
      if (!announcement.ok()) {
        Logger("schedule")
            ->warn("ignoring an announcement that is not an ingest notification (offset {})", msg.offset);
        continue;
      }
      on_announcement_(*announcement);
    }
  }
}

}  // namespace pfad::schedule
