// Scoring a window with a trained model (docs/DESIGN.md, "Fraud scores";
// docs/FRAUD.md section 4): every user and session of the window gets a fraud_score, is_fraud
// (score >= the model's threshold) and the features that pushed its score most.
#pragma once

#include "pfad/fraud/graph/window_events.h"
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

// Users first, then sessions; each in descending score order.
Result<std::vector<EntityScore>> ScoreWindow(const FraudModel& model, const WindowEvents& events);

// The scores object (docs/DESIGN.md, "Fraud scores", columns: entity_kind, entity_id,
// fraud_score, is_fraud, model, top_features), written atomically.
Status WriteScores(const storage::ObjectStore& store, const storage::ObjectUri& uri,
                   const std::string& model_label, const std::vector<EntityScore>& scores);

}  // namespace pfad::fraud
