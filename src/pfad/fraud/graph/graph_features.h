// The features of docs/FRAUD.md section 2, computed in C++ (`--engine local`):
// node features of users and sessions from their own events, product features,
// and the neighbour aggregates (mean and max over distinct neighbours) that
// make the graph features. The Spark engine computes the same columns.
#pragma once

#include "pfad/fraud/graph/feature_table.h"
#include "pfad/fraud/graph/window_events.h"
#include "pfad/fraud/graph/window_graph.h"
#include "pfad/storage/object_store.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace pfad::fraud {

// Exact sums of squares (-Wpedantic accepts the GCC/Clang type through __extension__).
__extension__ typedef __int128 Int128;

// What the node features of one user or session are computed from: sums over
// its events, the first and last event, and its distinct counts. Integer where
// the definition is an integer, so that partial accumulators of minutes
// (window_slices.h) combine exactly; the full path (ComputeNodeFeatures) fills
// the same structure from the events, so both paths compute bit-identical features.
struct NodeAccumulator {
  int64_t n = 0;
  int64_t by_type[events::kEventTypeCount] = {};
  int64_t errors = 0;
  int64_t payment_errors = 0;
  int64_t latency_sum = 0;
  Int128 latency_squares = 0;
  Int128 gap_squares = 0;  // sum of squared gaps between consecutive events (ms^2)
  int64_t first_ms = 0, last_ms = 0;
  events::Uuid first_id;  // the first event (time, then event id) and its type
  uint8_t first_type = 0;
  int64_t error_codes = 0;  // distinct non-null error codes
  int64_t products = 0;     // distinct non-null products
  int64_t degree = 0;       // users: distinct sessions; sessions: distinct users
};
// The 25 node features (docs/FRAUD.md section 2) of an accumulator.
void NodeFeaturesOf(const NodeAccumulator& acc, double* out);
// The accumulator of an entity from its events (indices into `events`, in
// (time, event id) order) and its degree; `scratch` is reused between calls.
NodeAccumulator AccumulateEvents(const WindowEvents& events, std::span<const uint32_t> order, size_t degree,
                                 std::vector<int32_t>& scratch);

// The 25 node feature names, in column order.
const std::vector<std::string>& NodeFeatureNames();
// The 4 product feature names.
const std::vector<std::string>& ProductFeatureNames();
// All graph feature names for a kind: node features, then neighbour aggregates.
std::vector<std::string> GraphFeatureNames(events::EntityKind kind);

struct NodeFeatures {
  FeatureTable users;            // rows in the window's user index order
  FeatureTable sessions;         // rows in the window's session index order
  std::vector<double> products;  // product index x 4, row-major
};
NodeFeatures ComputeNodeFeatures(const WindowEvents& events, const WindowGraph& graph);

struct GraphFeatures {
  FeatureTable users;  // node + neighbour features, rows in index order
  FeatureTable sessions;
};
// Node features kept, neighbour aggregates over `links` (the real edges, or
// the shuffled control's).
GraphFeatures WithNeighbours(const NodeFeatures& nodes, const Adjacency& links);

// The same table with its rows sorted by entity id (the output order).
FeatureTable SortedById(const FeatureTable& table);

// Writes a table as Parquet: column entity_id (string), then the features (float64).
Status WriteFeatureTable(const storage::ObjectStore& store, const storage::ObjectUri& uri,
                         const FeatureTable& table);

}  // namespace pfad::fraud
