// Writing one minute's events into its object, YYYY-MM-DD_HH-MM.parquet
// (docs/DESIGN.md, "Minute objects"), so that the object holds every event of the minute
// exactly once however often it is written: each write reads the stored object,
// adds only the events whose event_id it lacks, and stores the result with a
// conditional write. Re-reading after a crash, late events, and two ingesters
// writing the same minute all become the same merge.
#pragma once

#include "pfad/common/status.h"
#include "pfad/events/event.h"
#include "pfad/events/minute.h"
#include "pfad/storage/object_store.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace pfad::ingest {

struct StoredMinute {
  storage::ObjectUri object;
  std::string minute;   // "YYYY-MM-DD_HH-MM"
  int64_t rows = 0;     // rows in the object now
  int64_t added = 0;    // events this write added
  bool update = false;  // the object existed before
  // Where the write's time went (ms): reading the stored object, building and
  // encoding the Parquet bytes, storing them.
  int64_t read_ms = 0;
  int64_t encode_ms = 0;
  int64_t store_ms = 0;
  int64_t encoded_ahead = 0;  // rows encoded while the minute was open (StagedObject)
};

// A minute's object encoded ahead while the minute is still open: the first
// row groups' worth of a window's events are encoded as they arrive, so closing
// the minute only encodes the rest. Used only while the object does not exist
// yet; any other case takes the full merge.
class StagedObject {
 public:
  StagedObject();
  ~StagedObject();
  StagedObject(StagedObject&&) noexcept;
  StagedObject& operator=(StagedObject&&) noexcept;

  // Encodes `events` (the window's next events, in order) as row groups.
  Status Append(std::span<const events::Event> events, int64_t row_group_rows);
  // How many of the window's events this holds (encoded or dropped as duplicates).
  [[nodiscard]] int64_t events_seen() const { return events_seen_; }

 private:
  friend class MinuteObjectWriter;
  struct Encoder;
  std::unique_ptr<Encoder> encoder_;
  int64_t events_seen_ = 0;
};

class MinuteObjectWriter {
 public:
  // `sink` is the directory or bucket/prefix of the minute objects.
  MinuteObjectWriter(std::shared_ptr<storage::ObjectStore> store, storage::ObjectUri sink,
                     int64_t row_group_rows);

  [[nodiscard]] storage::ObjectUri ObjectFor(const events::Minute& minute) const;

  // Merges `events` into the minute's object. Conflicting writers are retried
  // here; storage failures come back for the caller to retry. added == 0 means
  // the object already held every event and was left as it was.
  [[nodiscard]] Result<StoredMinute> Write(const events::Minute& minute,
                                           std::span<const events::Event> events) const;
  // The same with the first staged->events_seen() events already encoded in
  // `staged` (consumed here); falls back to the merge when the object exists.
  [[nodiscard]] Result<StoredMinute> Write(const events::Minute& minute,
                                           std::span<const events::Event> events, StagedObject staged) const;

 private:
  std::shared_ptr<storage::ObjectStore> store_;
  storage::ObjectUri sink_;
  int64_t row_group_rows_;
};

}  // namespace pfad::ingest
