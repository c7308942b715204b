#include "pfad/events/event.h"

#include <array>
#include <cstring>

#include "pfad/common/log.h"

namespace pfad::events {
namespace {
constexpr std::array<std::string_view, kEventTypeCount> kEventTypeNames = {"VIEW_PRODUCT", "ADD_TO_CART",
                                                                           "CHECKOUT", "PAYMENT", "SEARCH"};
constexpr std::array<std::string_view, 2> kStatusNames = {"SUCCESS", "ERROR"};

// Where each byte's two hex digits stand in the 8-4-4-4-12 text form. Producing
// formats and ingest parses three UUIDs per event, so both work from tables.
constexpr std::array<size_t, 16> kHexAt = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};

constexpr auto kHexValue = [] {
  std::array<int8_t, 256> value{};
  value.fill(-1);
  for (int c = '0'; c <= '9'; ++c) value[static_cast<size_t>(c)] = static_cast<int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) value[static_cast<size_t>(c)] = static_cast<int8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) value[static_cast<size_t>(c)] = static_cast<int8_t>(c - 'A' + 10);
  return value;
}();

constexpr auto kHexPairs = [] {
  constexpr char kHex[] = "0123456789abcdef";
  std::array<std::array<char, 2>, 256> pairs{};
  for (size_t b = 0; b < 256; ++b) pairs[b] = {kHex[b >> 4], kHex[b & 0xF]};
  return pairs;
}();

}  // namespace

std::string_view ToString(EventType type) { return kEventTypeNames[static_cast<size_t>(type)]; }
std::string_view ToString(EventStatus status) { return kStatusNames[static_cast<size_t>(status)]; }

std::optional<EventType> ParseEventType(std::string_view name) {
  for (size_t i = 0; i < kEventTypeNames.size(); ++i) {
    if (kEventTypeNames[i] == name) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

std::optional<EventStatus> ParseEventStatus(std::string_view name) {
  for (size_t i = 0; i < kStatusNames.size(); ++i) {
    if (kStatusNames[i] == name) return static_cast<EventStatus>(i);
  }
  return std::nullopt;
}

void Uuid::Format(char* out) const {
  for (size_t i = 0; i < bytes.size(); ++i) std::memcpy(out + kHexAt[i], kHexPairs[bytes[i]].data(), 2);
  out[8] = out[13] = out[18] = out[23] = '-';
}

std::string Uuid::ToString() const {
  std::string text(36, '\0');
  Format(text.data());
  return text;
}

Result<Uuid> Uuid::Parse(std::string_view text) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-') {
    return Status::Invalid("not a UUID (expected 8-4-4-4-12 hex digits): '", EscapeUntrusted(text), "'");
  }
  Uuid uuid;
  int bad = 0;  // any digit's -1 sets the sign bit
  for (size_t i = 0; i < uuid.bytes.size(); ++i) {
    const int hi = kHexValue[static_cast<uint8_t>(text[kHexAt[i]])];
    const int lo = kHexValue[static_cast<uint8_t>(text[kHexAt[i] + 1])];
    bad |= hi | lo;
    uuid.bytes[i] = static_cast<uint8_t>((hi & 0xF) << 4 | (lo & 0xF));
  }
  if (bad < 0) return Status::Invalid("not a UUID (bad hex digit): '", EscapeUntrusted(text), "'");
  return uuid;
}

Uuid Uuid::V4(uint64_t hi, uint64_t lo) {
  Uuid uuid;
  for (int i = 0; i < 8; ++i) {
    uuid.bytes[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    uuid.bytes[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  uuid.bytes[6] = static_cast<uint8_t>((uuid.bytes[6] & 0x0F) | 0x40);  // version 4
  uuid.bytes[8] = static_cast<uint8_t>((uuid.bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return uuid;
}

}  // namespace pfad::events
