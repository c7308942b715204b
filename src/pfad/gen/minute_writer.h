// Synthetic minute files for demos, tests and benchmarks (`pfad gen`): N events
// of one Asia/Tehran minute from the event generator, written as the minute's
// Parquet object (DESIGN.md section 2) in row groups, never all in memory.
#pragma once

#include "pfad/common/status.h"
#include "pfad/events/generator.h"
#include "pfad/events/minute.h"
#include "pfad/storage/object_store.h"

#include <cstdint>

namespace pfad::gen {

struct SyntheticMinute {
  events::Minute minute;
  int64_t rows = 0;
  events::GeneratorOptions generator;
  int64_t row_group_rows = 262144;
};

// The object a minute is written to: `target` itself when it ends in
// ".parquet", else `target/<YYYY-MM-DD_HH-MM>.parquet`.
storage::ObjectUri MinuteObject(const storage::ObjectUri& target, const events::Minute& minute);

// Writes the minute atomically. Event timestamps are spread evenly over the
// minute, in order.
Status WriteSyntheticMinute(const storage::ObjectStore& store, const storage::ObjectUri& object,
                            const SyntheticMinute& spec);

}  // namespace pfad::gen
