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

// Population mean and standard deviation (two passes, for stable figures).
template <typename Values>
std::pair<double, double> MeanStd(const Values& values, size_t n) {
  if (n == 0) return {0.0, 0.0};
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += values(i);
  const double mean = sum / static_cast<double>(n);
  double squares = 0;
  for (size_t i = 0; i < n; ++i) squares += (values(i) - mean) * (values(i) - mean);
  return {mean, std::sqrt(squares / static_cast<double>(n))};
}

size_t DistinctCount(std::vector<int32_t>& values) {
  std::sort(values.begin(), values.end());
  return static_cast<size_t>(std::unique(values.begin(), values.end()) - values.begin());
}

// One entity's node features from its events (in time order) and its degree.
void EntityFeatures(const WindowEvents& ev, std::span<const uint32_t> order, size_t degree, double* out,
                    std::vector<int32_t>& scratch) {
  const size_t n = order.size();
  double by_type[events::kEventTypeCount] = {};
  double errors = 0, payment_errors = 0;
  for (const uint32_t e : order) {
    by_type[ev.type[e]] += 1;
    errors += ev.error[e];
    if (ev.error[e] && ev.type[e] == static_cast<uint8_t>(EventType::kPayment)) payment_errors += 1;
  }
  const auto dn = static_cast<double>(n);
  out[0] = dn;
  for (int t = 0; t < events::kEventTypeCount; ++t) {
    out[1 + t] = by_type[t];
    out[6 + t] = Ratio(by_type[t], dn);
  }
  out[11] = errors;
  out[12] = Ratio(errors, dn);
  scratch.clear();
  for (const uint32_t e : order) {
    if (ev.error_code[e] != kNoValue) scratch.push_back(ev.error_code[e]);
  }
  const auto codes = static_cast<double>(DistinctCount(scratch));
  out[13] = codes;
  out[14] = Ratio(codes, errors);
  out[15] = Ratio(payment_errors, by_type[static_cast<int>(EventType::kPayment)]);
  const auto [lat_mean, lat_std] =
      MeanStd([&](size_t i) { return static_cast<double>(ev.latency_ms[order[i]]); }, n);
  out[16] = lat_mean;
  out[17] = lat_std;
  const auto gap = [&](size_t i) {
    return static_cast<double>(ev.time_ms[order[i + 1]] - ev.time_ms[order[i]]);
  };
  const auto [gap_mean, gap_std] = MeanStd(gap, n < 2 ? 0 : n - 1);
  out[18] = gap_mean;
  out[19] = (n < 3 || gap_mean == 0) ? 0.0 : gap_std / gap_mean;
  out[20] = n == 0 ? 0.0 : static_cast<double>(ev.time_ms[order[n - 1]] - ev.time_ms[order[0]]);
  scratch.clear();
  for (const uint32_t e : order) {
    if (ev.product[e] != kNoValue) scratch.push_back(ev.product[e]);
  }
  const auto products = static_cast<double>(DistinctCount(scratch));
  out[21] = products;
  out[22] = Ratio(products, dn);
  out[23] = static_cast<double>(degree);
  out[24] = n == 0 ? 0.0 : static_cast<double>(ev.type[order[0]]);
}

FeatureTable NodeTable(EntityKind kind, const WindowEvents& ev, const std::vector<std::string>& ids,
                       const Csr& events_of, const Csr& neighbours) {
  FeatureTable t;
  t.kind = kind;
  t.names = NodeFeatureNames();
  t.ids = ids;
  t.values.assign(ids.size() * kNodeColumns, 0.0);
  std::vector<int32_t> scratch;
  for (size_t r = 0; r < ids.size(); ++r) {
    EntityFeatures(ev, events_of.row(r), neighbours.row(r).size(), t.values.data() + r * kNodeColumns,
                   scratch);
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
