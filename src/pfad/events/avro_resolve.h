// Reading events written with another version of the event schema (Avro schema
// resolution, https://avro.apache.org/docs/current/specification/#schema-resolution).
//
// A consumer meets bodies written with whatever schema the producer registered.
// WriterSchemaDecoder is built once per writer schema (per registry id) and
// decodes those bodies into Events, the reader schema being
// schemas/user_interactions.avsc: fields are matched by name, writer-only fields
// are skipped whatever their type, reader fields the writer lacks take their
// default (only error_code and product_id have one), enums are matched by
// symbol, int is promoted to long. A writer schema that cannot be resolved is
// refused when the decoder is built; a body that does not fit is refused per
// message.
#pragma once

#include "pfad/common/status.h"
#include "pfad/events/event.h"

#include <memory>
#include <string_view>

namespace pfad::events {

class WriterSchemaDecoder {
 public:
  // Invalid naming the field and why when `writer_schema_json` cannot be read as
  // the event schema.
  static Result<std::shared_ptr<const WriterSchemaDecoder>> Make(std::string_view writer_schema_json);
  ~WriterSchemaDecoder();

  // Decodes one Avro body (without the Confluent header).
  [[nodiscard]] Result<Event> Decode(std::string_view body) const;
  // True when the writer schema is the reader schema (the fast path).
  [[nodiscard]] bool identical() const;

  struct Plan;

 private:
  explicit WriterSchemaDecoder(std::unique_ptr<Plan> plan);
  std::unique_ptr<Plan> plan_;
};

}  // namespace pfad::events
