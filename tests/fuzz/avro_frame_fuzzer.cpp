// A Kafka message value as the ingester reads it: a Confluent frame, whose
// schema id picks the writer schema, then the Avro body decoded through that
// writer schema's decoder (avro_resolve.h): the event schema itself (the
// fixed-schema fast path) or one of a few evolved writer schemas (skipping
// added fields of every kind, defaults for missing ones, enum symbols by name).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pfad/events/avro.h"
#include "pfad/events/avro_resolve.h"

namespace {

using pfad::events::WriterSchemaDecoder;

// Writer schemas beside the event schema: fields added before and after the
// reader's (every Avro type), reader fields missing, enums reordered, int
// timestamps, unions around reader fields.
constexpr std::string_view kEvolved[] = {
    R"({"type":"record","name":"user_interactions","namespace":"com.ecommerce.events.v1","fields":[
      {"name":"event_id","type":"string"},
      {"name":"channel","type":"string"},
      {"name":"tags","type":{"type":"array","items":"string"}},
      {"name":"user_id","type":"string"},{"name":"session_id","type":"string"},
      {"name":"event_type","type":{"type":"enum","name":"EventType","symbols":["SEARCH","PAYMENT","CHECKOUT","ADD_TO_CART","VIEW_PRODUCT","REFUND"]}},
      {"name":"event_timestamp","type":"long"},{"name":"request_latency_ms","type":"int"},
      {"name":"status","type":{"type":"enum","name":"StatusType","symbols":["ERROR","SUCCESS","PENDING"]}},
      {"name":"error_code","type":["null","int"]},{"name":"product_id","type":["null","int"]},
      {"name":"attrs","type":{"type":"map","values":"long"}},
      {"name":"geo","type":{"type":"record","name":"Geo","fields":[{"name":"lat","type":"double"},{"name":"ok","type":"boolean"},{"name":"f","type":"float"}]}},
      {"name":"h","type":{"type":"fixed","name":"H","size":4}},
      {"name":"maybe","type":["null","bytes","Geo",{"type":"array","items":"Geo"}]}]})",
    R"({"type":"record","name":"user_interactions","fields":[
      {"name":"session_id","type":["null","string"]},{"name":"user_id","type":"string"},
      {"name":"event_id","type":"string"},
      {"name":"event_type","type":["null",{"type":"enum","name":"T","symbols":["VIEW_PRODUCT","SEARCH"]}]},
      {"name":"event_timestamp","type":"int"},{"name":"request_latency_ms","type":["int","null"]},
      {"name":"status","type":{"type":"enum","name":"S","symbols":["SUCCESS","ERROR"]}}]})",
};

struct Decoders {
  std::vector<std::shared_ptr<const WriterSchemaDecoder>> by_id;
  Decoders() {
    by_id.push_back(WriterSchemaDecoder::Make(pfad::events::EventAvroSchema()).ValueOrDie());
    for (const auto schema : kEvolved) by_id.push_back(WriterSchemaDecoder::Make(schema).ValueOrDie());
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Decoders decoders;
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  auto split = pfad::events::SplitConfluentFrame(frame);
  if (!split.ok()) return 0;
  const auto [id, body] = *split;
  const auto& decoder = decoders.by_id[static_cast<uint32_t>(id) % decoders.by_id.size()];
  auto event = decoder->Decode(body);
  if (event.ok()) {
    // What decodes must survive the producer's encoding unchanged.
    std::string again;
    pfad::events::AppendAvro(*event, again);
    auto back = pfad::events::DecodeAvro(again);
    if (!back.ok() || !(*back == *event)) __builtin_trap();
  }
  (void)pfad::events::DecodeAvro(body);
  return 0;
}
