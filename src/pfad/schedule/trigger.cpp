#include "pfad/schedule/trigger.h"

#include "pfad/common/log.h"

namespace pfad::schedule {

Result<std::unique_ptr<MinuteAnnouncements>> TriggerAnnouncedMinutes(
    MinuteScheduler& scheduler, const events::MinuteCalendar& calendar, const std::string& bootstrap,
    const std::string& topic, const kafka::Properties& properties,
    std::function<void(const Announcement&)> also) {
  return MinuteAnnouncements::Start(
      bootstrap, topic, properties, [&scheduler, &calendar, also = std::move(also)](const Announcement& a) {
        if (also) also(a);
        auto minute = calendar.Parse(a.minute);
        // A rewrite (late events) runs the minute again, so its report catches up.
        const Status st = !minute.ok() ? minute.status()
                          : a.update   ? scheduler.Rerun(*minute)
                                       : scheduler.Trigger(*minute);
        if (!st.ok()) Logger("schedule")->warn("announcement minute={}: {}", a.minute, st.message());
      });
}

}  // namespace pfad::schedule
