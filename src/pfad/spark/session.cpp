#include "pfad/spark/session.h"

#include <arrow/buffer.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/reader.h>
#include <arrow/record_batch.h>
#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <grpcpp/grpcpp.h>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <random>

#include "pfad/common/log.h"
#include "spark/connect/base.grpc.pb.h"

namespace pfad::spark {
namespace {

namespace sc = ::spark::connect;
constexpr std::string_view kScheme = "sc://";
constexpr std::string_view kClientType = "pfad";
constexpr std::string_view kWhatToDo =
    "start it with scripts/services/spark.sh start, or point --spark-remote / PFAD_SPARK_REMOTE at a running "
    "Spark Connect server";

std::string RandomUuid() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  uint64_t hi = gen(), lo = gen();
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant 10
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return buf;
}

std::chrono::system_clock::time_point Deadline(double seconds) {
  return std::chrono::system_clock::now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                                std::chrono::duration<double>(seconds));
}

// The "errorClass" of the google.rpc.ErrorInfo in a gRPC status's details
// (google.rpc.Status, serialized), decoded by hand: the googleapis protos are
// not part of the protocol pyspark ships.
std::string ErrorClassOf(const std::string& details) {
  using google::protobuf::io::CodedInputStream;
  // Calls fn(field, bytes) for each length-delimited field of a message.
  const auto each_bytes_field = [](std::string_view message, auto&& fn) {
    CodedInputStream in(reinterpret_cast<const uint8_t*>(message.data()), static_cast<int>(message.size()));
    while (uint32_t tag = in.ReadTag()) {
      const uint32_t field = tag >> 3;
      switch (tag & 7) {
        case 0: {
          uint64_t v;
          if (!in.ReadVarint64(&v)) return;
          break;
        }
        case 1: {
          uint64_t v;
          if (!in.ReadLittleEndian64(&v)) return;
          break;
        }
        case 5: {
          uint32_t v;
          if (!in.ReadLittleEndian32(&v)) return;
          break;
        }
        case 2: {
          uint32_t length;
          std::string bytes;
          if (!in.ReadVarint32(&length) || !in.ReadString(&bytes, static_cast<int>(length))) return;
          fn(field, std::string_view(bytes));
          break;
        }
        default:
          return;
      }
    }
  };
  std::string error_class;
  each_bytes_field(details, [&](uint32_t field, std::string_view any) {
    if (field != 3) return;  // Status.details: repeated Any
    std::string type_url, value;
    each_bytes_field(any, [&](uint32_t f, std::string_view v) {
      if (f == 1) type_url = v;
      if (f == 2) value = v;
    });
    if (!type_url.ends_with("google.rpc.ErrorInfo")) return;
    each_bytes_field(value, [&](uint32_t f, std::string_view entry) {
      if (f != 3) return;  // ErrorInfo.metadata: map<string, string>
      std::string key, val;
      each_bytes_field(entry, [&](uint32_t e, std::string_view v) {
        if (e == 1) key = v;
        if (e == 2) val = v;
      });
      if (key == "errorClass") error_class = val;
    });
  });
  return error_class;
}

// "[ERROR_CLASS] message" -> "ERROR_CLASS", else "".
std::string_view BracketedClass(std::string_view message) {
  if (!message.starts_with('[')) return {};
  const size_t end = message.find(']');
  if (end == std::string_view::npos) return {};
  return message.substr(1, end - 1);
}

}  // namespace

// ---------------------------------------------------------------------------
// SparkRemote, SparkConfig

Result<SparkRemote> SparkRemote::Parse(std::string_view url) {
  const auto bad = [&](std::string_view why) {
    return Status::Invalid("Spark remote '", url, "': ", why, " (expected sc://host[:port][/;user_id=...])");
  };
  if (!url.starts_with(kScheme)) return bad("must start with sc://");
  std::string_view rest = url.substr(kScheme.size());
  std::string_view params;
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    params = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  SparkRemote remote;
  if (const size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    const std::string_view port = rest.substr(colon + 1);
    int value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
      return bad("invalid port");
    }
    remote.port = value;
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad("no host");
  remote.host = rest;
  while (!params.empty()) {
    const size_t semi = params.find(';');
    const std::string_view pair = params.substr(0, semi);
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) return bad("parameter without '='");
    const std::string_view key = pair.substr(0, eq), value = pair.substr(eq + 1);
    if (key == "user_id") {
      remote.user_id = value;
    } else if (key == "session_id") {
      remote.session_id = value;
    } else {
      return bad("unsupported parameter '" + std::string(key) +
                 "' (only user_id and session_id; no TLS or tokens)");
    }
  }
  return remote;
}

