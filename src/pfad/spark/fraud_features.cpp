#include "pfad/spark/fraud_features.h"

#include "pfad/fraud/graph/graph_features.h"

#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <numeric>
#include <optional>
#include <string_view>

#include "pfad/common/log.h"
#include "pfad/events/event.h"
#include "pfad/spark/engine.h"
#include "pfad/spark/string_column.h"
#include "spark/connect/base.pb.h"

namespace pfad::spark {
namespace {

namespace sc = ::spark::connect;
using events::EntityKind;
using events::EventStatus;
using events::EventType;

constexpr std::string_view kIdColumn = "entity_id";

// Feature-name stems of the event types, in the Avro enum's order.
constexpr std::array<std::string_view, events::kEventTypeCount> kTypeStems = {"view", "cart", "checkout",
                                                                              "payment", "search"};

// A named feature and the SQL that computes it: an aggregate over the rows of
// one node (node and product features) in the CTEs below.
struct Feature {
  std::string name;
  std::string sql;
};

std::string_view EntityName(EntityKind kind) { return kind == EntityKind::kUser ? "user" : "session"; }
EntityKind Other(EntityKind kind) {
  return kind == EntityKind::kUser ? EntityKind::kSession : EntityKind::kUser;
}
std::string IdColumn(EntityKind kind) { return fmt::format("{}_id", EntityName(kind)); }

// A SQL string literal (Spark's: backslash escapes, quote escaped).
std::string Literal(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// The number of distinct non-null values of a column. size(collect_set(...)),
// not count(DISTINCT ...): several DISTINCT aggregates in one GROUP BY make
// Spark expand every row once per distinct column and shuffle again.
std::string Distinct(std::string_view column) { return fmt::format("size(collect_set({}))", column); }

std::string TypeIs(EventType type) { return fmt::format("event_type = {}", Literal(events::ToString(type))); }
std::string IsError() { return fmt::format("status = {}", Literal(events::ToString(EventStatus::kError))); }

// num / den, 0 when den is 0 (never evaluates a division by zero).
std::string Ratio(const std::string& num, const std::string& den) {
  return fmt::format("CASE WHEN {1} = 0 THEN 0D ELSE CAST({0} AS DOUBLE) / {1} END", num, den);
}

// FRAUD.md's node features, over rows with the event columns plus latency_ms,
// ts_ms and gap_ms (this node's previous event's ts_ms subtracted; null first).
std::vector<Feature> NodeFeatures(EntityKind kind) {
  const std::string n = "count(1)";
  std::vector<Feature> f;
  f.push_back({"n_events", n});
  for (int t = 0; t < events::kEventTypeCount; ++t) {
    f.push_back(
        {fmt::format("n_{}", kTypeStems[t]), fmt::format("count_if({})", TypeIs(static_cast<EventType>(t)))});
  }
  for (int t = 0; t < events::kEventTypeCount; ++t) {
    f.push_back({fmt::format("share_{}", kTypeStems[t]), Ratio(f[1 + t].sql, n)});
  }
  const std::string n_error = fmt::format("count_if({})", IsError());
  const std::string error_codes = Distinct("error_code");
  const std::string n_payment = f[1 + static_cast<int>(EventType::kPayment)].sql;
  const std::string payment_errors =
      fmt::format("count_if({} AND {})", IsError(), TypeIs(EventType::kPayment));
  const std::string products = Distinct("product_id");
  std::string first_type = "CASE min_by(event_type, struct(ts_ms, event_id))";
  for (int t = 0; t < events::kEventTypeCount; ++t) {
    first_type += fmt::format(" WHEN {} THEN {}", Literal(events::ToString(static_cast<EventType>(t))), t);
  }
  first_type += " END";
  f.insert(
      f.end(),
      {
          {"n_error", n_error},
          {"share_error", Ratio(n_error, n)},
          {"error_codes", error_codes},
          {"error_code_diversity", Ratio(error_codes, n_error)},
          {"payment_error_share", Ratio(payment_errors, n_payment)},
          {"latency_mean", "avg(latency_ms)"},
          {"latency_std", "stddev_pop(latency_ms)"},
          {"gap_mean_ms", "CASE WHEN count(1) < 2 THEN 0D ELSE avg(gap_ms) END"},
          {"gap_cv",
           "CASE WHEN count(1) < 3 OR avg(gap_ms) = 0 THEN 0D ELSE stddev_pop(gap_ms) / avg(gap_ms) END"},
          {"span_ms", "max(ts_ms) - min(ts_ms)"},
          {"products", products},
          {"products_per_event", Ratio(products, n)},
          {"degree", Distinct(IdColumn(Other(kind)))},
          {"first_type", first_type},
      });
  return f;
}

// FRAUD.md's product features, over the events that name the product.
std::vector<Feature> ProductFeatures() {
  return {
      {"p_events", "count(1)"},
      {"p_users", Distinct("user_id")},
      {"p_sessions", Distinct("session_id")},
      {"p_share_cart", Ratio(fmt::format("count_if({})", TypeIs(EventType::kAddToCart)), "count(1)")},
  };
}

std::vector<std::string> Names(const std::vector<Feature>& features) {
  std::vector<std::string> names;
  for (const Feature& f : features) names.push_back(f.name);
  return names;
}

// "<prefix>_mean_<f>" for every f, then "<prefix>_max_<f>".
std::vector<std::string> NeighbourNames(std::string_view prefix, const std::vector<std::string>& features) {
  std::vector<std::string> names;
  for (const std::string_view stat : {"mean", "max"}) {
    for (const std::string& f : features) names.push_back(fmt::format("{}_{}_{}", prefix, stat, f));
  }
  return names;
}

// parquet.`path`, the path escaped for Hadoop's globbing (backslash before a
// glob character) and for a backquoted identifier (backquote doubled).
std::string ParquetRelation(std::string_view path) {
  std::string out = "parquet.`";
  for (const char c : path) {
    if (std::string_view("\\*?[]{}").find(c) != std::string_view::npos) out += '\\';
    if (c == '`') out += '`';
    out += c;
  }
  return out + "`";
}

constexpr std::string_view kEventColumns =
    "event_id, user_id, session_id, event_type, event_timestamp, request_latency_ms, status, error_code, "
    "product_id";

// CTE `<kind>_nodes`: id, then the node features as doubles.
std::string NodesCte(EntityKind kind) {
  const std::string id = IdColumn(kind);
  std::string sql = fmt::format("{}_nodes AS (\n  SELECT {} AS id", EntityName(kind), id);
  for (const Feature& f : NodeFeatures(kind))
    sql += fmt::format(",\n    CAST({} AS DOUBLE) AS {}", f.sql, f.name);
  sql += fmt::format(
      "\n  FROM (SELECT *, ts_ms - lag(ts_ms) OVER (PARTITION BY {0} ORDER BY ts_ms, event_id) AS gap_ms "
      "FROM events)"
      "\n  GROUP BY {0}\n)",
      id);
  return sql;
}

std::string ProductNodesCte() {
  std::string sql = "product_nodes AS (\n  SELECT product_id AS id";
  for (const Feature& f : ProductFeatures())
    sql += fmt::format(",\n    CAST({} AS DOUBLE) AS {}", f.sql, f.name);
  return sql + "\n  FROM events WHERE product_id IS NOT NULL\n  GROUP BY product_id\n)";
}

// CTE `<name>`: id, then mean and max of `features` over the distinct
// neighbours (`neighbour_column` of the events) found in `nodes`.
std::string NeighboursCte(std::string_view name, EntityKind kind, std::string_view neighbour_column,
                          std::string_view nodes, std::string_view prefix,
                          const std::vector<std::string>& features) {
  std::string sql = fmt::format("{} AS (\n  SELECT pair.id", name);
  for (const std::string_view stat : {"mean", "max"}) {
    const std::string_view function = stat == "mean" ? "avg" : "max";
    for (const std::string& f : features) {
      sql += fmt::format(",\n    {}(node.{}) AS {}_{}_{}", function, f, prefix, stat, f);
    }
  }
  sql += fmt::format(
      "\n  FROM (SELECT DISTINCT {0} AS id, {1} AS neighbour FROM events WHERE {1} IS NOT NULL) pair"
      "\n  JOIN {2} node ON node.id = pair.neighbour\n  GROUP BY pair.id\n)",
      IdColumn(kind), neighbour_column, nodes);
  return sql;
}

}  // namespace

std::string GraphFeaturesSql(EntityKind kind, const std::vector<std::string>& paths) {
  const std::string_view self = EntityName(kind);
  const std::string_view other = EntityName(Other(kind));
  const std::vector<std::string> node_names = Names(NodeFeatures(kind));
  const std::vector<std::string> other_names = Names(NodeFeatures(Other(kind)));
  const std::vector<std::string> product_names = Names(ProductFeatures());

  std::string sql =
      "WITH events AS (\n  SELECT event_id, user_id, session_id, event_type, status, error_code, product_id,";
  sql +=
      "\n    CAST(request_latency_ms AS DOUBLE) AS latency_ms, unix_millis(event_timestamp) AS ts_ms\n  FROM "
      "(";
  for (size_t i = 0; i < paths.size(); ++i) {
    sql += fmt::format("{}\n    SELECT {} FROM {}", i == 0 ? "" : "\n    UNION ALL", kEventColumns,
                       ParquetRelation(paths[i]));
  }
  sql += "\n  )\n),\n";
  sql += NodesCte(kind) + ",\n";
  sql += NodesCte(Other(kind)) + ",\n";
  sql += ProductNodesCte() + ",\n";
  const std::string entity_neighbours = fmt::format("{}_{}_neighbours", self, other);
  const std::string product_neighbours = fmt::format("{}_product_neighbours", self);
  sql += NeighboursCte(entity_neighbours, kind, IdColumn(Other(kind)), fmt::format("{}_nodes", other), other,
                       other_names) +
         ",\n";
  sql +=
      NeighboursCte(product_neighbours, kind, "product_id", "product_nodes", "product", product_names) + "\n";

  sql += fmt::format("SELECT self.id AS {}", kIdColumn);
  for (const std::string& f : node_names) sql += fmt::format(",\n  self.{}", f);
  for (const auto& [alias, names] : {std::pair{"by_entity", NeighbourNames(other, other_names)},
                                     std::pair{"by_product", NeighbourNames("product", product_names)}}) {
    for (const std::string& f : names) sql += fmt::format(",\n  coalesce({0}.{1}, 0D) AS {1}", alias, f);
  }
  sql += fmt::format(
      "\nFROM {0}_nodes self\nLEFT JOIN {1} by_entity ON by_entity.id = self.id"
      "\nLEFT JOIN {2} by_product ON by_product.id = self.id\nORDER BY {3}\n",
      self, entity_neighbours, product_neighbours, kIdColumn);
  return sql;
}

Result<fraud::FeatureTable> FeatureTableFromBatches(EntityKind kind, const ArrowBatches& batches) {
  const std::vector<std::string> names = fraud::GraphFeatureNames(kind);
  std::vector<std::string> ids;
  std::vector<double> values;
  for (const auto& batch : batches) {
    const arrow::Schema& schema = *batch->schema();
    if (schema.num_fields() != static_cast<int>(names.size()) + 1 || schema.field(0)->name() != kIdColumn ||
        !IsString(*schema.field(0)->type())) {
      return Status::Invalid("Spark's ", EntityName(kind), " features have columns ", schema.ToString(),
                             ", expected ", kIdColumn, " (string) then the ", names.size(),
                             " graph features");
    }
    std::vector<const arrow::DoubleArray*> columns;
    for (size_t c = 0; c < names.size(); ++c) {
      const auto& field = schema.field(static_cast<int>(c) + 1);
      if (field->name() != names[c] || field->type()->id() != arrow::Type::DOUBLE) {
        return Status::Invalid("Spark's ", EntityName(kind), " features: column ", c + 1, " is ",
                               field->ToString(), ", expected ", names[c], ": double");
      }
      columns.push_back(static_cast<const arrow::DoubleArray*>(batch->column(static_cast<int>(c) + 1).get()));
    }
    const arrow::Array& id_column = *batch->column(0);
    for (int64_t r = 0; r < batch->num_rows(); ++r) {
      const auto id = StringAt(id_column, r);
      if (!id) return Status::Invalid("Spark's ", EntityName(kind), " features have a null ", kIdColumn);
      ids.emplace_back(*id);
      for (size_t c = 0; c < names.size(); ++c) {
        if (columns[c]->IsNull(r)) {
          return Status::Invalid("Spark's ", EntityName(kind), " features have a null ", names[c], " for ",
                                 *id);
        }
        values.push_back(columns[c]->Value(r));
      }
    }
  }

  fraud::FeatureTable table{.kind = kind, .names = names};
  std::vector<size_t> order(ids.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a] < ids[b]; });
  table.ids.reserve(ids.size());
  table.values.reserve(values.size());
  for (const size_t r : order) {
    if (!table.ids.empty() && table.ids.back() == ids[r]) {
      return Status::Invalid("Spark's ", EntityName(kind), " features have two rows for ", ids[r]);
    }
    table.ids.push_back(std::move(ids[r]));
    table.values.insert(table.values.end(), values.begin() + static_cast<ptrdiff_t>(r * names.size()),
                        values.begin() + static_cast<ptrdiff_t>((r + 1) * names.size()));
  }
  return table;
}

