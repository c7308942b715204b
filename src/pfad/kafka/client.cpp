#include "pfad/kafka/client.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "pfad/common/log.h"
#include "pfad/kafka/handle.h"

namespace pfad::kafka {

bool IsSecretProperty(std::string_view key) {
  return key == "sasl.password" || key == "ssl.key.password" || key == "ssl.keystore.password" ||
         key == "ssl.key.pem" || key == "sasl.oauthbearer.client.secret" || key == "sasl.oauthbearer.config";
}

Result<std::pair<std::string, std::string>> ParseProperty(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    // The text may be a secret's value given without its key: not echoed.
    return Status::Invalid("a librdkafka property must look like key=value");
  }
  std::string key = text.substr(0, eq);
  if (IsSecretProperty(key)) {
    return Status::Invalid(
        "librdkafka property ", key,
        " is a secret and is not taken from the command line (every user of the machine can "
        "read it there): set PFAD_KAFKA_SASL_PASSWORD or put it in the config file's [kafka] table");
  }
  return std::pair{std::move(key), text.substr(eq + 1)};
}

Result<Properties> ConfiguredProperties(const ConfigFile& file) {
  PFAD_ASSIGN_OR_RAISE(auto table, file.GetTable("kafka"));
  Properties properties(table.begin(), table.end());
  for (const auto& [variable, key] : kSecurityEnvironment) {
    if (auto v = GetEnv(variable)) properties[key] = *v;
  }
  return properties;
}

Status CheckProperties(const Properties& properties) { return internal::MakeConf(properties).status(); }

const SettingsTable<TopicDefaults>& TopicDefaults::Settings() {
  static const SettingsTable<TopicDefaults> table(
      {
          {"topics.replication_factor",
           &TopicDefaults::replication_factor,
           {.env = {"PFAD_TOPIC_REPLICATION_FACTOR"},
            .description = "replication factor of the side topics PFAD creates (-1 = the broker's default)"}},
      },
      {[](const TopicDefaults& d) -> Status {
        if (d.replication_factor == 0 || d.replication_factor < -1) {
          return Status::Invalid(
              "the topics' replication factor must be -1 (the broker's default) or at least 1, not ",
              d.replication_factor);
        }
        return Status::OK();
      }});
  return table;
}

Result<TopicDefaults> TopicDefaults::Resolve(const ConfigFile& file) { return Settings().Resolve(file); }

std::string LibraryVersion() { return rd_kafka_version_str(); }

std::string KafkaErrorDetail::ToString() const {
  const char* kind = kind_ == ErrorKind::kRetriable ? "retriable"
                     : kind_ == ErrorKind::kFatal   ? "fatal"
                                                    : "permanent";
  return std::string("Kafka ") + kind + " error " +
         rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(code_));
}

const KafkaErrorDetail* KafkaError(const Status& status) {
  const auto& detail = status.detail();
  if (!detail || std::string_view(detail->type_id()) != "pfad::kafka") return nullptr;
  return static_cast<const KafkaErrorDetail*>(detail.get());
}

bool IsRetriable(const Status& status) {
  const auto* e = KafkaError(status);
  return e != nullptr && e->kind() == ErrorKind::kRetriable;
}

bool IsFatal(const Status& status) {
  const auto* e = KafkaError(status);
  return e != nullptr && e->kind() == ErrorKind::kFatal;
}

namespace internal {

namespace {

// The last login or TLS failure each handle logged, so that waiting for the broker can
// stop with librdkafka's reason at once instead of timing out (a wrong password, an
// untrusted certificate). Written from librdkafka's threads.
std::mutex security_mutex;
std::unordered_map<const rd_kafka_t*, std::string> security_failures;

bool IsSecurityFailure(std::string_view text) {
  return text.find("SASL authentication error") != std::string_view::npos ||
         text.find("SSL handshake failed") != std::string_view::npos ||
         text.find("Authentication failed") != std::string_view::npos;
}

// librdkafka's log lines go through PFAD's logger (format, level, untrusted bytes escaped).
void ForwardLog(const rd_kafka_t* rk, int level, const char* facility, const char* text) {
  const std::string line = EscapeUntrusted(text);
  if (IsSecurityFailure(text)) {
    std::string_view reason = line;  // without librdkafka's "[thrd:...]: " prefix
    if (reason.starts_with("[thrd:")) {
      if (const auto end = reason.find("]: "); end != std::string_view::npos) reason.remove_prefix(end + 3);
    }
    std::lock_guard lock(security_mutex);
    security_failures[rk] = std::string(reason);
  }
  const auto logger = Logger("rdkafka");
  const auto spd_level = level <= 3   ? spdlog::level::err
                         : level == 4 ? spdlog::level::warn
                                      : spdlog::level::info;
  logger->log(spd_level, "{} {}", facility, line);
}

}  // namespace

std::optional<std::string> SecurityFailure(const rd_kafka_t* handle) {
  std::lock_guard lock(security_mutex);
  const auto it = security_failures.find(handle);
  if (it == security_failures.end()) return std::nullopt;
  return it->second;
}

void HandleDeleter::operator()(rd_kafka_t* k) const {
  rd_kafka_destroy(k);
  std::lock_guard lock(security_mutex);
  security_failures.erase(k);
}

Result<ConfPtr> MakeConf(const Properties& properties) {
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  for (const auto& [key, value] : properties) {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      return Status::Invalid("Kafka property ", key, "=",
                             IsSecretProperty(key) ? "<secret>" : EscapeUntrusted(value), ": ", err);
    }
  }
  rd_kafka_conf_set_log_cb(conf.get(), &ForwardLog);
  return conf;
}

