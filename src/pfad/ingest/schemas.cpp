#include "pfad/ingest/schemas.h"

#include "pfad/common/log.h"

namespace pfad::ingest {

WriterSchemas::WriterSchemas(Fetch fetch, const std::atomic<bool>& stop, const Clock& clock)
    : fetch_(std::move(fetch)), stop_(stop), clock_(clock) {}

Result<std::shared_ptr<const events::WriterSchemaDecoder>> WriterSchemas::Decoder(int32_t schema_id) {
  if (auto it = cache_.find(schema_id); it != cache_.end()) return it->second;
  for (int64_t backoff_ms = 500;; backoff_ms = std::min<int64_t>(backoff_ms * 2, 10'000)) {
    auto text = fetch_(schema_id);
    if (text.ok()) {
      auto decoder = events::WriterSchemaDecoder::Make(*text);
      if (!decoder.ok()) {
        decoder = Status::Invalid("writer schema ", schema_id,
                                  " cannot be read as the event schema: ", decoder.status().message());
      }
      return cache_.emplace(schema_id, std::move(decoder)).first->second;
    }
    if (text.status().IsKeyError()) return cache_.emplace(schema_id, text.status()).first->second;
    // The registry is unreachable: not the message's fault; wait, never DLQ.
    Logger("ingest")->warn("schema registry unreachable, retrying in {} ms: {}", backoff_ms,
                           text.status().message());
    if (stop_) return Status::Cancelled("stopping");
    for (int64_t waited = 0; waited < backoff_ms && !stop_; waited += 50)
      clock_.SleepFor(std::chrono::milliseconds(50));
    if (stop_) return Status::Cancelled("stopping");
  }
}

}  // namespace pfad::ingest
