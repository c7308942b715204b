// Where the ingester stores a closed minute window. Every sink stores a
// window's events idempotently, merged by event_id with what it already holds,
// so a window re-read after a crash or rewritten by late events never leaves an
// event twice. The ingester commits a window's offsets only when every
// configured sink has stored it (WindowWriter), so adding a sink (e.g. a
// warehouse beside the object store) changes neither the loop nor the commit rule.
#pragma once

#include "pfad/common/status.h"
#include "pfad/ingest/minute_object.h"
#include "pfad/ingest/window.h"

#include <cstdint>
#include <span>
#include <string>

namespace pfad::ingest {

class MinuteSink {
 public:
  virtual ~MinuteSink() = default;

  // For logs and errors, e.g. "s3://bucket/prefix".
  [[nodiscard]] virtual std::string Name() const = 0;
  // Checks at start that the sink is reachable and writable.
  [[nodiscard]] virtual Status Check() = 0;
  // The next events of an open window, in order (a sink may prepare them ahead,
  // e.g. encode row groups); `Store` gets all events again when it closes.
  virtual void Prepare(uint64_t /*window_id*/, std::span<const events::Event> /*events*/) {}
  // The open window changed (its partitions were revoked): forget what was prepared.
  virtual void Discard(uint64_t /*window_id*/) {}
  // Stores the window: the events it does not hold yet are added. `prepared` is
  // how many of the window's first events were given to Prepare.
  [[nodiscard]] virtual Result<StoredMinute> Store(const MinuteWindow& window, int64_t prepared) = 0;
};

}  // namespace pfad::ingest
