#include "pfad/fraud/live/investigation.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "pfad/events/event.h"
#include "pfad/events/labels.h"

namespace pfad::fraud {
namespace {

using Json = nlohmann::ordered_json;
using events::EntityKind;

constexpr int kUser = static_cast<int>(EntityKind::kUser);
constexpr int kSession = static_cast<int>(EntityKind::kSession);

// Node features in words; the rest are shown by name.
const std::map<std::string, std::string, std::less<>>& Phrases() {
  static const std::map<std::string, std::string, std::less<>> phrases = {
      {"n_events", "events"},
      {"n_view", "product views"},
      {"n_cart", "add-to-carts"},
      {"n_checkout", "checkouts"},
      {"n_payment", "payments"},
      {"n_search", "searches"},
      {"share_view", "share of views"},
      {"share_cart", "share of add-to-carts"},
      {"share_checkout", "share of checkouts"},
      {"share_payment", "share of payments"},
      {"share_search", "share of searches"},
      {"n_error", "failed events"},
      {"share_error", "share of failed events"},
      {"error_codes", "distinct error codes"},
      {"error_code_diversity", "error code diversity"},
      {"payment_error_share", "payment errors"},
      {"latency_mean", "mean latency (ms)"},
      {"latency_std", "latency spread (ms)"},
      {"gap_mean_ms", "mean gap between events (ms)"},
      {"gap_cv", "regularity of gaps (CV)"},
      {"span_ms", "active span (ms)"},
      {"products", "distinct products"},
      {"products_per_event", "products per event"},
      {"degree", "linked users/sessions"},
      {"first_type", "first event type"},
      {"p_events", "product events"},
      {"p_users", "product users"},
      {"p_sessions", "product sessions"},
      {"p_share_cart", "product add-to-cart share"},
  };
  return phrases;
}

std::string Phrase(const std::string& feature) {
  const auto& phrases = Phrases();
  if (auto it = phrases.find(feature); it != phrases.end()) return it->second;
  for (const char* other : {"session_", "user_", "product_"}) {
    if (!feature.starts_with(other)) continue;
    for (const char* stat : {"mean_", "max_"}) {
      const std::string head = std::string(other) + stat;
      if (!feature.starts_with(head)) continue;
      const std::string base = feature.substr(head.size());
      const std::string what = phrases.contains(base) ? phrases.find(base)->second : base;
      std::string who(other);
      who.pop_back();
      return fmt::format("{} ({} over its {}s)", what,
                         std::string(stat).substr(0, std::string(stat).size() - 1), who);
    }
  }
  return feature;
}

// "a=1; b=2" -> {(a, 1), (b, 2)}.
std::vector<std::pair<std::string, double>> ParseTopFeatures(const std::string& text) {
  std::vector<std::pair<std::string, double>> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find("; ", at);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(at, end - at);
    at = end + 2;
    const auto eq = part.find('=');
    if (eq == std::string::npos) continue;
    try {
      out.emplace_back(part.substr(0, eq), std::stod(part.substr(eq + 1)));
    } catch (const std::exception&) {
    }
  }
  return out;
}

// A feature's value for every row of a kind: node features straight from the table, neighbour
// aggregates (the trees' graph features) computed over the links as scoring did.
class Populations {
 public:
  Populations(const NodeFeatures& nodes, const Adjacency& links) : nodes_(nodes), links_(links) {}

  // Sorted values; empty when the feature is not known here.
  const std::vector<double>& Sorted(EntityKind kind, const std::string& feature) {
    const auto key = std::make_pair(static_cast<int>(kind), feature);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    auto values = Compute(kind, feature);
    std::sort(values.begin(), values.end());
    return cache_.emplace(key, std::move(values)).first->second;
  }

 private:
  [[nodiscard]] const FeatureTable& Table(EntityKind kind) const {
    return kind == EntityKind::kUser ? nodes_.users : nodes_.sessions;
  }

