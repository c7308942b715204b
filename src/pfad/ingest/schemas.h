// The writer schemas of consumed messages, by Confluent schema id: fetched from
// the registry once, turned into a decoder (events/avro_resolve.h) and cached.
// An unknown id or an unreadable schema is the message's fault (its error goes
// with it to the DLQ, and is cached too); an unreachable registry is not: the
// lookup waits and retries until it answers or the stage stops.
#pragma once

#include "pfad/common/clock.h"
#include "pfad/common/status.h"
#include "pfad/events/avro_resolve.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

namespace pfad::ingest {

class WriterSchemas {
 public:
  // The schema text of an id: KeyError when the registry has no such id; any
  // other error means the registry could not be asked.
  using Fetch = std::function<Result<std::string>(int32_t schema_id)>;
  // Retries wait on `clock` (in short steps, so a stop is noticed).
  WriterSchemas(Fetch fetch, const std::atomic<bool>& stop, const Clock& clock);

  // The decoder for `schema_id`; KeyError/Invalid when the message belongs in
  // the DLQ; Cancelled when the stage stopped while the registry was unreachable.
  Result<std::shared_ptr<const events::WriterSchemaDecoder>> Decoder(int32_t schema_id);

 private:
  Fetch fetch_;
  const std::atomic<bool>& stop_;
  const Clock& clock_;
  std::unordered_map<int32_t, Result<std::shared_ptr<const events::WriterSchemaDecoder>>> cache_;
};

}  // namespace pfad::ingest
