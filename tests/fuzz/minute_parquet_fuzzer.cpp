// A minute object as the analysis reads it (analyze::CountEvents), from an
// in-memory buffer: a corrupt object must be refused with an error, never
// crash the job. One thread, small batches, so each input is quick.
#include <arrow/buffer.h>
#include <arrow/io/memory.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "pfad/analyze/analyze.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = std::make_shared<arrow::io::BufferReader>(
      std::make_shared<arrow::Buffer>(data, static_cast<int64_t>(size)));
  auto counts = pfad::analyze::CountEvents(file, {.threads = 1, .batch_rows = 64});
  if (counts.ok()) {
    // Every row is in exactly one group of the totals.
    int64_t in_groups = 0;
    for (const auto& [type, c] : counts->by_event_type) in_groups += c.success + c.error;
    if (in_groups > counts->total_events) __builtin_trap();
  }
  return 0;
}
