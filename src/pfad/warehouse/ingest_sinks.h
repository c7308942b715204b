// Where `pfad ingest` stores each minute, made from resolved settings: the
// object store at options.sink (when set) and/or the ClickHouse warehouse
// (when clickhouse.url is set), in that order. The ingester commits a minute's
// offsets once every sink has stored it (ingest/sink.h). Here, not in ingest/,
// because the warehouse sink is this library's and the warehouse depends on ingest.
#pragma once

#include "pfad/common/clock.h"
#include "pfad/common/status.h"
#include "pfad/ingest/ingester.h"
#include "pfad/ingest/sink.h"
#include "pfad/storage/object_store.h"
#include "pfad/warehouse/clickhouse_client.h"

#include <memory>
#include <vector>

namespace pfad::warehouse {

// The sinks; Invalid when neither is configured.
Result<std::vector<std::unique_ptr<ingest::MinuteSink>>> MakeIngestSinks(
    const ingest::IngestOptions& options, const storage::StorageConfig& storage,
    const ClickHouseConfig& clickhouse, const Clock& clock);

// Whether options.sink names an object store location (a directory or bucket/prefix).
bool HasObjectSink(const ingest::IngestOptions& options);

}  // namespace pfad::warehouse
