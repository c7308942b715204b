// One minute object scored by hand (`pfad fraud score`, the Airflow task),
// through the same LiveScorer as the ETAR's fraud step (docs/FRAUD.md section 6):
//
//   OpenMinuteToScore(minute, storage, with_report)
//       -> the minute's store and, with its report, the report analyze wrote
//   ScoreMinuteToScore(scorer, minute)
//       -> the window's scores beside the minute, the new alerts, and with a
//          report its "fraud" object written into it
//
// With a report, a model or window problem is the report's reason, never an
// error; without one, a section that did not run is Invalid with that reason.
#pragma once

#include "pfad/analyze/report.h"
#include "pfad/common/clock.h"
#include "pfad/common/status.h"
#include "pfad/fraud/live/live_scorer.h"
#include "pfad/storage/object_store.h"

#include <memory>
#include <optional>

namespace pfad::fraud {

struct MinuteToScore {
  std::shared_ptr<storage::ObjectStore> store;
  storage::ObjectUri minute;
  storage::ObjectUri report_uri;          // the minute's report object, beside it
  std::optional<analyze::Report> report;  // read when asked for

  // The report read says "No data for ...": there is nothing to score.
  [[nodiscard]] bool NoData() const {
    return report && std::holds_alternative<analyze::NoDataReport>(*report);
  }
};

// Opens the minute's store and, with `with_report`, reads its report (IOError
// when it cannot be read, Invalid when it is not one). Invalid for a name that
// is not a minute object's (YYYY-MM-DD_HH-MM.parquet); IOError when the object
// does not exist, unless its report says "No data" (then it is not looked at).
Result<MinuteToScore> OpenMinuteToScore(const storage::ObjectUri& minute,
                                        const storage::StorageConfig& storage, bool with_report);

// Scores the minute (LiveScorer::ScoreMinute) and, when its report was read,
// writes the section into the report object (analyze::WriteWithFraud). Without a
// report, a section that did not run is Invalid with its reason.
Result<analyze::FraudSection> ScoreMinuteToScore(LiveScorer& scorer, MinuteToScore& minute,
                                                 const Clock& clock = DefaultClock(),
                                                 LiveScorer::Timing* timing = nullptr);

}  // namespace pfad::fraud
