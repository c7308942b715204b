// SparkSession against an in-process fake Spark Connect server (the generated
// gRPC service, answering as the real one does), and the pure parts: URL
// parsing and error classification. The real server is exercised by
// tests/integration/test_spark.py.
#include "pfad/spark/session.h"

#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/writer.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <mutex>

#include "pfad/spark/engine.h"
#include "spark/connect/base.grpc.pb.h"

namespace pfad::spark {
namespace {

namespace sc = ::spark::connect;

TEST(SparkRemote, ParsesHostPortAndParameters) {
  auto r = SparkRemote::Parse("sc://127.0.0.1:15002");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->host, "127.0.0.1");
  EXPECT_EQ(r->port, 15002);
  EXPECT_EQ(r->user_id, "pfad");
  EXPECT_EQ(r->ToString(), "sc://127.0.0.1:15002");

  r = SparkRemote::Parse("sc://spark-host/;user_id=etl;session_id=0c2b3a52-0d0e-4a4f-9a55-1b2c3d4e5f60");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->host, "spark-host");
  EXPECT_EQ(r->port, 15002);  // Spark Connect's default
  EXPECT_EQ(r->user_id, "etl");
  EXPECT_EQ(r->session_id, "0c2b3a52-0d0e-4a4f-9a55-1b2c3d4e5f60");
}

TEST(SparkRemote, RejectsWhatItCannotHonour) {
  for (const char* bad :
       {"127.0.0.1:15002", "http://127.0.0.1:15002", "sc://", "sc://:15002", "sc://h:0", "sc://h:99999",
        "sc://h:12x", "sc://h/;token=abc", "sc://h/;use_ssl=true", "sc://h/;x"}) {
    const auto r = SparkRemote::Parse(bad);
    EXPECT_TRUE(r.status().IsInvalid()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status();
    }
  }
}

TEST(ClassifySparkError, DataErrorsBlameTheInput) {
  for (const char* message :
       {"[FAILED_READ_FILE.CANNOT_READ_FILE_FOOTER] Encountered error while reading file s3a://b/x.parquet.",
        "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter with name "
        "`event_type` "
        "cannot be resolved.",
        "[UNABLE_TO_INFER_SCHEMA] Unable to infer schema for Parquet."}) {
    const SparkError e = ClassifySparkError(static_cast<int>(grpc::StatusCode::INTERNAL), message, "");
    EXPECT_EQ(e.kind, SparkErrorKind::kData) << message;
    EXPECT_EQ(e.message, message);
  }
  // The class from the error details counts even when the message lacks it.
  const SparkError e = ClassifySparkError(static_cast<int>(grpc::StatusCode::INTERNAL), "Could not do it",
                                          "FAILED_READ_FILE.NO_HINT");
  EXPECT_EQ(e.kind, SparkErrorKind::kData);
  EXPECT_EQ(e.error_class, "FAILED_READ_FILE.NO_HINT");
  EXPECT_EQ(e.message, "[FAILED_READ_FILE.NO_HINT] Could not do it");
}

TEST(ClassifySparkError, EverythingElseIsTheService) {
  EXPECT_EQ(
      ClassifySparkError(static_cast<int>(grpc::StatusCode::UNAVAILABLE), "[FAILED_READ_FILE] x", "").kind,
      SparkErrorKind::kService);
  EXPECT_EQ(ClassifySparkError(static_cast<int>(grpc::StatusCode::INTERNAL),
                               "java.nio.file.AccessDeniedException: s3a://b/x.parquet: getFileStatus", "")
                .kind,
            SparkErrorKind::kService);
  EXPECT_EQ(
      ClassifySparkError(static_cast<int>(grpc::StatusCode::INTERNAL), "[INTERNAL_ERROR] boom", "").kind,
      SparkErrorKind::kService);
}

