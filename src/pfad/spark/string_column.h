// Reading string columns of Spark's Arrow results, whichever string layout
// Spark chose (utf8, large_utf8 or utf8_view). Private to the spark library.
#pragma once

#include <arrow/array.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace pfad::spark {

inline bool IsString(const arrow::DataType& type) {
  return type.id() == arrow::Type::STRING || type.id() == arrow::Type::LARGE_STRING ||
         type.id() == arrow::Type::STRING_VIEW;
}

// The string at row i, or nullopt for null (and for a column that is not a
// string: callers check IsString first).
inline std::optional<std::string_view> StringAt(const arrow::Array& array, int64_t i) {
  if (array.IsNull(i)) return std::nullopt;
  switch (array.type_id()) {
    case arrow::Type::STRING:
      return static_cast<const arrow::StringArray&>(array).GetView(i);
    case arrow::Type::LARGE_STRING:
      return static_cast<const arrow::LargeStringArray&>(array).GetView(i);
    case arrow::Type::STRING_VIEW:
      return static_cast<const arrow::StringViewArray&>(array).GetView(i);
    default:
      return std::nullopt;
  }
}

}  // namespace pfad::spark