Result<HandlePtr> MakeHandle(rd_kafka_type_t type, ConfPtr& conf, std::string_view what) {
  char err[512];
  rd_kafka_t* handle = rd_kafka_new(type, conf.get(), err, sizeof(err));
  if (handle == nullptr) return Status::Invalid("cannot create the Kafka ", what, ": ", err);
  (void)conf.release();  // owned by the handle now
  return HandlePtr(handle);
}

ErrorKind KindOf(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR__FENCED:
    case RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID:
    case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
      return ErrorKind::kFatal;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__IN_PROGRESS:
    case RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
      return ErrorKind::kRetriable;
    default:
      return ErrorKind::kPermanent;
  }
}

Status ErrorStatus(rd_kafka_resp_err_t err, std::string_view context) {
  const ErrorKind kind = KindOf(err);
  return Status(kind == ErrorKind::kPermanent ? arrow::StatusCode::Invalid : arrow::StatusCode::IOError,
                std::string(context) + ": " + rd_kafka_err2str(err),
                std::make_shared<KafkaErrorDetail>(static_cast<int>(err), kind));
}

Status FatalError(rd_kafka_t* handle) {
  char reason[512];
  const auto e = rd_kafka_fatal_error(handle, reason, sizeof(reason));
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::OK();
  return Status(arrow::StatusCode::IOError, std::string(reason),
                std::make_shared<KafkaErrorDetail>(static_cast<int>(e), ErrorKind::kFatal));
}

namespace {

std::string Bootstrap(rd_kafka_t* handle) {
  char value[1024];
  size_t size = sizeof(value);
  if (rd_kafka_conf_get(rd_kafka_conf(handle), "bootstrap.servers", value, &size) != RD_KAFKA_CONF_OK)
    return "?";
  return value;
}

}  // namespace

namespace {

// The partition count of `topic`, nullopt when the cluster says it does not
// exist; IOError when the cluster does not answer within `timeout`.
Result<std::optional<int32_t>> FindTopic(rd_kafka_t* handle, const std::string& topic,
                                         std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  TopicPtr rkt(rd_kafka_topic_new(handle, topic.c_str(), nullptr));
  std::string last_error = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const rd_kafka_metadata_t* md = nullptr;
    const auto err = rd_kafka_metadata(handle, 0, rkt.get(), &md,
                                       static_cast<int>(std::clamp<int64_t>(left.count(), 1, 500)));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (auto failure = SecurityFailure(handle)) {
        const bool tls = failure->find("SSL handshake failed") != std::string::npos;
        return Status(
            arrow::StatusCode::IOError,
            "Kafka at " + Bootstrap(handle) + " did not let PFAD in: " + *failure +
                (tls ? " (check the CA the broker's certificate must be signed by: "
                       "PFAD_KAFKA_SSL_CA_LOCATION or [kafka] ssl.ca.location)"
                     : " (check the login: PFAD_KAFKA_SASL_USERNAME / PFAD_KAFKA_SASL_PASSWORD or "
                       "[kafka] sasl.username / sasl.password)"),
            std::make_shared<KafkaErrorDetail>(
                tls ? RD_KAFKA_RESP_ERR__SSL : RD_KAFKA_RESP_ERR__AUTHENTICATION, ErrorKind::kFatal));
      }
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::unique_ptr<const rd_kafka_metadata_t, decltype(&rd_kafka_metadata_destroy)> owned(
          md, &rd_kafka_metadata_destroy);
      if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
          md->topics[0].partition_cnt > 0) {
        return md->topics[0].partition_cnt;
      }
      const auto topic_err = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
      if (topic_err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) return std::nullopt;
      last_error = rd_kafka_err2str(topic_err);
    } else {
      last_error = rd_kafka_err2str(err);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Status(arrow::StatusCode::IOError,
                "cannot reach Kafka at " + Bootstrap(handle) + " within " + std::to_string(timeout.count()) +
                    " ms (" + last_error +
                    "); is the broker running? set --bootstrap or PFAD_KAFKA_BOOTSTRAP",
                std::make_shared<KafkaErrorDetail>(RD_KAFKA_RESP_ERR__TIMED_OUT, ErrorKind::kRetriable));
}

}  // namespace

