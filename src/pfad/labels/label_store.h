// The labels store (docs/DESIGN.md, "Labels store"; docs/FRAUD.md section 9): every fraud label
// that training reads, whatever its source (the generator, the `<topic>.labels` topic, the
// dashboard's review verdicts), as Parquet objects under one prefix:
//
//   <prefix>/YYYY-MM-DD/<stem>.parquet     (the UTC day of each label's first_ms)
//
// A writer names its objects after what it wrote (e.g. the topic partition and first offset), so
// writing the same labels again after a crash replaces the object or adds rows with refs already
// stored; readers keep one row per ref, so every label counts once. Of several labels of one
// entity, the latest `labelled_at` stands (an analyst overruling a chargeback, or the reverse).
#pragma once

#include "pfad/common/status.h"
#include "pfad/events/labels.h"
#include "pfad/storage/object_store.h"

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace pfad::labels {

// "YYYY-MM-DD", the UTC day of `epoch_ms`.
std::string LabelDay(int64_t epoch_ms);

// The default prefix beside a minutes location: "<minutes>/labels".
storage::ObjectUri DefaultLabelsPrefix(const storage::ObjectUri& minutes);

// Writes `records` as one object per UTC day of their first_ms, named `<day>/<stem>.parquet`
// under `prefix`, each atomically. Returns the objects written.
Result<std::vector<storage::ObjectUri>> WriteLabelRecords(const storage::ObjectStore& store,
                                                          const storage::ObjectUri& prefix,
                                                          const std::string& stem,
                                                          std::span<const events::LabelRecord> records);

// Every label under `prefix` whose entity was active in [from_ms, to_ms] (first_ms..last_ms
// overlaps it), one per ref, in labelled_at order (then ref). Days outside the range are not
// read. A missing prefix is no labels; an unreadable object is Invalid, naming it.
Result<std::vector<events::LabelRecord>> ReadLabelRecords(const storage::ObjectStore& store,
                                                          const storage::ObjectUri& prefix, int64_t from_ms,
                                                          int64_t to_ms);

// A labels object (beside a minute, or in the store) as a table; Invalid, naming it, when it is
// not readable Parquet.
Result<std::shared_ptr<arrow::Table>> ReadLabelsTable(const storage::ObjectStore& store,
                                                      const storage::ObjectUri& uri);

// Every object stem under `prefix` (all days), sorted; writers use it to find where they were.
Result<std::vector<std::string>> ListLabelStems(const storage::ObjectStore& store,
                                                const storage::ObjectUri& prefix);

}  // namespace pfad::labels
