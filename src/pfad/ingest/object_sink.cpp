#include "pfad/ingest/object_sink.h"

#include "pfad/common/log.h"

namespace pfad::ingest {

ObjectSink::ObjectSink(std::shared_ptr<storage::ObjectStore> store, storage::ObjectUri sink,
                       int64_t row_group_rows)
    : store_(store),
      sink_(sink),
      row_group_rows_(row_group_rows),
      writer_(std::move(store), std::move(sink), row_group_rows) {}

Status ObjectSink::Check() { return store_->CheckContainer(sink_.Child("probe.parquet")); }

void ObjectSink::Prepare(uint64_t window_id, std::span<const events::Event> events) {
  if (broken_.contains(window_id)) return;
  if (Status st = staged_[window_id].Append(events, row_group_rows_); !st.ok()) {
    Logger("ingest")->warn("encoding ahead failed (the minute is encoded when it closes instead): {}",
                           st.ToString());
    staged_.erase(window_id);
    broken_.insert(window_id);
  }
}

void ObjectSink::Discard(uint64_t window_id) {
  staged_.erase(window_id);
  broken_.erase(window_id);
}

Result<StoredMinute> ObjectSink::Store(const MinuteWindow& window, int64_t prepared) {
  broken_.erase(window.id);
  auto node = staged_.extract(window.id);
  if (!node.empty() && node.mapped().events_seen() == prepared) {
    return writer_.Write(window.minute, window.events, std::move(node.mapped()));
  }
  return writer_.Write(window.minute, window.events);
}

}  // namespace pfad::ingest