  std::vector<double> Compute(EntityKind kind, const std::string& feature) const {
    const FeatureTable& own = Table(kind);
    if (const int c = own.Column(feature); c >= 0) {
      std::vector<double> v(own.rows());
      for (size_t r = 0; r < own.rows(); ++r) v[r] = own.at(r, static_cast<size_t>(c));
      return v;
    }
    const bool user = kind == EntityKind::kUser;
    for (const char* stat : {"mean_", "max_"}) {
      const bool mean = stat[1] == 'e';
      const std::string other_head = std::string(user ? "session_" : "user_") + stat;
      const std::string product_head = std::string("product_") + stat;
      if (feature.starts_with(other_head)) {
        const FeatureTable& other = Table(user ? EntityKind::kSession : EntityKind::kUser);
        const int c = other.Column(feature.substr(other_head.size()));
        if (c < 0) return {};
        const Csr& csr = user ? links_.user_sessions : links_.session_users;
        return Aggregate(csr, own.rows(), mean,
                         [&](uint32_t j) { return other.at(j, static_cast<size_t>(c)); });
      }
      if (feature.starts_with(product_head)) {
        const auto& names = ProductFeatureNames();
        const auto it = std::find(names.begin(), names.end(), feature.substr(product_head.size()));
        if (it == names.end()) return {};
        const auto c = static_cast<size_t>(it - names.begin());
        const Csr& csr = user ? links_.user_products : links_.session_products;
        return Aggregate(csr, own.rows(), mean,
                         [&](uint32_t p) { return nodes_.products[p * names.size() + c]; });
      }
    }
    return {};
  }

  template <typename F>
  static std::vector<double> Aggregate(const Csr& csr, size_t rows, bool mean, F value) {
    std::vector<double> out(rows, 0.0);
    for (size_t r = 0; r < rows && r < csr.rows(); ++r) {
      const auto row = csr.row(r);
      if (row.empty()) continue;
      double acc = mean ? 0.0 : value(row[0]);
      for (const uint32_t j : row) acc = mean ? acc + value(j) : std::max(acc, value(j));
      out[r] = mean ? acc / static_cast<double>(row.size()) : acc;
    }
    return out;
  }

  const NodeFeatures& nodes_;
  const Adjacency& links_;
  std::map<std::pair<int, std::string>, std::vector<double>> cache_;
};

// Shares (in %) of the population strictly below and strictly above `v`.
std::pair<double, double> PercentBelowAbove(const std::vector<double>& sorted, double v) {
  if (sorted.empty()) return {0, 0};
  const auto n = static_cast<double>(sorted.size());
  const auto below = std::lower_bound(sorted.begin(), sorted.end(), v) - sorted.begin();
  const auto above = sorted.end() - std::upper_bound(sorted.begin(), sorted.end(), v);
  return {100.0 * static_cast<double>(below) / n, 100.0 * static_cast<double>(above) / n};
}

double Median(const std::vector<double>& sorted) { return sorted.empty() ? 0 : sorted[sorted.size() / 2]; }

std::string NodeKey(std::string_view kind, std::string_view id) { return fmt::format("{}:{}", kind, id); }

Json Optional(int32_t v) { return v == kNoValue ? Json(nullptr) : Json(v); }

}  // namespace

std::string DescribeFeature(const std::string& feature, double value, double below, double above,
                            EntityKind kind) {
  const std::string population = std::string(events::ToString(kind)) + "s";
  const std::string number = fmt::format("{:.4g}", value);
  if (below >= above) {
    return fmt::format("{} {} — higher than {:.1f} % of {}", Phrase(feature), number, below, population);
  }
  return fmt::format("{} {} — lower than {:.1f} % of {}", Phrase(feature), number, above, population);
}

std::vector<size_t> PickInvestigated(const std::vector<EntityScore>& scores, int top,
                                     const std::vector<std::pair<EntityKind, std::string>>& alerted,
                                     int limit) {
  std::vector<size_t> out;
  if (limit <= 0) return out;
  std::vector<size_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  const auto higher = [&](size_t a, size_t b) {
    if (scores[a].fraud_score != scores[b].fraud_score) return scores[a].fraud_score > scores[b].fraud_score;
    if (scores[a].kind != scores[b].kind) return scores[a].kind < scores[b].kind;
    return scores[a].entity_id < scores[b].entity_id;
  };
  const size_t head =
      std::min(order.size(), static_cast<size_t>(std::max(top, 0)) + static_cast<size_t>(limit));
  std::partial_sort(order.begin(), order.begin() + static_cast<long>(head), order.end(), higher);
  std::unordered_set<size_t> taken;
  const auto take = [&](size_t i) {
    if (out.size() < static_cast<size_t>(limit) && taken.insert(i).second) out.push_back(i);
  };
  for (size_t i = 0; i < order.size() && i < static_cast<size_t>(std::max(top, 0)); ++i) take(order[i]);
  if (!alerted.empty()) {
    std::set<std::pair<EntityKind, std::string>> wanted(alerted.begin(), alerted.end());
    for (size_t i = 0; i < scores.size() && out.size() < static_cast<size_t>(limit); ++i) {
      if (wanted.contains({scores[i].kind, scores[i].entity_id})) take(i);
    }
  }
  for (size_t i = 0; i < head && out.size() < static_cast<size_t>(limit); ++i) {
    if (scores[order[i]].is_fraud) take(order[i]);
  }
  return out;
}