// google.rpc.Status{code, message, details: [Any{ErrorInfo{reason, metadata{errorClass}}}]},
// serialized the way the Spark Connect server sends it in grpc-status-details-bin.
std::string StatusDetails(int code, const std::string& message, const std::string& error_class) {
  const auto message_bytes = [](auto&& write) {
    std::string out;
    {
      google::protobuf::io::StringOutputStream stream(&out);
      google::protobuf::io::CodedOutputStream coded(&stream);
      write(coded);
    }
    return out;
  };
  const auto field = [](google::protobuf::io::CodedOutputStream& c, uint32_t number,
                        const std::string& bytes) {
    c.WriteTag((number << 3) | 2);
    c.WriteVarint32(static_cast<uint32_t>(bytes.size()));
    c.WriteString(bytes);
  };
  const std::string entry = message_bytes([&](auto& c) {
    field(c, 1, "errorClass");
    field(c, 2, error_class);
  });
  const std::string info = message_bytes([&](auto& c) {
    field(c, 1, "org.apache.spark.SparkException");
    field(c, 2, "org.apache.spark");
    field(c, 3, entry);
  });
  const std::string any = message_bytes([&](auto& c) {
    field(c, 1, "type.googleapis.com/google.rpc.ErrorInfo");
    field(c, 2, info);
  });
  return message_bytes([&](auto& c) {
    c.WriteTag((1 << 3) | 0);
    c.WriteVarint32(static_cast<uint32_t>(code));
    field(c, 2, message);
    field(c, 3, any);
  });
}

std::string IpcStream(const std::shared_ptr<arrow::RecordBatch>& batch) {
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  auto writer = arrow::ipc::MakeStreamWriter(sink, batch->schema()).ValueOrDie();
  EXPECT_TRUE(writer->WriteRecordBatch(*batch).ok());
  EXPECT_TRUE(writer->Close().ok());
  return sink->Finish().ValueOrDie()->ToString();
}

std::shared_ptr<arrow::RecordBatch> Groups(
    const std::vector<std::tuple<const char*, const char*, int64_t>>& rows) {
  arrow::StringBuilder types, statuses;
  arrow::Int64Builder counts;
  for (const auto& [type, status, n] : rows) {
    EXPECT_TRUE((type ? types.Append(type) : types.AppendNull()).ok());
    EXPECT_TRUE((status ? statuses.Append(status) : statuses.AppendNull()).ok());
    EXPECT_TRUE(counts.Append(n).ok());
  }
  auto schema =
      arrow::schema({arrow::field("event_type", arrow::utf8()), arrow::field("status", arrow::utf8()),
                     arrow::field("count", arrow::int64(), false)});
  return arrow::RecordBatch::Make(
      schema, static_cast<int64_t>(rows.size()),
      {types.Finish().ValueOrDie(), statuses.Finish().ValueOrDie(), counts.Finish().ValueOrDie()});
}

// Answers like a Spark Connect server: a version, config, releases, and for
// ExecutePlan either `results` (each an Arrow IPC stream) or `failure`.
class FakeSparkConnect final : public sc::SparkConnectService::Service {
 public:
  // The test thread and gRPC's server threads share these: always under `mu` (gRPC's
  // own synchronisation is invisible to ThreadSanitizer).
  std::mutex mu;
  std::vector<std::string> results;
  grpc::Status failure = grpc::Status::OK;
  std::vector<sc::ExecutePlanRequest> executed;
  std::vector<std::string> config_keys;

  void SetResults(std::vector<std::string> r) {
    std::lock_guard lock(mu);
    results = std::move(r);
  }
  void SetFailure(grpc::Status f) {
    std::lock_guard lock(mu);
    failure = std::move(f);
  }
  std::vector<sc::ExecutePlanRequest> Executed() {
    std::lock_guard lock(mu);
    return executed;
  }
  std::vector<std::string> ConfigKeys() {
    std::lock_guard lock(mu);
    return config_keys;
  }
  std::atomic<int> released{0};
  std::atomic<int> delay_ms{0};