Result<std::vector<fraud::FeatureTable>> SparkGraphFeatures(
    const SparkSession& session, const std::vector<storage::ObjectUri>& minute_objects) {
  std::vector<std::string> paths;
  for (const storage::ObjectUri& uri : minute_objects) {
    PFAD_ASSIGN_OR_RAISE(auto path, SparkPath(uri));
    paths.push_back(std::move(path));
  }
  std::vector<fraud::FeatureTable> tables;
  for (const EntityKind kind : {EntityKind::kUser, EntityKind::kSession}) {
    if (paths.empty()) {
      tables.push_back({.kind = kind, .names = fraud::GraphFeatureNames(kind)});
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    sc::Plan plan;
    plan.mutable_root()->mutable_sql()->set_query(GraphFeaturesSql(kind, paths));
    auto batches = session.Execute(plan);
    if (!batches.ok()) {
      const Status& st = batches.status();
      return st.WithMessage(
          EntityName(kind), " features of the window ", minute_objects.front().ToString(),
          minute_objects.size() > 1 ? fmt::format(" (+{} objects)", minute_objects.size() - 1) : "", ": ",
          st.message());
    }
    PFAD_ASSIGN_OR_RAISE(auto table, FeatureTableFromBatches(kind, *batches));
    Logger("spark")->info("graph features kind={} objects={} rows={} seconds={:.2f}", EntityName(kind),
                          paths.size(), table.rows(),
                          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    tables.push_back(std::move(table));
  }
  return tables;
}

Result<fraud::WindowFeatureTables> ComputeWindowFeatures(
    std::string_view engine, const fraud::MinuteWindow& window,
    const std::function<Result<SparkConfig>()>& spark_config, const Clock& clock) {
  if (engine != "spark") return fraud::ComputeWindowFeatures(window, clock);
  PFAD_ASSIGN_OR_RAISE(auto resolved, spark_config());
  PFAD_ASSIGN_OR_RAISE(auto session, SparkSession::Open(resolved));
  fraud::WindowFeatureTables out;
  PFAD_ASSIGN_OR_RAISE(out.tables, SparkGraphFeatures(*session, window.minutes));
  return out;
}

}  // namespace pfad::spark
