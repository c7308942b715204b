// Kafka errors as Status: the status carries a KafkaErrorDetail with
// librdkafka's code and whether retrying can help, so callers decide by type,
// never by message text.
//   retriable  the operation may succeed later (broker down, queue full,
//              timeouts, leader changes): wait and retry, nothing is lost;
//   fatal      the client cannot go on (fenced idempotent producer, fatal
//              consumer error): stop the stage with this message.
// Anything else (bad arguments, unknown topic) is neither.
#pragma once

#include "pfad/common/status.h"

#include <memory>
#include <string>

namespace pfad::kafka {

enum class ErrorKind { kRetriable, kFatal, kPermanent };

class KafkaErrorDetail final : public arrow::StatusDetail {
 public:
  KafkaErrorDetail(int code, ErrorKind kind) : code_(code), kind_(kind) {}
  [[nodiscard]] const char* type_id() const override { return "pfad::kafka"; }
  [[nodiscard]] std::string ToString() const override;
  [[nodiscard]] int code() const { return code_; }
  [[nodiscard]] ErrorKind kind() const { return kind_; }

 private:
  int code_;
  ErrorKind kind_;
};

// The Kafka detail of a status, or null when it is not a Kafka error.
const KafkaErrorDetail* KafkaError(const Status& status);
[[nodiscard]] bool IsRetriable(const Status& status);
[[nodiscard]] bool IsFatal(const Status& status);

}  // namespace pfad::kafka
