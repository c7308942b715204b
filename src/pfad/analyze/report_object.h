// A minute's report object in storage (<stem>.json beside the minute object),
// read and patched by the stages after analyze: the ETAR's fraud step and
// `pfad fraud score --report` add the fraud object to it, `pfad report` posts it.
// The JSON is report.h's; this is the one place it is read from and written
// back to a store.
#pragma once

#include "pfad/analyze/report.h"
#include "pfad/common/status.h"
#include "pfad/storage/object_store.h"

namespace pfad::analyze {

// The report object at `uri`, parsed. IOError when it cannot be read; Invalid,
// naming the object, when it is not a report document.
Result<Report> ReadReport(const storage::ObjectStore& store, const storage::ObjectUri& uri);

// Sets the fraud object of a minute's report and writes the report to `uri`
// (replacing the one analyze wrote). A "No data" report has no fraud object:
// Invalid, nothing written.
Status WriteWithFraud(const storage::ObjectStore& store, const storage::ObjectUri& uri, Report& report,
                      FraudSection fraud);

}  // namespace pfad::analyze