  grpc::Status AnalyzePlan(grpc::ServerContext*, const sc::AnalyzePlanRequest* request,
                           sc::AnalyzePlanResponse* response) override {
    if (!request->has_spark_version()) return {grpc::StatusCode::UNIMPLEMENTED, "only spark_version"};
    response->set_session_id(request->session_id());
    response->mutable_spark_version()->set_version("4.3.0-fake");
    return grpc::Status::OK;
  }
  grpc::Status Config(grpc::ServerContext*, const sc::ConfigRequest* request, sc::ConfigResponse*) override {
    std::lock_guard lock(mu);
    for (const auto& pair : request->operation().set().pairs())
      config_keys.push_back(pair.key() + "=" + pair.value());
    return grpc::Status::OK;
  }
  grpc::Status ReleaseSession(grpc::ServerContext*, const sc::ReleaseSessionRequest*,
                              sc::ReleaseSessionResponse*) override {
    ++released;
    return grpc::Status::OK;
  }
  grpc::Status ExecutePlan(grpc::ServerContext* context, const sc::ExecutePlanRequest* request,
                           grpc::ServerWriter<sc::ExecutePlanResponse>* writer) override {
    std::vector<std::string> to_send;
    grpc::Status fail;
    {
      std::lock_guard lock(mu);
      executed.push_back(*request);
      to_send = results;
      fail = failure;
    }
    for (int waited = 0; waited < delay_ms && !context->IsCancelled(); waited += 10) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!fail.ok()) return fail;
    sc::ExecutePlanResponse response;
    response.set_session_id(request->session_id());
    response.mutable_schema();  // the real server sends the schema first
    writer->Write(response);
    for (const auto& ipc : to_send) {
      response.Clear();
      response.mutable_arrow_batch()->set_data(ipc);
      writer->Write(response);
    }
    response.Clear();
    response.mutable_result_complete();
    writer->Write(response);
    return grpc::Status::OK;
  }
};

class SparkSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_);
    config_.remote = "sc://127.0.0.1:" + std::to_string(port_);
    config_.connect_timeout_s = 5;
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1)); }

  FakeSparkConnect fake_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  SparkConfig config_;
};

TEST_F(SparkSessionTest, OpenEventCounterOpensASessionForTheSparkEngine) {
  analyze::AnalyzeConfig config;
  config.engine = "spark";
  const auto engine = OpenEventCounter(config, [this]() -> Result<SparkConfig> { return config_; });
  ASSERT_TRUE(engine.ok()) << engine.status();
  ASSERT_NE(*engine, nullptr);
  EXPECT_EQ((*engine)->name(), "spark");
  EXPECT_EQ(fake_.ConfigKeys(), std::vector<std::string>{"spark.sql.caseSensitive=true"});
}

TEST_F(SparkSessionTest, OpensOneSessionAndReusesItForEveryQuery) {
  auto session = SparkSession::Open(config_);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ((*session)->spark_version(), "4.3.0-fake");
  EXPECT_EQ(fake_.ConfigKeys(), std::vector<std::string>{"spark.sql.caseSensitive=true"});
  fake_.SetResults({IpcStream(Groups({{"SEARCH", "ERROR", 3}, {"SEARCH", "SUCCESS", 17}}))});
  const auto plan = CountByTypeAndStatusPlan("s3a://b/2025-01-15_10-00.parquet");
  for (int i = 0; i < 3; ++i) {
    auto batches = (*session)->Execute(plan);
    ASSERT_TRUE(batches.ok()) << batches.status();
    ASSERT_EQ(batches->size(), 1u);
    EXPECT_EQ((*batches)[0]->num_rows(), 2);
  }
  const auto executed = fake_.Executed();
  ASSERT_EQ(executed.size(), 3u);
  for (const auto& request : executed) {
    EXPECT_EQ(request.session_id(), (*session)->session_id());
    EXPECT_EQ(request.user_context().user_id(), "pfad");
    EXPECT_EQ(request.plan().root().aggregate().input().read().data_source().paths(0),
              "s3a://b/2025-01-15_10-00.parquet");
  }
  EXPECT_NE(executed[0].operation_id(), executed[1].operation_id());
  EXPECT_EQ((*session)->session_id().size(), 36u);
  session->reset();
  EXPECT_EQ(fake_.released.load(), 1);  // the server-side session is released on close
}

TEST_F(SparkSessionTest, CollectsEveryBatchOfTheStream) {
  fake_.SetResults({IpcStream(Groups({{"SEARCH", "ERROR", 3}})),
                    IpcStream(Groups({{"PAYMENT", "SUCCESS", 4}})), IpcStream(Groups({}))});
  auto session = SparkSession::Open(config_);
  ASSERT_TRUE(session.ok()) << session.status();
  auto batches = (*session)->Execute(CountByTypeAndStatusPlan("s3a://b/k.parquet"));
  ASSERT_TRUE(batches.ok()) << batches.status();
  auto counts = CountsFromBatches(*batches);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->total_events, 7);
  EXPECT_EQ(counts->total_errors, 3);
}