Result<int32_t> WaitForTopic(rd_kafka_t* handle, const std::string& topic,
                             std::chrono::milliseconds timeout) {
  PFAD_ASSIGN_OR_RAISE(const auto partitions, FindTopic(handle, topic, timeout));
  if (partitions) return *partitions;
  return Status::IOError("Kafka at ", Bootstrap(handle), " has no topic '", EscapeUntrusted(topic),
                         "' (create it first, e.g. scripts/services/kafka.sh creates user_interactions)");
}

namespace {

struct AdminDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
  void operator()(rd_kafka_NewTopic_t* t) const { rd_kafka_NewTopic_destroy(t); }
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
template <typename T>
using AdminPtr = std::unique_ptr<T, AdminDeleter>;

Status CreateTopic(rd_kafka_t* handle, const std::string& topic, int32_t partitions,
                   int32_t replication_factor, std::chrono::milliseconds timeout) {
  char error[512] = "";
  AdminPtr<rd_kafka_NewTopic_t> spec(
      rd_kafka_NewTopic_new(topic.c_str(), partitions, replication_factor, error, sizeof(error)));
  if (!spec) return Status::Invalid("cannot create Kafka topic '", EscapeUntrusted(topic), "': ", error);
  AdminPtr<rd_kafka_AdminOptions_t> options(
      rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS));
  const int ms = static_cast<int>(std::clamp<int64_t>(timeout.count(), 1, 60000));
  rd_kafka_AdminOptions_set_request_timeout(options.get(), ms, error, sizeof(error));
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), ms, error, sizeof(error));
  AdminPtr<rd_kafka_queue_t> queue(rd_kafka_queue_new(handle));
  rd_kafka_NewTopic_t* specs[] = {spec.get()};
  rd_kafka_CreateTopics(handle, specs, 1, options.get(), queue.get());
  AdminPtr<rd_kafka_event_t> event(rd_kafka_queue_poll(queue.get(), ms + 1000));
  if (!event) return Status::IOError("Kafka did not answer the creation of topic '", topic, "' in time");
  const std::string bootstrap = Bootstrap(handle);
  if (const auto err = rd_kafka_event_error(event.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::IOError("Kafka at ", bootstrap, " has no topic '", topic, "' and could not create it (",
                           rd_kafka_event_error_string(event.get()), "); create it first");
  }
  size_t count = 0;
  const auto* results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event.get()), &count);
  for (size_t i = 0; i < count; ++i) {
    const auto err = rd_kafka_topic_result_error(results[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) continue;
    const char* why = rd_kafka_topic_result_error_string(results[i]);
    return Status::IOError("Kafka at ", bootstrap, " has no topic '", topic, "' and refused to create it (",
                           why != nullptr ? why : rd_kafka_err2str(err), "); create it first");
  }
  return Status::OK();
}

}  // namespace

Result<int32_t> EnsureTopic(rd_kafka_t* handle, const std::string& topic, int32_t partitions,
                            int32_t replication_factor, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  PFAD_ASSIGN_OR_RAISE(const auto existing, FindTopic(handle, topic, timeout));
  if (existing) return *existing;
  PFAD_RETURN_NOT_OK(CreateTopic(handle, topic, partitions, replication_factor, timeout));
  Logger("kafka")->info(
      "created topic {} (partitions={}, replication={})", topic, partitions,
      replication_factor < 0 ? std::string("broker default") : std::to_string(replication_factor));
  // The new topic's metadata reaches every broker shortly after.
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    PFAD_ASSIGN_OR_RAISE(const auto created,
                         FindTopic(handle, topic, std::max(left, std::chrono::milliseconds(1000))));
    if (created) return *created;
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::IOError("Kafka created topic '", topic, "' but does not show it within ",
                             timeout.count(), " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace internal
}  // namespace pfad::kafka