std::string SparkRemote::ToString() const { return std::string(kScheme) + host + ":" + std::to_string(port); }

const SettingsTable<SparkConfig>& SparkConfig::Settings() {
  static const SettingsTable<SparkConfig> table({
      {"analyze.spark_remote",
       &SparkConfig::remote,
       {.env = {"PFAD_SPARK_REMOTE"}, .description = "Spark Connect server (sc://host[:port])"}},
      {"analyze.spark_connect_timeout_s",
       &SparkConfig::connect_timeout_s,
       {.unit = "s", .description = "how long to wait for the server when the session opens"}},
      {"analyze.spark_timeout_s",
       &SparkConfig::request_timeout_s,
       {.unit = "s", .description = "one query, start to last result"}},
  });
  return table;
}

Result<SparkConfig> SparkConfig::Resolve(const ConfigFile& file) { return Settings().Resolve(file); }

// ---------------------------------------------------------------------------
// Errors

SparkError ClassifySparkError(int grpc_code, std::string_view message, std::string_view error_class) {
  SparkError error;
  error.error_class = error_class.empty() ? std::string(BracketedClass(message)) : std::string(error_class);
  error.message = message;
  if (!error_class.empty() && !message.starts_with('[')) {
    error.message = "[" + std::string(error_class) + "] " + std::string(message);
  }
  const auto code = static_cast<grpc::StatusCode>(grpc_code);
  if (code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
      code == grpc::StatusCode::CANCELLED || code == grpc::StatusCode::UNAUTHENTICATED ||
      code == grpc::StatusCode::PERMISSION_DENIED || code == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    return error;  // the way to Spark, not the data
  }
  // Error classes that blame the input object (Spark's error-conditions.json).
  static constexpr std::string_view kDataClasses[] = {
      "FAILED_READ_FILE",         // corrupt / truncated / not Parquet
      "CANNOT_READ_FILE_FOOTER",  //
      "UNABLE_TO_INFER_SCHEMA",   // zero-byte or unreadable file
      "UNRESOLVED_COLUMN",        // missing event_type / status
      "PARQUET_",                 // PARQUET_TYPE_ILLEGAL, PARQUET_CONVERSION_FAILURE, ...
      "CANNOT_DECODE",            //
      "DATATYPE_MISMATCH",        //
      "INVALID_PARQUET",          //
  };
  for (const auto prefix : kDataClasses) {
    if (error.error_class.starts_with(prefix)) {
      error.kind = SparkErrorKind::kData;
      return error;
    }
  }
  // Without an error class, Parquet's own exceptions still tell a bad file.
  if (error.error_class.empty() && (message.find("is not a Parquet file") != std::string_view::npos ||
                                    message.find("Could not read footer") != std::string_view::npos)) {
    error.kind = SparkErrorKind::kData;
  }
  return error;
}

// ---------------------------------------------------------------------------
// SparkSession

struct SparkSession::Rpc {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<sc::SparkConnectService::Stub> stub;
};

SparkSession::SparkSession(SparkRemote remote, SparkConfig config, std::unique_ptr<Rpc> rpc)
    : remote_(std::move(remote)), config_(std::move(config)), rpc_(std::move(rpc)) {}

namespace {

template <typename Request>
void Identify(Request& request, const SparkRemote& remote) {
  request.set_session_id(remote.session_id);
  request.mutable_user_context()->set_user_id(remote.user_id);
  request.set_client_type(std::string(kClientType));
}

Status ToStatus(const grpc::Status& status, const std::string& server) {
  const SparkError error =
      ClassifySparkError(status.error_code(), status.error_message(), ErrorClassOf(status.error_details()));
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return Status::IOError("Spark Connect at ", server, " is not reachable (", status.error_message(),
                             "): ", kWhatToDo);
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status::IOError("Spark Connect at ", server, " did not answer in time (", status.error_message(),
                             "); raise --spark-timeout, or check the server's log");
    default:
      break;
  }
  if (error.kind == SparkErrorKind::kData) return Status::Invalid(error.message);
  return Status::IOError("Spark failed: ", error.message);
}

}  // namespace