TEST_F(SparkSessionTest, SparkDataErrorIsInvalidWithSparksMessage) {
  const std::string message =
      "[FAILED_READ_FILE.NO_HINT] Encountered error while reading file s3a://b/x.parquet.";
  fake_.SetFailure(grpc::Status(grpc::StatusCode::INTERNAL, message,
                                StatusDetails(13, message, "FAILED_READ_FILE.NO_HINT")));
  auto session = SparkSession::Open(config_);
  ASSERT_TRUE(session.ok()) << session.status();
  const auto result = (*session)->Execute(CountByTypeAndStatusPlan("s3a://b/x.parquet"));
  ASSERT_TRUE(result.status().IsInvalid()) << result.status();
  EXPECT_EQ(result.status().message(), message);
}

TEST_F(SparkSessionTest, ErrorClassFromTheDetailsWhenTheMessageLacksIt) {
  fake_.SetFailure(grpc::Status(
      grpc::StatusCode::INTERNAL, "Column event_type cannot be resolved",
      StatusDetails(13, "Column event_type cannot be resolved", "UNRESOLVED_COLUMN.WITHOUT_SUGGESTION")));
  auto session = SparkSession::Open(config_);
  ASSERT_TRUE(session.ok()) << session.status();
  const auto result = (*session)->Execute(CountByTypeAndStatusPlan("s3a://b/x.parquet"));
  ASSERT_TRUE(result.status().IsInvalid()) << result.status();
  EXPECT_EQ(result.status().message(),
            "[UNRESOLVED_COLUMN.WITHOUT_SUGGESTION] Column event_type cannot be resolved");
}

TEST_F(SparkSessionTest, OtherSparkFailuresAreServiceErrors) {
  fake_.SetFailure(
      grpc::Status(grpc::StatusCode::INTERNAL, "java.nio.file.AccessDeniedException: s3a://b/x.parquet"));
  auto session = SparkSession::Open(config_);
  ASSERT_TRUE(session.ok()) << session.status();
  const auto result = (*session)->Execute(CountByTypeAndStatusPlan("s3a://b/x.parquet"));
  ASSERT_TRUE(result.status().IsIOError()) << result.status();
  EXPECT_NE(result.status().message().find("AccessDeniedException"), std::string::npos);
}

TEST_F(SparkSessionTest, QueryOverTheTimeoutIsAnIOError) {
  config_.request_timeout_s = 0.3;
  fake_.delay_ms = 5000;
  auto session = SparkSession::Open(config_);
  ASSERT_TRUE(session.ok()) << session.status();
  const auto start = std::chrono::steady_clock::now();
  const auto result = (*session)->Execute(CountByTypeAndStatusPlan("s3a://b/x.parquet"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  ASSERT_TRUE(result.status().IsIOError()) << result.status();
  EXPECT_NE(result.status().message().find("did not answer in time"), std::string::npos) << result.status();
}

TEST_F(SparkSessionTest, ServerGoneAfterOpenIsAnIOError) {
  auto session = SparkSession::Open(config_);
  ASSERT_TRUE(session.ok()) << session.status();
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
  const auto result = (*session)->Execute(CountByTypeAndStatusPlan("s3a://b/x.parquet"));
  ASSERT_TRUE(result.status().IsIOError()) << result.status();
  EXPECT_NE(result.status().message().find(config_.remote), std::string::npos) << result.status();
}

int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);  // nothing listens there now
  return ntohs(addr.sin_port);
}

TEST(SparkSessionUnreachable, FailsFastWithWhatToDo) {
  SparkConfig config;
  config.remote = "sc://127.0.0.1:" + std::to_string(ClosedPort());
  config.connect_timeout_s = 8;
  const auto start = std::chrono::steady_clock::now();
  const auto session = SparkSession::Open(config);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));  // refused: no need to wait
  ASSERT_TRUE(session.status().IsIOError()) << session.status();
  EXPECT_NE(session.status().message().find(config.remote), std::string::npos);
  EXPECT_NE(session.status().message().find("scripts/services/spark.sh start"), std::string::npos);
}

}  // namespace
}  // namespace pfad::spark
