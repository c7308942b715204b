// The object-store sink: each minute window becomes (or merges into) its
// Parquet object under the sink directory or bucket/prefix (minute_object.h).
// While a minute is open its full row groups are encoded ahead (Prepare), so
// closing it has little left to encode.
#pragma once

#include "pfad/ingest/sink.h"
#include "pfad/storage/object_store.h"

#include <memory>
#include <unordered_map>
#include <unordered_set>

namespace pfad::ingest {

class ObjectSink final : public MinuteSink {
 public:
  ObjectSink(std::shared_ptr<storage::ObjectStore> store, storage::ObjectUri sink, int64_t row_group_rows);

  [[nodiscard]] std::string Name() const override { return sink_.ToString(); }
  [[nodiscard]] Status Check() override;
  void Prepare(uint64_t window_id, std::span<const events::Event> events) override;
  void Discard(uint64_t window_id) override;
  [[nodiscard]] Result<StoredMinute> Store(const MinuteWindow& window, int64_t prepared) override;

 private:
  std::shared_ptr<storage::ObjectStore> store_;
  storage::ObjectUri sink_;
  int64_t row_group_rows_;
  MinuteObjectWriter writer_;
  std::unordered_map<uint64_t, StagedObject> staged_;
  std::unordered_set<uint64_t> broken_;  // windows whose encoding ahead failed
};

}  // namespace pfad::ingest