Result<std::shared_ptr<SparkSession>> SparkSession::Open(const SparkConfig& config) {
  PFAD_ASSIGN_OR_RAISE(auto remote, SparkRemote::Parse(config.remote));
  if (remote.session_id.empty()) remote.session_id = RandomUuid();
  auto rpc = std::make_unique<Rpc>();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  args.SetString(GRPC_ARG_PRIMARY_USER_AGENT_STRING, "pfad");
  rpc->channel = grpc::CreateCustomChannel(remote.host + ":" + std::to_string(remote.port),
                                           grpc::InsecureChannelCredentials(), args);
  const std::string server = remote.ToString();
  // Wait for the connection, but give up at the first refusal: a server that
  // is down answers at once, so there is nothing to wait for.
  const auto deadline = Deadline(config.connect_timeout_s);
  for (auto state = rpc->channel->GetState(/*try_to_connect=*/true); state != GRPC_CHANNEL_READY;
       state = rpc->channel->GetState(true)) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE) {
      return Status::IOError("Spark Connect at ", server,
                             " is not reachable (connection refused or failed): ", kWhatToDo);
    }
    if (!rpc->channel->WaitForStateChange(state, deadline)) {
      return Status::IOError("Spark Connect at ", server, " is not reachable (no connection within ",
                             fmt::format("{:g}", config.connect_timeout_s), " s): ", kWhatToDo);
    }
  }
  rpc->stub = sc::SparkConnectService::NewStub(rpc->channel);

  // Checks that a Spark Connect server answers, and learns its version.
  sc::AnalyzePlanRequest request;
  Identify(request, remote);
  request.mutable_spark_version();
  sc::AnalyzePlanResponse response;
  grpc::ClientContext context;
  context.set_deadline(Deadline(config.connect_timeout_s));
  if (const grpc::Status st = rpc->stub->AnalyzePlan(&context, request, &response); !st.ok()) {
    return ToStatus(st, server);
  }
  // Column names resolve exactly as in the local engine (case-sensitively).
  sc::ConfigRequest set;
  Identify(set, remote);
  auto* pair = set.mutable_operation()->mutable_set()->add_pairs();
  pair->set_key("spark.sql.caseSensitive");
  pair->set_value("true");
  sc::ConfigResponse set_response;
  grpc::ClientContext set_context;
  set_context.set_deadline(Deadline(config.connect_timeout_s));
  if (const grpc::Status st = rpc->stub->Config(&set_context, set, &set_response); !st.ok()) {
    return ToStatus(st, server);
  }

  std::shared_ptr<SparkSession> session(new SparkSession(std::move(remote), config, std::move(rpc)));
  session->spark_version_ = response.spark_version().version();
  Logger("spark")->info("session {} on {} (Spark {})", session->session_id(), server,
                        session->spark_version_);
  return session;
}

SparkSession::~SparkSession() {
  if (!rpc_ || !rpc_->stub) return;
  sc::ReleaseSessionRequest request;
  Identify(request, remote_);
  sc::ReleaseSessionResponse response;
  grpc::ClientContext context;
  context.set_deadline(Deadline(std::min(2.0, config_.connect_timeout_s)));
  (void)rpc_->stub->ReleaseSession(&context, request,
                                   &response);  // best effort: the server times sessions out
}

Result<ArrowBatches> SparkSession::Execute(const sc::Plan& plan) const {
  sc::ExecutePlanRequest request;
  Identify(request, remote_);
  request.set_operation_id(RandomUuid());
  *request.mutable_plan() = plan;
  grpc::ClientContext context;
  context.set_deadline(Deadline(config_.request_timeout_s));
  auto stream = rpc_->stub->ExecutePlan(&context, request);
  sc::ExecutePlanResponse response;
  ArrowBatches batches;
  Status decode = Status::OK();
  while (stream->Read(&response)) {
    if (!response.has_arrow_batch() || !decode.ok()) continue;
    // Each ArrowBatch is a whole Arrow IPC stream (schema + batches).
    auto buffer = arrow::Buffer::FromString(std::move(*response.mutable_arrow_batch()->mutable_data()));
    decode = [&]() -> Status {
      auto input = std::make_shared<arrow::io::BufferReader>(buffer);
      PFAD_ASSIGN_OR_RAISE(auto reader, arrow::ipc::RecordBatchStreamReader::Open(input));
      while (true) {
        PFAD_ASSIGN_OR_RAISE(auto batch, reader->Next());
        if (!batch) return Status::OK();
        batches.push_back(std::move(batch));
      }
    }();
  }
  if (const grpc::Status st = stream->Finish(); !st.ok()) return ToStatus(st, remote_.ToString());
  if (!decode.ok()) return Status::IOError("Spark sent a result pfad cannot decode: ", decode.message());
  return batches;
}

}  // namespace pfad::spark
