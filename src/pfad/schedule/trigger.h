// Runs a minute the moment the ingester announces its object: the ingester's
// announcements (announcements.h) wired to MinuteScheduler::Trigger, as
// `pfad run --announcements` and `pfad demo` use them.
#pragma once

#include "pfad/schedule/announcements.h"
#include "pfad/schedule/scheduler.h"

#include <functional>
#include <memory>
#include <string>

namespace pfad::schedule {

// Follows `topic` and triggers each announced minute on `scheduler`; a minute
// that does not parse, or cannot be queued, is logged and skipped. `also`, if
// set, hears each announcement first. Stop following by destroying the result
// (before the scheduler and the calendar).
Result<std::unique_ptr<MinuteAnnouncements>> TriggerAnnouncedMinutes(
    MinuteScheduler& scheduler, const events::MinuteCalendar& calendar, const std::string& bootstrap,
    const std::string& topic, const kafka::Properties& properties,
    std::function<void(const Announcement&)> also = nullptr);

}  // namespace pfad::schedule
