#include "pfad/gen/minute_writer.h"

#include <arrow/api.h>
#include <parquet/arrow/writer.h>

#include <vector>

#include "pfad/events/schema.h"

namespace pfad::gen {

storage::ObjectUri MinuteObject(const storage::ObjectUri& target, const events::Minute& minute) {
  if (target.Basename().ends_with(".parquet")) return target;
  return target.Child(events::ObjectName(minute));
}

Status WriteSyntheticMinute(const storage::ObjectStore& store, const storage::ObjectUri& object,
                            const SyntheticMinute& spec) {
  if (spec.rows < 0) return Status::Invalid("row count must be >= 0");
  if (spec.row_group_rows <= 0) return Status::Invalid("row group size must be > 0");
  PFAD_ASSIGN_OR_RAISE(auto writer, store.OpenForWrite(object));
  PFAD_ASSIGN_OR_RAISE(auto parquet_writer,
                       parquet::arrow::FileWriter::Open(*events::EventSchema(), arrow::default_memory_pool(),
                                                        writer->stream(), events::MinuteWriterProperties(),
                                                        events::MinuteArrowWriterProperties()));
  events::EventGenerator generator(spec.generator);
  const int64_t span = spec.minute.end_ms - spec.minute.start_ms;
  std::vector<events::Event> chunk;
  chunk.reserve(static_cast<size_t>(std::min(spec.rows, spec.row_group_rows)));
  for (int64_t done = 0; done < spec.rows;) {
    const int64_t n = std::min(spec.row_group_rows, spec.rows - done);
    chunk.clear();
    for (int64_t i = 0; i < n; ++i, ++done) {
      // Evenly spread, in order; (done * span) fits in int64 for any sane row count.
      chunk.push_back(generator.Next(spec.minute.start_ms + done * span / spec.rows));
    }
    PFAD_ASSIGN_OR_RAISE(auto batch, events::ToRecordBatch(chunk));
    PFAD_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches({batch}));
    PFAD_RETURN_NOT_OK(parquet_writer->WriteTable(*table, n));  // one row group per chunk
  }
  PFAD_RETURN_NOT_OK(parquet_writer->Close());
  return writer->Commit();
}

}  // namespace pfad::gen
