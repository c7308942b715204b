#include "pfad/warehouse/ingest_sinks.h"

#include <utility>

#include "pfad/ingest/object_sink.h"
#include "pfad/warehouse/clickhouse_sink.h"

namespace pfad::warehouse {

bool HasObjectSink(const ingest::IngestOptions& options) {
  return options.sink.is_s3() || !options.sink.key.empty();
}

Result<std::vector<std::unique_ptr<ingest::MinuteSink>>> MakeIngestSinks(
    const ingest::IngestOptions& options, const storage::StorageConfig& storage,
    const ClickHouseConfig& clickhouse, const Clock& clock) {
  std::vector<std::unique_ptr<ingest::MinuteSink>> sinks;
  if (HasObjectSink(options)) {
    PFAD_ASSIGN_OR_RAISE(auto store, storage::ObjectStore::Open(options.sink, storage));
    sinks.push_back(
        std::make_unique<ingest::ObjectSink>(std::move(store), options.sink, options.row_group_rows));
  }
  if (!clickhouse.url.empty()) {
    PFAD_ASSIGN_OR_RAISE(auto client, ClickHouseClient::Make(clickhouse, clock));
    PFAD_ASSIGN_OR_RAISE(auto calendar, events::MinuteCalendar::Open());
    sinks.push_back(std::make_unique<ClickHouseSink>(std::move(client), std::move(calendar)));
  }
  if (sinks.empty()) return Status::Invalid("no sink: neither an object store location nor a ClickHouse URL");
  return sinks;
}

}  // namespace pfad::warehouse
