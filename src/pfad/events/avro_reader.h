// Reading Avro binary primitives from a message body (private to the events
// library): the fixed-schema decoder (avro.cpp) and the resolving decoder
// (avro_resolve.cpp) share it.
#pragma once

#include "pfad/common/status.h"

#include <cstdint>
#include <optional>
#include <string_view>

namespace pfad::events {

class AvroReader {
 public:
  explicit AvroReader(std::string_view data) : data_(data) {}

  // A zigzag varint (Avro int and long).
  Result<int64_t> Long() {
    uint64_t n = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return Status::Invalid("Avro body truncated");
      const auto b = static_cast<uint8_t>(data_[pos_++]);
      n |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return static_cast<int64_t>((n >> 1) ^ (~(n & 1) + 1));
    }
    return Status::Invalid("Avro varint longer than 10 bytes");
  }

  Result<int32_t> Int() {
    PFAD_ASSIGN_OR_RAISE(int64_t v, Long());
    if (v < INT32_MIN || v > INT32_MAX) return Status::Invalid("Avro int out of range: ", v);
    return static_cast<int32_t>(v);
  }

  Status Skip(int64_t n) {
    if (n < 0 || static_cast<uint64_t>(n) > data_.size() - pos_)
      return Status::Invalid("Avro body truncated");
    pos_ += static_cast<size_t>(n);
    return Status::OK();
  }

  // Avro bytes or string: a length, then that many bytes.
  Result<std::string_view> Bytes() {
    PFAD_ASSIGN_OR_RAISE(int64_t len, Long());
    if (len < 0 || static_cast<uint64_t>(len) > data_.size() - pos_)
      return Status::Invalid("Avro string truncated");
    const auto s = data_.substr(pos_, static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return s;
  }

  // The union ["null", "int"].
  Result<std::optional<int32_t>> OptionalInt(const char* field) {
    PFAD_ASSIGN_OR_RAISE(int64_t branch, Long());
    if (branch == 0) return std::optional<int32_t>();
    if (branch != 1) return Status::Invalid("bad union branch ", branch, " for ", field);
    PFAD_ASSIGN_OR_RAISE(int32_t v, Int());
    return std::optional<int32_t>(v);
  }

  [[nodiscard]] bool AtEnd() const { return pos_ == data_.size(); }
  [[nodiscard]] size_t position() const { return pos_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace pfad::events
