// The ingester's announcements (its windows topic: one JSON message per stored
// minute object), followed so a scheduler can run a minute as soon as its object
// is stored instead of waiting for the clock.
#pragma once

#include "pfad/common/status.h"
#include "pfad/events/announcement.h"
#include "pfad/kafka/client.h"
#include "pfad/kafka/consumer.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace pfad::schedule {

using Announcement = events::WindowAnnouncement;

class MinuteAnnouncements {
 public:
  // Follows `topic` from its end (what was announced before the start is the
  // clock's to catch up) and calls `on_announcement` from its own thread.
  static Result<std::unique_ptr<MinuteAnnouncements>> Start(
      const std::string& bootstrap, const std::string& topic, const kafka::Properties& properties,
      std::function<void(const Announcement&)> on_announcement);
  ~MinuteAnnouncements();

 private:
  MinuteAnnouncements() = default;
  void Loop();

  std::unique_ptr<kafka::Consumer> consumer_;
  std::function<void(const Announcement&)> on_announcement_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace pfad::schedule
