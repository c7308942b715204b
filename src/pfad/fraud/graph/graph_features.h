// The features of docs/FRAUD.md section 2, computed in C++ (`--engine local`):
// node features of users and sessions from their own events, product features,
// and the neighbour aggregates (mean and max over distinct neighbours) that
// make the graph features. The Spark engine computes the same columns.
#pragma once

#include "pfad/fraud/graph/feature_table.h"
#include "pfad/fraud/graph/window_events.h"
#include "pfad/fraud/graph/window_graph.h"
#include "pfad/storage/object_store.h"

#include <string>
#include <vector>

namespace pfad::fraud {

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
