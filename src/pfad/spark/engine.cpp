#include "pfad/spark/engine.h"

#include <arrow/array.h>
#include <arrow/record_batch.h>

#include <filesystem>
#include <optional>

#include "pfad/events/schema.h"
#include "pfad/spark/string_column.h"
#include "spark/connect/base.pb.h"

namespace pfad::spark {
namespace {

namespace sc = ::spark::connect;
constexpr std::string_view kCountColumn = "count";

sc::Expression Column(std::string_view name) {
  sc::Expression e;
  e.mutable_unresolved_attribute()->set_unparsed_identifier(std::string(name));
  return e;
}

}  // namespace

Result<std::string> SparkPath(const storage::ObjectUri& uri) {
  if (uri.is_s3()) return "s3a://" + uri.bucket + "/" + uri.key;
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(uri.key, ec);
  if (ec) return Status::IOError(uri.ToString(), ": cannot make the path absolute for Spark: ", ec.message());
  return "file://" + absolute.lexically_normal().string();
}

sc::Plan CountByTypeAndStatusPlan(const std::string& path) {
  sc::Plan plan;
  sc::Aggregate* aggregate = plan.mutable_root()->mutable_aggregate();
  sc::Read::DataSource* source = aggregate->mutable_input()->mutable_read()->mutable_data_source();
  source->set_format("parquet");
  source->add_paths(path);
  aggregate->set_group_type(sc::Aggregate::GROUP_TYPE_GROUPBY);
  *aggregate->add_grouping_expressions() = Column(events::column::kEventType);
  *aggregate->add_grouping_expressions() = Column(events::column::kStatus);
  sc::Expression::Alias* alias = aggregate->add_aggregate_expressions()->mutable_alias();
  sc::Expression::UnresolvedFunction* count = alias->mutable_expr()->mutable_unresolved_function();
  count->set_function_name("count");
  count->add_arguments()->mutable_literal()->set_integer(1);
  alias->add_name(std::string(kCountColumn));
  return plan;
}

Result<analyze::EventCounts> CountsFromBatches(const ArrowBatches& batches) {
  analyze::EventCounts counts;
  for (const auto& batch : batches) {
    const auto types = batch->GetColumnByName(std::string(events::column::kEventType));
    const auto statuses = batch->GetColumnByName(std::string(events::column::kStatus));
    const auto rows = batch->GetColumnByName(std::string(kCountColumn));
    if (!types || !statuses || !rows) {
      return Status::Invalid("Spark's result lacks event_type/status/count columns: ",
                             batch->schema()->ToString());
    }
    for (const auto& [name, column] :
         {std::pair{events::column::kEventType, types}, std::pair{events::column::kStatus, statuses}}) {
      if (!IsString(*column->type()) && column->type_id() != arrow::Type::NA) {
        return Status::Invalid("column '", name, "' has type ", column->type()->ToString(),
                               ", expected a string");
      }
    }
    if (rows->type_id() != arrow::Type::INT64) {
      return Status::Invalid("Spark's count column has type ", rows->type()->ToString(), ", expected int64");
    }
    const auto& n = static_cast<const arrow::Int64Array&>(*rows);
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      if (n.IsNull(i)) return Status::Invalid("Spark's result has a null count");
      analyze::AddGroup(counts, StringAt(*types, i), StringAt(*statuses, i), n.Value(i));
    }
  }
  return counts;
}

Result<analyze::EventCounts> SparkEventCounter::Count(const storage::ObjectStore& /*store*/,
                                                      const storage::ObjectUri& uri,
                                                      const storage::ObjectInfo& /*info*/) const {
  PFAD_ASSIGN_OR_RAISE(auto path, SparkPath(uri));
  auto batches = session_->Execute(CountByTypeAndStatusPlan(path));
  if (!batches.ok()) {
    const Status& st = batches.status();
    const std::string cause = st.IsInvalid() ? "not a readable minute file for Spark: " : "";
    return st.WithMessage(uri.ToString(), ": ", cause, st.message());
  }
  auto counts = CountsFromBatches(*batches);
  if (!counts.ok()) return counts.status().WithMessage(uri.ToString(), ": ", counts.status().message());
  return counts;
}

Result<std::shared_ptr<const analyze::EventCounter>> OpenEventCounter(
    const analyze::AnalyzeConfig& config, const std::function<Result<SparkConfig>()>& spark_config) {
  if (config.engine == "local") return std::make_shared<const analyze::LocalEventCounter>(config.options);
  PFAD_ASSIGN_OR_RAISE(auto resolved, spark_config());
  PFAD_ASSIGN_OR_RAISE(auto session, SparkSession::Open(resolved));
  return std::make_shared<const SparkEventCounter>(std::move(session));
}

}  // namespace pfad::spark
