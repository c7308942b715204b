// Synthetic minute files for demos, tests and benchmarks (`pfad gen`): N events
// per Asia/Tehran minute from one continuous TrafficMix (the reference
// generator, with labelled actors when a fraud share is given), each minute
// written atomically as its Parquet object (docs/DESIGN.md, "Minute objects") in row groups,
// never all in memory. With a fraud share, each minute's labels (docs/DESIGN.md,
// "Fraud labels"; docs/FRAUD.md section 1) are written too: the entities active in
// that minute, first/last clipped to it. Actors run on across minutes.
#pragma once

#include "pfad/common/status.h"
#include "pfad/events/generator.h"
#include "pfad/events/minute.h"
#include "pfad/storage/object_store.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace pfad::gen {

struct SyntheticMinutes {
  events::Minute first;  // the first minute; the others follow it
  int64_t minutes = 1;
  int64_t rows = 0;  // per minute
  events::GeneratorOptions generator;
  std::optional<double> fraud_share;  // set: actors mixed in and labels written
  int64_t row_group_rows = 262144;
};

// Where a run writes: events into `target`, labels into `labels` when set
// (a .parquet object, or a directory/prefix), else beside each minute object.
struct SyntheticTargets {
  storage::ObjectUri target;
  std::shared_ptr<storage::ObjectStore> store;
  std::optional<storage::ObjectUri> labels;
  std::shared_ptr<storage::ObjectStore> labels_store;  // null: `store`
};

// The targets of a run with their stores opened: `target`'s (opened for the
// first minute's object), and a store of its own for `labels` when given.
Result<SyntheticTargets> OpenSyntheticTargets(const storage::ObjectUri& target,
                                              const std::optional<storage::ObjectUri>& labels,
                                              const events::Minute& first,
                                              const storage::StorageConfig& storage);

// The object a minute is written to: `target` itself when it ends in
// ".parquet", else `target/<YYYY-MM-DD_HH-MM>.parquet`.
storage::ObjectUri MinuteObject(const storage::ObjectUri& target, const events::Minute& minute);

// The object a minute's labels go to: `labels` itself when it ends in
// ".parquet", else `labels/<YYYY-MM-DD_HH-MM>.labels.parquet`; without
// `labels`, beside the minute object as <stem>.labels.parquet.
storage::ObjectUri LabelsObject(const storage::ObjectUri& minute_object,
                                const std::optional<storage::ObjectUri>& labels,
                                const events::Minute& minute);

struct WrittenMinute {
  storage::ObjectUri events;
  std::optional<storage::ObjectUri> labels;
};

// Writes spec.minutes consecutive minutes, each atomically. Event timestamps
// are spread evenly over each minute, in order. Invalid when several minutes
// would go to one .parquet object.
Result<std::vector<WrittenMinute>> WriteSyntheticMinutes(const SyntheticTargets& targets,
                                                         const events::MinuteCalendar& calendar,
                                                         const SyntheticMinutes& spec);

}  // namespace pfad::gen
