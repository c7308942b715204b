// A window of minute objects made ready for the fraud stage (docs/FRAUD.md
// section 2), as `pfad fraud features`, `eval` and `train` use it:
//
//   OpenMinuteWindow(source, storage)  -> the store and its minute objects (the last N)
//   ComputeWindowFeatures(window)      -> read, graph, user and session feature tables, timed
//   WriteFeatureTables(out, tables)    -> <out>/<kind>_features.parquet, sorted by id
//
// Errors name the source or object: Invalid when a source holds no minute
// objects, IOError when its store cannot be reached.
#pragma once

#include "pfad/common/clock.h"
#include "pfad/common/status.h"
#include "pfad/fraud/graph/feature_table.h"
#include "pfad/storage/object_store.h"

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace pfad::fraud {

// Minute objects of one store, in minute order.
struct MinuteWindow {
  std::shared_ptr<storage::ObjectStore> store;
  std::vector<storage::ObjectUri> minutes;
};

// Opens the store of `source` (a directory, S3 prefix or one minute object) and
// lists its minute objects (ListMinuteObjects); with last_minutes > 0, only the
// last that many. Invalid when there are none.
Result<MinuteWindow> OpenMinuteWindow(const storage::ObjectUri& source, const storage::StorageConfig& storage,
                                      int last_minutes);

// How long the local feature computation took (bench/fraud_bench.py reads it).
struct FeatureTiming {
  size_t events = 0;
  double read_ms = 0;      // reading the minute objects
  double features_ms = 0;  // building the graph and its features
};

// The window's feature tables: users, then sessions; `timing` when computed locally.
struct WindowFeatureTables {
  std::vector<FeatureTable> tables;
  std::optional<FeatureTiming> timing;
};

// Reads the window, builds its graph and computes the user and session features
// with their neighbours' (graph_features.h), timed by `clock`.
Result<WindowFeatureTables> ComputeWindowFeatures(const MinuteWindow& window,
                                                  const Clock& clock = DefaultClock());

// One table written: where, and its size.
struct WrittenFeatureTable {
  storage::ObjectUri uri;
  size_t rows = 0;
  size_t cols = 0;
};

// Writes each table, sorted by entity id, to <out>/<kind>_features.parquet
// (a local directory is created first), in order; `written` hears each one
// as soon as it is written.
Status WriteFeatureTables(const storage::ObjectUri& out, const storage::StorageConfig& storage,
                          const std::vector<FeatureTable>& tables,
                          const std::function<void(const WrittenFeatureTable&)>& written);

}  // namespace pfad::fraud
