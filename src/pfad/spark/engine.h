// The Spark engine of `pfad analyze --engine spark` (docs/DESIGN.md, "Analysis job"):
// Spark itself reads the minute object (S3A for s3:// and s3a://, the local
// filesystem for paths) and groups it by (event_type, status); the grouped
// counts come back as Arrow batches over Spark Connect and become the same
// EventCounts the local engine produces. Everything else (no-data cases, report
// name and writing, error kinds) is AnalyzeMinute's, shared by every engine.
#pragma once

#include "pfad/analyze/analyze.h"
#include "pfad/spark/session.h"

#include <functional>
#include <memory>
#include <string>

namespace spark::connect {
class Plan;
}  // namespace spark::connect

namespace pfad::spark {

// The path Spark reads for an object: s3a://bucket/key for s3:// and s3a://
// URIs (Spark's S3A connector), file:///absolute/path for local paths.
Result<std::string> SparkPath(const storage::ObjectUri& uri);

// The query: read the Parquet object at `path`, group by event_type and status,
// count rows: SELECT event_type, status, count(1) AS count ... GROUP BY 1, 2.
::spark::connect::Plan CountByTypeAndStatusPlan(const std::string& path);

// The query's result as counts. Invalid when the batches are not
// (event_type: string, status: string, count: integer).
Result<analyze::EventCounts> CountsFromBatches(const ArrowBatches& batches);

class SparkEventCounter final : public analyze::EventCounter {
 public:
  explicit SparkEventCounter(std::shared_ptr<const SparkSession> session) : session_(std::move(session)) {}
  [[nodiscard]] Result<analyze::EventCounts> Count(const storage::ObjectStore& store,
                                                   const storage::ObjectUri& uri,
                                                   const storage::ObjectInfo& info) const override;
  [[nodiscard]] std::string_view name() const override { return "spark"; }

 private:
  std::shared_ptr<const SparkSession> session_;
};

// The analysis engine `config.engine` names, for every analysis of a process to
// share: the local C++ engine (with config.options) for "local", else Spark over
// one session opened with the settings `spark_config` gives. Those are resolved
// only for Spark, so a bad Spark setting does not fail the local engine. IOError
// when the Spark Connect server cannot be reached.
Result<std::shared_ptr<const analyze::EventCounter>> OpenEventCounter(
    const analyze::AnalyzeConfig& config, const std::function<Result<SparkConfig>()>& spark_config);

}  // namespace pfad::spark
