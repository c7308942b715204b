// Scoring a window with a trained model (docs/DESIGN.md, "Fraud scores";
// docs/FRAUD.md section 4): every user and session of the window gets a fraud_score, is_fraud
// (score >= the model's threshold) and the features that pushed its score most.
#pragma once

#include "pfad/fraud/graph/graph_features.h"
#include "pfad/fraud/graph/window_events.h"
#include "pfad/fraud/graph/window_graph.h"
#include "pfad/fraud/models/fraud_model.h"
#include "pfad/storage/object_store.h"

#include <string>
#include <vector>

namespace pfad::fraud {

struct EntityScore {
  events::EntityKind kind = events::EntityKind::kUser;
  std::string entity_id;
  double fraud_score = 0;
  bool is_fraud = false;
  // The three features with the largest contributions towards fraud, as
  // "name=value" joined by "; ".
  std::string top_features;
};

// Users first, then sessions; each in descending score order (ties by id). Every entity is
// scored; top_features is computed only for the flagged ones and the `top`
// highest scores over both kinds (the report's top list; ties by kind, then id),
// and is empty for the others: explaining every entity cost more than scoring.
Result<std::vector<EntityScore>> ScoreWindow(const FraudModel& model, const WindowEvents& events, int top);
// The same from a window's node features and links (a full build's, or a live
// window's, fraud/graph/window_slices.h). Trees use the four user/session
// relations; a GNN also needs product_users and product_sessions.
Result<std::vector<EntityScore>> ScoreGraph(const FraudModel& model, const NodeFeatures& nodes,
                                            const Adjacency& links, int top);

// The same from the window's graph features computed elsewhere (the Spark engine
// above what one scorer holds: docs/FRAUD.md section 8), tables sorted or not.
// Trees models only: a GNN needs the graph itself (Invalid, saying so).
Result<std::vector<EntityScore>> ScoreFeatures(const FraudModel& model, const GraphFeatures& features,
                                               int top);

// The scores object (docs/DESIGN.md, "Fraud scores", columns: entity_kind, entity_id,
// fraud_score, is_fraud, model, top_features), written atomically.
Status WriteScores(const storage::ObjectStore& store, const storage::ObjectUri& uri,
                   const std::string& model_label, const std::vector<EntityScore>& scores);

}  // namespace pfad::fraud
