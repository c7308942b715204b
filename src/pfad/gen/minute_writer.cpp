#include "pfad/gen/minute_writer.h"

#include <arrow/api.h>
#include <parquet/arrow/writer.h>

#include <vector>

#include "pfad/events/labels.h"
#include "pfad/events/schema.h"
#include "pfad/gen/traffic_mix.h"

namespace pfad::gen {
namespace {

bool IsObject(const storage::ObjectUri& uri) { return uri.Basename().ends_with(events::kObjectSuffix); }

Status WriteEvents(const storage::ObjectStore& store, const storage::ObjectUri& object,
                   const events::Minute& minute, const SyntheticMinutes& spec, TrafficMix& mix) {
  PFAD_ASSIGN_OR_RAISE(auto writer, store.OpenForWrite(object));
  PFAD_ASSIGN_OR_RAISE(auto parquet_writer,
                       parquet::arrow::FileWriter::Open(*events::EventSchema(), arrow::default_memory_pool(),
                                                        writer->stream(), events::MinuteWriterProperties(),
                                                        events::MinuteArrowWriterProperties()));
  const int64_t span = minute.end_ms - minute.start_ms;
  std::vector<events::Event> chunk;
  chunk.reserve(static_cast<size_t>(std::min(spec.rows, spec.row_group_rows)));
  for (int64_t done = 0; done < spec.rows;) {
    const int64_t n = std::min(spec.row_group_rows, spec.rows - done);
    chunk.clear();
    for (int64_t i = 0; i < n; ++i, ++done) {
      // Evenly spread, in order; (done * span) fits in int64 for any sane row count.
      chunk.push_back(mix.Next(minute.start_ms + done * span / spec.rows));
    }
    PFAD_ASSIGN_OR_RAISE(auto batch, events::ToRecordBatch(chunk));
    PFAD_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches({batch}));
    PFAD_RETURN_NOT_OK(parquet_writer->WriteTable(*table, n));  // one row group per chunk
  }
  PFAD_RETURN_NOT_OK(parquet_writer->Close());
  return writer->Commit();
}

Status WriteLabels(const storage::ObjectStore& store, const storage::ObjectUri& object,
                   std::span<const events::FraudLabel> labels) {
  PFAD_ASSIGN_OR_RAISE(auto batch, events::LabelsToRecordBatch(labels));
  PFAD_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(events::LabelSchema(), {batch}));
  PFAD_ASSIGN_OR_RAISE(auto writer, store.OpenForWrite(object));
  PFAD_RETURN_NOT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), writer->stream(),
                                                std::max<int64_t>(1, table->num_rows())));
  return writer->Commit();
}

}  // namespace

storage::ObjectUri MinuteObject(const storage::ObjectUri& target, const events::Minute& minute) {
  if (IsObject(target)) return target;
  return target.Child(events::ObjectName(minute));
}

storage::ObjectUri LabelsObject(const storage::ObjectUri& minute_object,
                                const std::optional<storage::ObjectUri>& labels,
                                const events::Minute& minute) {
  if (labels) return IsObject(*labels) ? *labels : labels->Child(events::LabelsObjectName(minute));
  std::string stem = minute_object.Basename();
  stem.resize(stem.size() - events::kObjectSuffix.size());
  return minute_object.Sibling(stem + std::string(events::kLabelsSuffix));
}

Result<std::vector<WrittenMinute>> WriteSyntheticMinutes(const SyntheticTargets& targets,
                                                         const events::MinuteCalendar& calendar,
                                                         const SyntheticMinutes& spec) {
  if (spec.rows < 0) return Status::Invalid("row count must be >= 0");
  if (spec.minutes < 1) return Status::Invalid("minute count must be >= 1");
  if (spec.row_group_rows <= 0) return Status::Invalid("row group size must be > 0");
  if (spec.minutes > 1 && IsObject(targets.target)) {
    return Status::Invalid("cannot write ", spec.minutes, " minutes into the one object ",
                           targets.target.ToString(), ": give a directory or prefix");
  }
  if (spec.minutes > 1 && spec.fraud_share && targets.labels && IsObject(*targets.labels)) {
    return Status::Invalid("cannot write the labels of ", spec.minutes, " minutes into the one object ",
                           targets.labels->ToString(), ": give a directory or prefix");
  }
  PFAD_ASSIGN_OR_RAISE(auto mix, TrafficMix::Make({.reference = spec.generator,
                                                   .fraud_share = spec.fraud_share.value_or(0),
                                                   .labels = LabelCollection::kPerRange}));
  const storage::ObjectStore& labels_store = targets.labels_store ? *targets.labels_store : *targets.store;
  std::vector<WrittenMinute> written;
  events::Minute minute = spec.first;
  for (int64_t m = 0; m < spec.minutes; ++m, minute = calendar.MinuteOf(minute.end_ms)) {
    WrittenMinute out{.events = MinuteObject(targets.target, minute), .labels = std::nullopt};
    PFAD_RETURN_NOT_OK(WriteEvents(*targets.store, out.events, minute, spec, *mix));
    const auto labels = mix->TakeRangeLabels(minute.end_ms);
    if (spec.fraud_share) {
      out.labels = LabelsObject(out.events, targets.labels, minute);
      PFAD_RETURN_NOT_OK(WriteLabels(labels_store, *out.labels, labels));
    }
    written.push_back(std::move(out));
  }
  return written;
}

Result<SyntheticTargets> OpenSyntheticTargets(const storage::ObjectUri& target,
                                              const std::optional<storage::ObjectUri>& labels,
                                              const events::Minute& first,
                                              const storage::StorageConfig& storage) {
  SyntheticTargets targets;
  targets.target = target;
  PFAD_ASSIGN_OR_RAISE(targets.store, storage::ObjectStore::Open(MinuteObject(target, first), storage));
  if (labels) {
    targets.labels = *labels;
    PFAD_ASSIGN_OR_RAISE(targets.labels_store, storage::ObjectStore::Open(*labels, storage));
  }
  return targets;
}

}  // namespace pfad::gen
