// The entity view's data (docs/DESIGN.md, "Investigations"; docs/FRAUD.md section 9): for the
// entities an analyst may open (the report's top list, the new alerts, then the other flagged
// ones by score, at most [fraud] investigations per minute), what the scorer has in hand when it
// scores the window — why (each top feature beside the window's population), the entity's
// events, and its neighbourhood (the users, sessions and products it shares with others, with
// their scores). They travel in the report's fraud object as `investigations`, so the dashboard
// gets them with the report and needs no access to the store.
#pragma once

#include "pfad/fraud/graph/graph_features.h"
#include "pfad/fraud/graph/window_events.h"
#include "pfad/fraud/graph/window_graph.h"
#include "pfad/fraud/models/fraud_model.h"
#include "pfad/fraud/models/scoring.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace pfad::fraud {

struct InvestigationLimits {
  int entities = 25;    // per minute
  int events = 30;      // per entity, newest first
  int neighbours = 40;  // nodes of the drawn neighbourhood, the entity included
};

struct WindowInHand {
  const NodeFeatures* nodes = nullptr;              // the window's node features (ids in index order)
  const Adjacency* links = nullptr;                 // user/session <-> user/session/product
  std::function<std::string(uint32_t)> product_id;  // product index -> product id text
  // Events to list: the whole window's (full path) or the newest minute's (live path); may be null.
  const WindowEvents* events = nullptr;
  int64_t window_start_ms = 0, window_end_ms = 0;
};

// Which scores to investigate: the report's top list and `alerted` first, then the other flagged
// entities by descending score, up to the limit; indices into `scores`.
std::vector<size_t> PickInvestigated(const std::vector<EntityScore>& scores, int top,
                                     const std::vector<std::pair<events::EntityKind, std::string>>& alerted,
                                     int limit);

// The investigations of scores[which], as a JSON array (the shape of docs/DESIGN.md).
nlohmann::ordered_json BuildInvestigations(const FraudModel& model, const std::string& minute,
                                           const std::vector<EntityScore>& scores,
                                           const std::vector<size_t>& which, const WindowInHand& window,
                                           const InvestigationLimits& limits);

// "payment errors 0.95 — higher than 99.8 % of sessions": a feature in words beside its population,
// given the shares (in %) of the population strictly below and strictly above the value.
std::string DescribeFeature(const std::string& feature, double value, double below, double above,
                            events::EntityKind kind);

}  // namespace pfad::fraud
