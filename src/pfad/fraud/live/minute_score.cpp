#include "pfad/fraud/live/minute_score.h"

#include "pfad/analyze/analyze.h"
#include "pfad/analyze/report_object.h"
#include "pfad/fraud/graph/window_events.h"

namespace pfad::fraud {

Result<MinuteToScore> OpenMinuteToScore(const storage::ObjectUri& minute,
                                        const storage::StorageConfig& storage, bool with_report) {
  if (!IsMinuteObjectName(minute.Basename())) {
    return Status::Invalid(minute.ToString(), ": not a minute object (YYYY-MM-DD_HH-MM.parquet)");
  }
  MinuteToScore m;
  m.minute = minute;
  PFAD_ASSIGN_OR_RAISE(m.store, storage::ObjectStore::Open(minute, storage));
  m.report_uri = analyze::ReportLocation(minute, std::nullopt);
  if (with_report) {
    PFAD_ASSIGN_OR_RAISE(m.report, analyze::ReadReport(*m.store, m.report_uri));
    if (m.NoData()) return m;
  }
  PFAD_ASSIGN_OR_RAISE(auto info, m.store->Stat(minute));
  if (!info.exists) return Status::IOError(minute.ToString(), ": no such minute object");
  return m;
}

Result<analyze::FraudSection> ScoreMinuteToScore(LiveScorer& scorer, MinuteToScore& minute,
                                                 const Clock& clock, LiveScorer::Timing* timing) {
  PFAD_ASSIGN_OR_RAISE(auto section, scorer.ScoreMinute(*minute.store, minute.minute, clock, timing));
  if (minute.report) {
    PFAD_RETURN_NOT_OK(analyze::WriteWithFraud(*minute.store, minute.report_uri, *minute.report, section));
  } else if (section.state == analyze::FraudSection::State::kNotRun) {
    return Status::Invalid(section.reason);
  }
  return section;
}

}  // namespace pfad::fraud
