// A Spark Connect session, driven from C++ over gRPC (the protocol generated at
// build time from the pinned pyspark's descriptors, see cmake/PfadSparkConnect.cmake).
//
// One SparkSession is one server-side Spark session: open it once and reuse it
// for every query (pfad run analyzes every minute through the same session).
// It is safe to use from several threads at once.
#pragma once

#include "pfad/common/config_file.h"
#include "pfad/common/settings.h"
#include "pfad/common/status.h"

#include <arrow/type_fwd.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace spark::connect {
class Plan;
}  // namespace spark::connect

namespace pfad::spark {

// Where the Spark Connect server is: "sc://host[:port][/;key=value;...]" (the
// Spark Connect client URL; port 15002 by default). Accepted parameters:
// user_id, session_id (a UUID to join an existing session). TLS and tokens are
// not supported: the server must be reachable without them (127.0.0.1).
struct SparkRemote {
  std::string host;
  int port = 15002;
  std::string user_id = "pfad";
  std::string session_id;  // empty = a new random UUID

  static Result<SparkRemote> Parse(std::string_view url);
  [[nodiscard]] std::string ToString() const;  // sc://host:port
};

struct SparkConfig {
  std::string remote = "sc://127.0.0.1:15002";
  double connect_timeout_s = 10;   // to reach the server when the session opens
  double request_timeout_s = 300;  // for one query, start to last result

  // Defaults <- [analyze] spark_remote / spark_connect_timeout_s / spark_timeout_s
  // of the config file <- PFAD_SPARK_REMOTE.
  static Result<SparkConfig> Resolve(const ConfigFile& file);
  // The rows Resolve reads (key, environment, default, unit, description); `pfad config` prints them.
  static const SettingsTable<SparkConfig>& Settings();
};

// The result of one query: its Arrow record batches, in order.
using ArrowBatches = std::vector<std::shared_ptr<arrow::RecordBatch>>;

class SparkSession {
 public:
  // Connects to the server and checks that it answers as Spark Connect (its
  // Spark version is logged). IOError, naming the server and what to do, when
  // it cannot be reached within connect_timeout_s.
  static Result<std::shared_ptr<SparkSession>> Open(const SparkConfig& config);
  ~SparkSession();  // releases the server-side session
  SparkSession(const SparkSession&) = delete;
  SparkSession& operator=(const SparkSession&) = delete;

  // Runs a plan and collects its result. A failure inside Spark is returned
  // with Spark's own message (see SparkError for its kind); an unreachable
  // server or a query over request_timeout_s is an IOError.
  [[nodiscard]] Result<ArrowBatches> Execute(const ::spark::connect::Plan& plan) const;

  [[nodiscard]] const std::string& spark_version() const { return spark_version_; }
  [[nodiscard]] const std::string& session_id() const { return remote_.session_id; }
  [[nodiscard]] std::string remote() const { return remote_.ToString(); }

 private:
  struct Rpc;
  SparkSession(SparkRemote remote, SparkConfig config, std::unique_ptr<Rpc> rpc);
  SparkRemote remote_;
  SparkConfig config_;
  std::unique_ptr<Rpc> rpc_;
  std::string spark_version_;
};

// What a failed query tells about its cause, from the gRPC status and the
// Spark error class ("[FAILED_READ_FILE.NO_HINT] ..."): a data error is the
// input's fault (not Parquet, corrupt, missing column) and maps to Invalid;
// anything else that failed inside Spark or on the way there maps to IOError.
enum class SparkErrorKind { kData, kService };
struct SparkError {
  SparkErrorKind kind = SparkErrorKind::kService;
  std::string error_class;  // e.g. "FAILED_READ_FILE.NO_HINT"; empty when unknown
  std::string message;      // Spark's own message
};
// Classifies an error from its gRPC code, its message and the error class the
// server sent (if any).
SparkError ClassifySparkError(int grpc_code, std::string_view message, std::string_view error_class);

}  // namespace pfad::spark
