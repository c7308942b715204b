// The Spark engine of `pfad fraud features --engine spark` (docs/FRAUD.md
// section 2): the window graph's node and neighbour features of every user and
// every session, computed by Spark from the minute objects themselves.
//
// One Spark SQL query per entity kind (a Spark Connect `SQL` relation). The
// query text is generated from the feature list below, so the column order and
// names are those of FRAUD.md by construction:
//   events          the window's objects, read as parquet.`<path>` and UNION ALL'd;
//                   timestamps as unix_millis(event_timestamp)
//   <kind>_nodes    the 25 node features of users / sessions: one GROUP BY over the
//                   events, gaps from lag() over (ts_ms, event_id), the first type
//                   from min_by(event_type, struct(ts_ms, event_id))
//   product_nodes   the 4 product features
//   *_neighbours    mean / max of the neighbours' features over the DISTINCT
//                   (entity, neighbour) pairs
//   result          entity_id, node features, neighbour features (0 when there is
//                   no neighbour), ORDER BY entity_id; every feature a DOUBLE.
// Ratios with a zero denominator are 0 (CASE, never a division by zero, so
// ANSI mode does not fail the query).
#pragma once

#include "pfad/common/status.h"
#include "pfad/events/labels.h"
#include "pfad/fraud/graph/feature_table.h"
#include "pfad/fraud/graph/window_features.h"
#include "pfad/spark/session.h"
#include "pfad/storage/object_store.h"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace pfad::spark {

// The query for one kind over the given Spark paths (see SparkPath; at least
// one). Paths are quoted as identifiers (backticks doubled) and their Hadoop
// glob characters escaped, so a path names exactly one object. Result columns:
// entity_id (string), then fraud::GraphFeatureNames(kind) (double), sorted by entity_id.
std::string GraphFeaturesSql(events::EntityKind kind, const std::vector<std::string>& paths);

// The query's result as a table. Invalid unless the columns are exactly
// entity_id (string) then fraud::GraphFeatureNames(kind) (double), without nulls.
// Rows are sorted by id (whatever order the batches came in).
Result<fraud::FeatureTable> FeatureTableFromBatches(events::EntityKind kind, const ArrowBatches& batches);

// The graph features of the window made of `minute_objects`: {users, sessions},
// each sorted by entity id. An empty window gives two empty tables (Spark is
// not asked). Spark's errors keep their kind (SparkSession::Execute): an
// unreadable object is Invalid, an unreachable or failing service an IOError.
Result<std::vector<fraud::FeatureTable>> SparkGraphFeatures(
    const SparkSession& session, const std::vector<storage::ObjectUri>& minute_objects);

// The window's feature tables by the engine named: "spark" computes them in
// Spark (SparkGraphFeatures, no timing) over one session opened with the settings
// `spark_config` gives, resolved only then; any other engine is the local
// fraud::ComputeWindowFeatures, timed by `clock`.
Result<fraud::WindowFeatureTables> ComputeWindowFeatures(
    std::string_view engine, const fraud::MinuteWindow& window,
    const std::function<Result<SparkConfig>()>& spark_config, const Clock& clock = DefaultClock());

}  // namespace pfad::spark
