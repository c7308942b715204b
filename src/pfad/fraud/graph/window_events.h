// A window of events as the fraud stage sees it (docs/FRAUD.md section 2): the
// events of a set of minute objects as columns, users, sessions and products
// replaced by dense indices. Everything the graph and its features need, and
// nothing else; the event ids are kept only to order an entity's events.
#pragma once

#include "pfad/common/status.h"
#include "pfad/events/event.h"
#include "pfad/storage/object_store.h"

#include <cstdint>
#include <string>
#include <vector>

namespace pfad::fraud {

inline constexpr int32_t kNoValue = -1;  // null error_code / product

struct WindowEvents {
  // Entities: index -> id text.
  std::vector<std::string> user_ids;
  std::vector<std::string> session_ids;
  std::vector<int32_t> product_ids;  // product index -> product_id

  // Per event.
  std::vector<uint32_t> user;
  std::vector<uint32_t> session;
  std::vector<int32_t> product;     // product index, or kNoValue
  std::vector<uint8_t> type;        // events::EventType
  std::vector<uint8_t> error;       // 1 when status is ERROR
  std::vector<int32_t> error_code;  // or kNoValue
  std::vector<int32_t> latency_ms;
  std::vector<int64_t> time_ms;  // epoch ms
  std::vector<events::Uuid> event_id;

  [[nodiscard]] size_t size() const { return user.size(); }
};

struct ParsedRows;

// Builds WindowEvents incrementally (ids are interned as they come). A builder
// takes ids either as text (the Add overload with string ids) or as UUIDs
// (events, batches), not both: the same entity in both forms would count twice.
class WindowBuilder {
 public:
  WindowBuilder();
  ~WindowBuilder();
  WindowBuilder(WindowBuilder&&) noexcept;
  WindowBuilder& operator=(WindowBuilder&&) noexcept;

  void Add(const events::Event& event);
  // One event by its parts; ids are text (any text for interactions).
  void Add(std::string_view user_id, std::string_view session_id, std::optional<int32_t> product_id,
           events::EventType type, bool error, std::optional<int32_t> error_code, int32_t latency_ms,
           int64_t time_ms, const events::Uuid& event_id);
  // Appends the rows of a record batch in the minute object schema (docs/DESIGN.md,
  // "Minute objects"). Invalid, naming the column, when one is missing or of another type.
  Status AddBatch(const arrow::RecordBatch& batch);
  // Rows parsed ahead (ReadWindow parses objects in parallel).
  void AddRows(const ParsedRows& rows);
  WindowEvents Finish();

 private:
  void Append(uint32_t user, uint32_t session, std::optional<int32_t> product_id, events::EventType type,
              bool error, std::optional<int32_t> error_code, int32_t latency_ms, int64_t time_ms,
              const events::Uuid& event_id);
  struct Interner;
  std::unique_ptr<Interner> interner_;
  WindowEvents events_;
};

// True for "YYYY-MM-DD_HH-MM.parquet" (docs/DESIGN.md, "Object names").
bool IsMinuteObjectName(std::string_view name);

// The minute objects directly under a directory or S3 prefix, in minute order;
// other objects (`.labels.parquet`, `.scores.parquet`, feature tables) are skipped. A URI that is
// itself a minute object gives just that object.
Result<std::vector<storage::ObjectUri>> ListMinuteObjects(const storage::ObjectStore& store,
                                                          const storage::ObjectUri& dir_or_prefix);

// Reads the minute objects into one window.
Result<WindowEvents> ReadWindow(const storage::ObjectStore& store,
                                const std::vector<storage::ObjectUri>& objects);

}  // namespace pfad::fraud
