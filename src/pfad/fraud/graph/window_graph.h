// The window graph (docs/FRAUD.md section 2): users, sessions and products as
// nodes, each event an edge set user-session, user-product, session-product.
// Stored as compressed rows: per user and per session its events in
// (time, event id) order, and per node its distinct neighbours.
#pragma once

#include "pfad/fraud/graph/window_events.h"

#include <cstdint>
#include <span>
#include <vector>

namespace pfad::fraud {

// The node types of the graph. Users and sessions are also the scored entity
// kinds and have the same values as events::EntityKind.
enum class NodeType : uint8_t { kUser = 0, kSession = 1, kProduct = 2 };

// Compressed sparse rows: row i is items[offsets[i] .. offsets[i + 1]).
struct Csr {
  std::vector<uint32_t> offsets{0};
  std::vector<uint32_t> items;

  [[nodiscard]] size_t rows() const { return offsets.size() - 1; }
  [[nodiscard]] std::span<const uint32_t> row(size_t i) const {
    return {items.data() + offsets[i], items.data() + offsets[i + 1]};
  }
};

// Who is linked to whom. Built from the events, or from rewired events for the
// shuffled-edge control.
struct Adjacency {
  Csr user_sessions;  // distinct sessions of each user, ascending
  Csr user_products;  // distinct product indices of each user
  Csr session_users;
  Csr session_products;
  Csr product_users;
  Csr product_sessions;
};

struct WindowGraph {
  Csr user_events;  // event indices in (time, event id) order
  Csr session_events;
  Csr product_events;  // event indices, any order
  Adjacency edges;
};

WindowGraph BuildGraph(const WindowEvents& events);

// The links after permuting the events' user column, and independently the
// product column over the events that have one (seeded): every node keeps its
// number of events, the pairing is random.
Adjacency ShuffledAdjacency(const WindowEvents& events, uint64_t seed);

}  // namespace pfad::fraud
