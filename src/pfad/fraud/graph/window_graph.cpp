#include "pfad/fraud/graph/window_graph.h"

#include <algorithm>
#include <numeric>
#include <thread>

#include "pfad/events/generator.h"

namespace pfad::fraud {
namespace {

// Rows of `key` (one row per key value in [0, keys)), each holding the indices
// i (in ascending order) with key[i] == row; skips kNoValue keys.
template <typename Key>
Csr GroupBy(std::span<const Key> key, size_t keys) {
  Csr csr;
  csr.offsets.assign(keys + 1, 0);
  for (const Key k : key) {
    if (static_cast<int64_t>(k) != kNoValue) ++csr.offsets[static_cast<size_t>(k) + 1];
  }
  std::partial_sum(csr.offsets.begin(), csr.offsets.end(), csr.offsets.begin());
  csr.items.resize(csr.offsets.back());
  std::vector<uint32_t> next(csr.offsets.begin(), csr.offsets.end() - 1);
  for (size_t i = 0; i < key.size(); ++i) {
    if (static_cast<int64_t>(key[i]) == kNoValue) continue;
    csr.items[next[static_cast<size_t>(key[i])]++] = static_cast<uint32_t>(i);
  }
  return csr;
}

// For each row of `events_of`, the distinct values of `other` over its events
// (ascending), skipping kNoValue.
template <typename Other>
Csr DistinctNeighbours(const Csr& events_of, std::span<const Other> other) {
  Csr out;
  out.offsets.reserve(events_of.offsets.size());
  std::vector<uint32_t> scratch;
  for (size_t r = 0; r < events_of.rows(); ++r) {
    scratch.clear();
    for (const uint32_t e : events_of.row(r)) {
      if (static_cast<int64_t>(other[e]) != kNoValue) scratch.push_back(static_cast<uint32_t>(other[e]));
    }
    std::sort(scratch.begin(), scratch.end());
    scratch.erase(std::unique(scratch.begin(), scratch.end()), scratch.end());
    out.items.insert(out.items.end(), scratch.begin(), scratch.end());
    out.offsets.push_back(static_cast<uint32_t>(out.items.size()));
  }
  return out;
}

void OrderByTime(Csr& csr, const WindowEvents& events) {
  const auto before = [&](uint32_t a, uint32_t b) {
    if (events.time_ms[a] != events.time_ms[b]) return events.time_ms[a] < events.time_ms[b];
    return events.event_id[a].bytes < events.event_id[b].bytes;
  };
  for (size_t r = 0; r < csr.rows(); ++r) {
    auto* first = csr.items.data() + csr.offsets[r];
    auto* last = csr.items.data() + csr.offsets[r + 1];
    if (!std::is_sorted(first, last, before)) std::sort(first, last, before);
  }
}

Adjacency Link(const WindowEvents& events, std::span<const uint32_t> user, std::span<const int32_t> product) {
  const size_t users = events.user_ids.size(), sessions = events.session_ids.size(),
               products = events.product_ids.size();
  const std::span<const uint32_t> session(events.session);
  Adjacency a;
  // Two threads: what starts from users and products, what starts from sessions.
  std::jthread from_users([&] {
    const Csr by_user = GroupBy(user, users);
    a.user_sessions = DistinctNeighbours(by_user, session);
    a.user_products = DistinctNeighbours(by_user, product);
    const Csr by_product = GroupBy(product, products);
    a.product_users = DistinctNeighbours(by_product, user);
    a.product_sessions = DistinctNeighbours(by_product, session);
  });
  const Csr by_session = GroupBy(session, sessions);
  a.session_users = DistinctNeighbours(by_session, user);
  a.session_products = DistinctNeighbours(by_session, product);
  from_users.join();
  return a;
}

}  // namespace

WindowGraph BuildGraph(const WindowEvents& events) {
  WindowGraph g;
  {
    std::jthread users([&] {
      g.user_events = GroupBy(std::span<const uint32_t>(events.user), events.user_ids.size());
      OrderByTime(g.user_events, events);
    });
    g.session_events = GroupBy(std::span<const uint32_t>(events.session), events.session_ids.size());
    OrderByTime(g.session_events, events);
    g.product_events = GroupBy(std::span<const int32_t>(events.product), events.product_ids.size());
  }
  g.edges = Link(events, events.user, events.product);
  return g;
}

Adjacency ShuffledAdjacency(const WindowEvents& events, uint64_t seed) {
  events::Rng rng(seed);
  std::vector<uint32_t> user = events.user;
  rng.Shuffle(user);
  std::vector<int32_t> with_product;
  for (const int32_t p : events.product) {
    if (p != kNoValue) with_product.push_back(p);
  }
  rng.Shuffle(with_product);
  std::vector<int32_t> product = events.product;
  size_t next = 0;
  for (auto& p : product) {
    if (p != kNoValue) p = with_product[next++];
  }
  return Link(events, user, product);
}

}  // namespace pfad::fraud
