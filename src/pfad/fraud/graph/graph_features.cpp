#include "pfad/fraud/graph/graph_features.h"

#include <arrow/api.h>
#include <parquet/arrow/writer.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <thread>

namespace pfad::fraud {
namespace {

using events::EntityKind;
using events::EventType;

constexpr size_t kNodeColumns = 25;
constexpr size_t kProductColumns = 4;

double Ratio(double num, double den) { return den == 0 ? 0.0 : num / den; }

size_t DistinctCount(std::vector<int32_t>& values) {
  std::sort(values.begin(), values.end());
  return static_cast<size_t>(std::unique(values.begin(), values.end()) - values.begin());
}

// Population mean and standard deviation of n values from their sum and sum of squares,
// the variance's numerator computed exactly in integers.
std::pair<double, double> MeanStd(int64_t n, int64_t sum, Int128 squares) {
  if (n <= 0) return {0.0, 0.0};
  const Int128 numerator = static_cast<Int128>(n) * squares - static_cast<Int128>(sum) * sum;
  const auto dn = static_cast<double>(n);
  const double variance = numerator <= 0 ? 0.0 : static_cast<double>(numerator) / (dn * dn);
  return {static_cast<double>(sum) / dn, std::sqrt(variance)};
}

}  // namespace

NodeAccumulator AccumulateEvents(const WindowEvents& ev, std::span<const uint32_t> order, size_t degree,
                                 std::vector<int32_t>& scratch) {
  NodeAccumulator a;
  a.n = static_cast<int64_t>(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const uint32_t e = order[i];
    a.by_type[ev.type[e]] += 1;
    a.errors += ev.error[e];
    if (ev.error[e] && ev.type[e] == static_cast<uint8_t>(EventType::kPayment)) a.payment_errors += 1;
    a.latency_sum += ev.latency_ms[e];
    a.latency_squares += static_cast<Int128>(ev.latency_ms[e]) * ev.latency_ms[e];
    if (i > 0) {
      const int64_t gap = ev.time_ms[e] - ev.time_ms[order[i - 1]];
      a.gap_squares += static_cast<Int128>(gap) * gap;
    }
  }
  if (!order.empty()) {
    a.first_ms = ev.time_ms[order.front()];
    a.last_ms = ev.time_ms[order.back()];
    a.first_id = ev.event_id[order.front()];
    a.first_type = ev.type[order.front()];
  }
  scratch.clear();
  for (const uint32_t e : order) {
    if (ev.error_code[e] != kNoValue) scratch.push_back(ev.error_code[e]);
  }
  a.error_codes = static_cast<int64_t>(DistinctCount(scratch));
  scratch.clear();
  for (const uint32_t e : order) {
    if (ev.product[e] != kNoValue) scratch.push_back(ev.product[e]);
  }
  a.products = static_cast<int64_t>(DistinctCount(scratch));
  a.degree = static_cast<int64_t>(degree);
  return a;
}

namespace {

FeatureTable NodeTable(EntityKind kind, const WindowEvents& ev, const std::vector<std::string>& ids,
                       const Csr& events_of, const Csr& neighbours) {
  FeatureTable t;
  t.kind = kind;
  t.names = NodeFeatureNames();
  t.ids = ids;
  t.values.assign(ids.size() * kNodeColumns, 0.0);
  std::vector<int32_t> scratch;
  for (size_t r = 0; r < ids.size(); ++r) {
    NodeFeaturesOf(AccumulateEvents(ev, events_of.row(r), neighbours.row(r).size(), scratch),
                   t.values.data() + r * kNodeColumns);
  }
  return t;
}

// Appends mean and max over each row's neighbours of `columns` features.
void AppendAggregates(const Csr& neighbours, const double* features, size_t columns, FeatureTable& table,
                      size_t at) {
  const size_t width = table.cols();
  for (size_t r = 0; r < table.rows(); ++r) {
    double* mean = table.values.data() + r * width + at;
    double* max = mean + columns;
    const auto row = neighbours.row(r);
    if (row.empty()) continue;  // zeros
    for (size_t c = 0; c < columns; ++c) max[c] = -INFINITY;
    for (const uint32_t n : row) {
      const double* f = features + static_cast<size_t>(n) * columns;
      for (size_t c = 0; c < columns; ++c) {
        mean[c] += f[c];
        max[c] = std::max(max[c], f[c]);
      }
    }
    for (size_t c = 0; c < columns; ++c) mean[c] /= static_cast<double>(row.size());
  }
}

FeatureTable WithAggregates(const FeatureTable& node, const FeatureTable& other,
                            const std::vector<double>& products, const Csr& to_other,
                            const Csr& to_products) {
  FeatureTable t;
  t.kind = node.kind;
  t.names = GraphFeatureNames(node.kind);
  t.ids = node.ids;
  const size_t width = t.names.size();
  t.values.assign(node.rows() * width, 0.0);
  for (size_t r = 0; r < node.rows(); ++r) {
    std::copy_n(node.row(r), kNodeColumns, t.values.data() + r * width);
  }
  AppendAggregates(to_other, other.values.data(), kNodeColumns, t, kNodeColumns);
  AppendAggregates(to_products, products.data(), kProductColumns, t, 3 * kNodeColumns);
  return t;
}

}  // namespace

void NodeFeaturesOf(const NodeAccumulator& a, double* out) {
  const auto dn = static_cast<double>(a.n);
  out[0] = dn;
  for (int t = 0; t < events::kEventTypeCount; ++t) {
    out[1 + t] = static_cast<double>(a.by_type[t]);
    out[6 + t] = Ratio(out[1 + t], dn);
  }
  out[11] = static_cast<double>(a.errors);
  out[12] = Ratio(out[11], dn);
  out[13] = static_cast<double>(a.error_codes);
  out[14] = Ratio(out[13], out[11]);
  out[15] = Ratio(static_cast<double>(a.payment_errors),
                  static_cast<double>(a.by_type[static_cast<int>(EventType::kPayment)]));
  const auto [lat_mean, lat_std] = MeanStd(a.n, a.latency_sum, a.latency_squares);
  out[16] = lat_mean;
  out[17] = lat_std;
  // The gaps of n events in time order sum to last - first.
  const int64_t gaps = a.n < 2 ? 0 : a.n - 1;
  const auto [gap_mean, gap_std] = MeanStd(gaps, gaps == 0 ? 0 : a.last_ms - a.first_ms, a.gap_squares);
  out[18] = gap_mean;
  out[19] = (a.n < 3 || gap_mean == 0) ? 0.0 : gap_std / gap_mean;
  out[20] = a.n == 0 ? 0.0 : static_cast<double>(a.last_ms - a.first_ms);
  out[21] = static_cast<double>(a.products);
  out[22] = Ratio(out[21], dn);
  out[23] = static_cast<double>(a.degree);
  out[24] = a.n == 0 ? 0.0 : static_cast<double>(a.first_type);
}

const std::vector<std::string>& NodeFeatureNames() {
  static const std::vector<std::string> names = {"n_events",
                                                 "n_view",
                                                 "n_cart",
                                                 "n_checkout",
                                                 "n_payment",
                                                 "n_search",
                                                 "share_view",
                                                 "share_cart",
                                                 "share_checkout",
                                                 "share_payment",
                                                 "share_search",
                                                 "n_error",
                                                 "share_error",
                                                 "error_codes",
                                                 "error_code_diversity",
                                                 "payment_error_share",
                                                 "latency_mean",
                                                 "latency_std",
                                                 "gap_mean_ms",
                                                 "gap_cv",
                                                 "span_ms",
                                                 "products",
                                                 "products_per_event",
                                                 "degree",
                                                 "first_type"};
  return names;
}

const std::vector<std::string>& ProductFeatureNames() {
  static const std::vector<std::string> names = {"p_events", "p_users", "p_sessions", "p_share_cart"};
  return names;
}

std::vector<std::string> GraphFeatureNames(EntityKind kind) {
  std::vector<std::string> names = NodeFeatureNames();
  const std::string other = kind == EntityKind::kUser ? "session" : "user";
  for (const char* stat : {"mean", "max"}) {
    for (const auto& f : NodeFeatureNames()) names.push_back(other + "_" + stat + "_" + f);
  }
  for (const char* stat : {"mean", "max"}) {
    for (const auto& f : ProductFeatureNames()) names.push_back(std::string("product_") + stat + "_" + f);
  }
  return names;
}

NodeFeatures ComputeNodeFeatures(const WindowEvents& events, const WindowGraph& graph) {
  NodeFeatures out;
  {
    // Users on another thread, sessions on this one.
    std::jthread users([&] {
      out.users =
          NodeTable(EntityKind::kUser, events, events.user_ids, graph.user_events, graph.edges.user_sessions);
    });
    out.sessions = NodeTable(EntityKind::kSession, events, events.session_ids, graph.session_events,
                             graph.edges.session_users);
  }
  const size_t products = events.product_ids.size();
  out.products.assign(products * kProductColumns, 0.0);
  for (size_t p = 0; p < products; ++p) {
    double* f = out.products.data() + p * kProductColumns;
    const auto row = graph.product_events.row(p);
    double carts = 0;
    for (const uint32_t e : row) carts += events.type[e] == static_cast<uint8_t>(EventType::kAddToCart);
    f[0] = static_cast<double>(row.size());
    f[1] = static_cast<double>(graph.edges.product_users.row(p).size());
    f[2] = static_cast<double>(graph.edges.product_sessions.row(p).size());
    f[3] = Ratio(carts, f[0]);
  }
  return out;
}

GraphFeatures WithNeighbours(const NodeFeatures& nodes, const Adjacency& links) {
  GraphFeatures out;
  out.users =
      WithAggregates(nodes.users, nodes.sessions, nodes.products, links.user_sessions, links.user_products);
  out.sessions = WithAggregates(nodes.sessions, nodes.users, nodes.products, links.session_users,
                                links.session_products);
  return out;
}

FeatureTable SortedById(const FeatureTable& table) {
  std::vector<size_t> order(table.rows());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return table.ids[a] < table.ids[b]; });
  return table.Rows(order);
}

