#include "pfad/schedule/announcements.h"

#include <nlohmann/json.hpp>

#include "pfad/common/log.h"

namespace pfad::schedule {

Result<std::unique_ptr<MinuteAnnouncements>> MinuteAnnouncements::Start(
    const std::string& bootstrap, const std::string& topic, const kafka::Properties& properties,
    std::function<void(const Announcement&)> on_announcement) {
  kafka::Properties props = properties;
  props["bootstrap.servers"] = bootstrap;
  props.try_emplace("group.id", "pfad-run-announcements");  // required by librdkafka; nothing is committed
  props["enable.auto.commit"] = "false";
  props["fetch.wait.max.ms"] = "50";
  PFAD_ASSIGN_OR_RAISE(auto conf, kafka::MakeConf(props));
  char err[512];
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof(err));
  if (handle == nullptr) return Status::Invalid("cannot create a Kafka consumer: ", err);
  (void)conf.release();
  std::unique_ptr<MinuteAnnouncements> self(new MinuteAnnouncements());
  self->consumer_.reset(handle);
  self->on_announcement_ = std::move(on_announcement);
  PFAD_RETURN_NOT_OK(kafka::WaitForTopic(handle, bootstrap, topic, std::chrono::seconds(10)).status());

  std::unique_ptr<rd_kafka_topic_t, decltype(&rd_kafka_topic_destroy)> rkt(rd_kafka_topic_new(handle, topic.c_str(), nullptr),
                                                                           &rd_kafka_topic_destroy);
  const rd_kafka_metadata_t* md = nullptr;
  if (const auto e = rd_kafka_metadata(handle, 0, rkt.get(), &md, 5000); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::IOError("cannot read the partitions of ", topic, ": ", rd_kafka_err2str(e));
  }
  const int partitions = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_END;
  const auto e = rd_kafka_assign(handle, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return Status::IOError("cannot follow ", topic, ": ", rd_kafka_err2str(e));
  Logger("schedule")->info("following announcements topic={} partitions={}", topic, partitions);
  self->thread_ = std::thread([s = self.get()] { s->Loop(); });
  return self;
}

MinuteAnnouncements::~MinuteAnnouncements() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (consumer_) rd_kafka_consumer_close(consumer_.get());
}

void MinuteAnnouncements::Loop() {
  while (!stop_) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(consumer_.get(), 200);
    if (msg == nullptr) continue;
    std::unique_ptr<rd_kafka_message_t, decltype(&rd_kafka_message_destroy)> owned(msg, &rd_kafka_message_destroy);
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        Logger("schedule")->warn("announcements: {}", rd_kafka_message_errstr(msg));
      }
      continue;
    }
    const auto json = nlohmann::json::parse(std::string_view(static_cast<const char*>(msg->payload), msg->len),
                                            nullptr, /*allow_exceptions=*/false);
    if (!json.is_object() || !json.contains("minute") || !json["minute"].is_string()) {
      Logger("schedule")->warn("ignoring an announcement that is not an ingest notification (offset {})", msg->offset);
      continue;
    }
    Announcement a{.minute = json["minute"].get<std::string>(),
                   .object = json.value("object", std::string()),
                   .update = json.value("update", false)};
    on_announcement_(a);
  }
}

}  // namespace pfad::schedule
