#include "pfad/analyze/report_object.h"

#include <utility>

namespace pfad::analyze {

Result<Report> ReadReport(const storage::ObjectStore& store, const storage::ObjectUri& uri) {
  PFAD_ASSIGN_OR_RAISE(auto text, store.Get(uri));
  auto report = ParseReport(text);
  if (!report.ok()) return Status::Invalid(uri.ToString(), ": ", report.status().message());
  return report;
}

Status WriteWithFraud(const storage::ObjectStore& store, const storage::ObjectUri& uri, Report& report,
                      FraudSection fraud) {
  auto* minute = std::get_if<MinuteReport>(&report);
  if (minute == nullptr) {
    return Status::Invalid(uri.ToString(), ": a \"No data\" report has no fraud object");
  }
  minute->fraud = std::move(fraud);
  return store.Put(uri, ToJson(report));
}

}  // namespace pfad::analyze
