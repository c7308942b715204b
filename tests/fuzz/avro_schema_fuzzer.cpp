// A writer schema as the ingester gets it from the registry, and a body
// written with it: the input is the schema's JSON text, a NUL byte, then the
// Avro body. Building the decoder (schema parsing and resolution against the
// event schema) and decoding must refuse what they cannot read, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pfad/events/avro_resolve.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nul = in.find('\0');
  if (nul == std::string_view::npos) return 0;
  auto decoder = pfad::events::WriterSchemaDecoder::Make(in.substr(0, nul));
  if (!decoder.ok()) return 0;
  (void)(*decoder)->Decode(in.substr(nul + 1));
  return 0;
}
