// The event model of docs/DESIGN.md, "Event schema" (schemas/user_interactions.avsc is its
// Avro form): one user interaction with the shop.
#pragma once

#include "pfad/common/status.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pfad::events {

// Symbols in the order of the Avro enum EventType.
enum class EventType : uint8_t { kViewProduct, kAddToCart, kCheckout, kPayment, kSearch };
inline constexpr int kEventTypeCount = 5;

// Symbols in the order of the Avro enum StatusType.
enum class EventStatus : uint8_t { kSuccess, kError };

std::string_view ToString(EventType type);
std::string_view ToString(EventStatus status);
std::optional<EventType> ParseEventType(std::string_view name);
std::optional<EventStatus> ParseEventStatus(std::string_view name);

// A UUID as its 16 raw bytes (the Kafka key is exactly these bytes).
struct Uuid {
  std::array<uint8_t, 16> bytes{};

  // Canonical lower-case text form, 8-4-4-4-12 hex digits.
  [[nodiscard]] std::string ToString() const;
  // Writes the 36 characters of the text form to out.
  void Format(char* out) const;
  // Parses the canonical text form (either case).
  static Result<Uuid> Parse(std::string_view text);
  // A version-4 (random) UUID from 128 random bits.
  static Uuid V4(uint64_t hi, uint64_t lo);

  friend bool operator==(const Uuid&, const Uuid&) = default;
};

struct Event {
  Uuid event_id;
  Uuid user_id;
  Uuid session_id;
  EventType event_type = EventType::kViewProduct;
  int64_t event_timestamp_ms = 0;  // epoch milliseconds, UTC
  int32_t request_latency_ms = 0;
  EventStatus status = EventStatus::kSuccess;
  std::optional<int32_t> error_code;
  std::optional<int32_t> product_id;

  friend bool operator==(const Event&, const Event&) = default;
};

}  // namespace pfad::events