Status WriteFeatureTable(const storage::ObjectStore& store, const storage::ObjectUri& uri,
                         const FeatureTable& table) {
  arrow::FieldVector fields{arrow::field("entity_id", arrow::utf8(), false)};
  arrow::ArrayVector columns;
  arrow::StringBuilder ids;
  PFAD_RETURN_NOT_OK(ids.AppendValues(table.ids));
  PFAD_ASSIGN_OR_RAISE(auto id_array, ids.Finish());
  columns.push_back(id_array);
  for (size_t c = 0; c < table.cols(); ++c) {
    arrow::DoubleBuilder values;
    PFAD_RETURN_NOT_OK(values.Reserve(static_cast<int64_t>(table.rows())));
    for (size_t r = 0; r < table.rows(); ++r) values.UnsafeAppend(table.at(r, c));
    PFAD_ASSIGN_OR_RAISE(auto array, values.Finish());
    fields.push_back(arrow::field(table.names[c], arrow::float64(), false));
    columns.push_back(array);
  }
  auto arrow_table = arrow::Table::Make(arrow::schema(fields), columns);
  PFAD_ASSIGN_OR_RAISE(auto writer, store.OpenForWrite(uri));
  PFAD_RETURN_NOT_OK(parquet::arrow::WriteTable(*arrow_table, arrow::default_memory_pool(), writer->stream(),
                                                std::max<int64_t>(1, arrow_table->num_rows())));
  return writer->Commit();
}

}  // namespace pfad::fraud