nlohmann::ordered_json BuildInvestigations(const FraudModel& model, const std::string& minute,
                                           const std::vector<EntityScore>& scores,
                                           const std::vector<size_t>& which, const WindowInHand& window,
                                           const InvestigationLimits& limits) {
  Json out = Json::array();
  if (which.empty() || window.nodes == nullptr || window.links == nullptr) return out;
  const NodeFeatures& nodes = *window.nodes;
  const Adjacency& links = *window.links;
  const FeatureTable* tables[2] = {&nodes.users, &nodes.sessions};
  double threshold[2] = {0.5, 0.5};
  for (const auto& part : model.parts) threshold[static_cast<int>(part.kind)] = part.threshold;

  // Node rows of the investigated entities.
  std::unordered_map<std::string, size_t> wanted[2];
  for (const size_t i : which)
    wanted[static_cast<int>(scores[i].kind)].emplace(scores[i].entity_id, SIZE_MAX);
  for (int k = 0; k < 2; ++k) {
    for (size_t r = 0; r < tables[k]->rows() && !wanted[k].empty(); ++r) {
      if (auto it = wanted[k].find(tables[k]->ids[r]); it != wanted[k].end()) it->second = r;
    }
  }
  const auto row_of = [&](const EntityScore& s) { return wanted[static_cast<int>(s.kind)].at(s.entity_id); };

  // Products of the investigated entities, and who else holds them (one pass over the links).
  const Csr* own_products[2] = {&links.user_products, &links.session_products};
  std::unordered_map<uint32_t, std::vector<uint32_t>> product_holders[2];
  for (const size_t i : which) {
    const int k = static_cast<int>(scores[i].kind);
    const size_t r = row_of(scores[i]);
    if (r == SIZE_MAX || r >= own_products[k]->rows()) continue;
    for (const uint32_t p : own_products[k]->row(r)) product_holders[k].try_emplace(p);
  }
  for (int k = 0; k < 2; ++k) {
    if (product_holders[k].empty()) continue;
    for (size_t r = 0; r < own_products[k]->rows(); ++r) {
      for (const uint32_t p : own_products[k]->row(r)) {
        if (auto it = product_holders[k].find(p); it != product_holders[k].end())
          it->second.push_back(static_cast<uint32_t>(r));
      }
    }
  }

  // Flagged rows come first among a product's holders: a ring shows as a ring.
  std::vector<uint8_t> flagged_row[2];
  {
    std::unordered_set<std::string> flagged[2];
    for (const auto& sc : scores) {
      if (sc.is_fraud) flagged[static_cast<int>(sc.kind)].insert(sc.entity_id);
    }
    for (int k = 0; k < 2; ++k) {
      flagged_row[k].assign(tables[k]->rows(), 0);
      for (size_t r = 0; r < tables[k]->rows() && !flagged[k].empty(); ++r) {
        flagged_row[k][r] = flagged[k].contains(tables[k]->ids[r]) ? 1 : 0;
      }
      for (auto& [p, holders] : product_holders[k]) {
        std::stable_partition(holders.begin(), holders.end(),
                              [&](uint32_t j) { return flagged_row[k][j] != 0; });
      }
    }
  }

  // The neighbourhood of each: (kind, row) of users/sessions, product indices, links between.
  struct Hood {
    std::vector<std::pair<int, uint32_t>> entities;  // kind, row
    std::vector<uint32_t> products;
    std::vector<std::pair<std::string, std::string>> edges;
  };
  std::vector<Hood> hoods(which.size());
  std::set<std::pair<int, std::string>> needed_scores;
  for (size_t n = 0; n < which.size(); ++n) {
    const EntityScore& s = scores[which[n]];
    const int k = static_cast<int>(s.kind);
    const int other = 1 - k;
    const size_t r = row_of(s);
    if (r == SIZE_MAX) continue;
    Hood& h = hoods[n];
    const std::string centre = NodeKey(events::ToString(s.kind), s.entity_id);
    std::set<std::pair<int, uint32_t>> seen{{k, static_cast<uint32_t>(r)}};
    std::set<uint32_t> seen_products;
    const auto room = [&] {
      return static_cast<int>(1 + h.entities.size() + h.products.size()) < limits.neighbours;
    };
    // Adds a user/session (while there is room) and its link; false when it is not drawn.
    const auto add_entity = [&](int kind, uint32_t row, const std::string& from) {
      if (!seen.contains({kind, row})) {
        if (!room()) return false;
        seen.insert({kind, row});
        h.entities.emplace_back(kind, row);
      }
      h.edges.emplace_back(from,
                           NodeKey(events::ToString(static_cast<EntityKind>(kind)), tables[kind]->ids[row]));
      return true;
    };
    // Its counterparts (a user's sessions, a session's users).
    const Csr& counterpart = k == kUser ? links.user_sessions : links.session_users;
    if (r < counterpart.rows()) {
      for (const uint32_t j : counterpart.row(r)) {
        if (!room()) break;
        add_entity(other, j, centre);
      }
    }
    // Its products, and the others of its kind on them.
    if (r < own_products[k]->rows()) {
      for (const uint32_t p : own_products[k]->row(r)) {
        if (!room()) break;
        if (!seen_products.insert(p).second) continue;
        h.products.push_back(p);
        const std::string product =
            NodeKey("product", window.product_id ? window.product_id(p) : std::to_string(p));
        h.edges.emplace_back(centre, product);
        int per_product = 0;
        for (const uint32_t j : product_holders[k][p]) {
          if (j == r || per_product >= 6) continue;
          if (add_entity(k, j, product)) ++per_product;
        }
      }
    }
    for (const auto& [kind, row] : h.entities) needed_scores.emplace(kind, tables[kind]->ids[row]);
  }
  std::map<std::pair<int, std::string>, const EntityScore*> score_of;
  for (const auto& s : scores) {
    const auto key = std::make_pair(static_cast<int>(s.kind), s.entity_id);
    if (needed_scores.contains(key)) score_of.emplace(key, &s);
  }

  // The events of each, in one pass.
  std::vector<std::vector<size_t>> event_rows(which.size());
  if (window.events != nullptr) {
    const WindowEvents& ev = *window.events;
    std::unordered_map<std::string, size_t> slot[2];
    for (size_t n = 0; n < which.size(); ++n)
      slot[static_cast<int>(scores[which[n]].kind)].emplace(scores[which[n]].entity_id, n);
    std::vector<int32_t> user_slot(ev.user_ids.size(), -1), session_slot(ev.session_ids.size(), -1);
    for (size_t u = 0; u < ev.user_ids.size(); ++u) {
      if (auto it = slot[kUser].find(ev.user_ids[u]); it != slot[kUser].end())
        user_slot[u] = static_cast<int32_t>(it->second);
    }
    for (size_t u = 0; u < ev.session_ids.size(); ++u) {
      if (auto it = slot[kSession].find(ev.session_ids[u]); it != slot[kSession].end())
        session_slot[u] = static_cast<int32_t>(it->second);
    }
    for (size_t e = 0; e < ev.size(); ++e) {
      if (const int32_t a = user_slot[ev.user[e]]; a >= 0) event_rows[static_cast<size_t>(a)].push_back(e);
      if (const int32_t b = session_slot[ev.session[e]]; b >= 0)
        event_rows[static_cast<size_t>(b)].push_back(e);
    }
  }

  Populations populations(nodes, links);
  for (size_t n = 0; n < which.size(); ++n) {
    const EntityScore& s = scores[which[n]];
    const int k = static_cast<int>(s.kind);
    Json doc{{"entity_kind", events::ToString(s.kind)},
             {"entity_id", s.entity_id},
             {"minute", minute},
             {"fraud_score", s.fraud_score},
             {"threshold", threshold[k]},
             {"is_fraud", s.is_fraud},
             {"model", model.Label()}};
    // Events: newest first, at most the limit; their times bound the entity's activity.
    auto& rows = event_rows[n];
    int64_t first_ms = window.window_start_ms, last_ms = window.window_end_ms;
    Json list = Json::array();
    if (window.events != nullptr && !rows.empty()) {
      const WindowEvents& ev = *window.events;
      first_ms = INT64_MAX;
      last_ms = INT64_MIN;
      for (const size_t e : rows) {
        first_ms = std::min(first_ms, ev.time_ms[e]);
        last_ms = std::max(last_ms, ev.time_ms[e]);
      }
      std::sort(rows.begin(), rows.end(), [&](size_t a, size_t b) {
        return ev.time_ms[a] != ev.time_ms[b] ? ev.time_ms[a] > ev.time_ms[b] : a > b;
      });
      for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(limits.events); ++i) {
        const size_t e = rows[i];
        list.push_back(Json{
            {"ts_ms", ev.time_ms[e]},
            {"event_type", events::ToString(static_cast<events::EventType>(ev.type[e]))},
            {"status", ev.error[e] ? "ERROR" : "SUCCESS"},
            {"error_code", Optional(ev.error_code[e])},
            {"product_id", ev.product[e] == kNoValue
                               ? Json(nullptr)
                               : Json(std::to_string(ev.product_ids[static_cast<size_t>(ev.product[e])]))},
            {"session_id", ev.session_ids[ev.session[e]]},
            {"user_id", ev.user_ids[ev.user[e]]}});
      }
    }
    doc["first_ms"] = first_ms;
    doc["last_ms"] = last_ms;
    doc["events_total"] = rows.size();
    // Why: each top feature beside the population of its kind.
    Json why = Json::array();
    for (const auto& [feature, value] : ParseTopFeatures(s.top_features)) {
      const auto& sorted = populations.Sorted(s.kind, feature);
      Json item{{"feature", feature}, {"value", value}};
      if (sorted.empty()) {
        item["percentile"] = nullptr;
        item["median"] = nullptr;
        item["text"] = fmt::format("{} {:.4g}", Phrase(feature), value);
      } else {
        // The percentile counts ties half (mid-rank); the words name the larger strict share.
        const auto [below, above] = PercentBelowAbove(sorted, value);
        item["percentile"] = (below + 100 - above) / 2;
        item["median"] = Median(sorted);
        item["text"] = DescribeFeature(feature, value, below, above, s.kind);
      }
      why.push_back(std::move(item));
    }
    doc["why"] = std::move(why);
    doc["events"] = std::move(list);
    // The neighbourhood.
    Json graph_nodes = Json::array();
    graph_nodes.push_back(Json{{"key", NodeKey(events::ToString(s.kind), s.entity_id)},
                               {"kind", events::ToString(s.kind)},
                               {"id", s.entity_id},
                               {"fraud_score", s.fraud_score},
                               {"is_fraud", s.is_fraud},
                               {"center", true}});
    const Hood& h = hoods[n];
    for (const auto& [kind, row] : h.entities) {
      const std::string& id = tables[kind]->ids[row];
      const auto it = score_of.find({kind, id});
      const std::string_view kind_name = events::ToString(static_cast<EntityKind>(kind));
      graph_nodes.push_back(
          Json{{"key", NodeKey(kind_name, id)},
               {"kind", kind_name},
               {"id", id},
               {"fraud_score", it == score_of.end() ? Json(nullptr) : Json(it->second->fraud_score)},
               {"is_fraud", it != score_of.end() && it->second->is_fraud},
               {"center", false}});
    }
    for (const uint32_t p : h.products) {
      const std::string id = window.product_id ? window.product_id(p) : std::to_string(p);
      graph_nodes.push_back(Json{{"key", NodeKey("product", id)},
                                 {"kind", "product"},
                                 {"id", id},
                                 {"fraud_score", nullptr},
                                 {"is_fraud", false},
                                 {"center", false}});
    }
    Json graph_links = Json::array();
    std::set<std::pair<std::string, std::string>> unique(h.edges.begin(), h.edges.end());
    for (const auto& [a, b] : unique)
      graph_links.push_back(Json{{"source", a}, {"target", b}, {"weight", 1}});
    doc["neighbours"] = Json{{"nodes", std::move(graph_nodes)}, {"links", std::move(graph_links)}};
    out.push_back(std::move(doc));
  }
  return out;
}

}  // namespace pfad::fraud
