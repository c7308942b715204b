// Reading minute-object columns whatever Arrow layout a writer chose (docs/DESIGN.md,
// "Minute objects": files written by PFAD, pyarrow, DuckDB or Spark): strings as
// utf8, large_utf8, utf8_view, binary or dictionary-encoded; integers of any
// width. Each visitor calls fn(row, value) per row and returns Invalid, naming
// the column, for any other type.
#pragma once

#include "pfad/common/status.h"

#include <arrow/api.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pfad::events {

// fn(row, std::optional<std::string_view>) for a plain (not dictionary) string-like column.
template <typename Fn>
Status ForEachStringRow(const arrow::Array& array, std::string_view column, Fn&& fn) {
  const auto per_row = [&](const auto& strings) {
    for (int64_t i = 0; i < strings.length(); ++i) {
      fn(i, strings.IsNull(i) ? std::nullopt : std::optional<std::string_view>(strings.GetView(i)));
    }
    return Status::OK();
  };
  switch (array.type_id()) {
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
      return per_row(static_cast<const arrow::BinaryArray&>(array));
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY:
      return per_row(static_cast<const arrow::LargeBinaryArray&>(array));
    case arrow::Type::STRING_VIEW:
    case arrow::Type::BINARY_VIEW:
      return per_row(static_cast<const arrow::BinaryViewArray&>(array));
    default:
      return Status::Invalid("column '", column, "' has type ", array.type()->ToString(),
                             ", expected a string");
  }
}

// The values of a dictionary (nulls as empty strings).
inline Result<std::vector<std::string>> DictionaryValues(const arrow::Array& dictionary,
                                                         std::string_view column) {
  std::vector<std::string> values;
  PFAD_RETURN_NOT_OK(ForEachStringRow(dictionary, column, [&](int64_t, std::optional<std::string_view> v) {
    values.emplace_back(v.value_or(std::string_view()));
  }));
  return values;
}

// fn(row, std::optional<std::string_view>) for any string-like column, dictionary-encoded or not.
template <typename Fn>
Status ForEachString(const arrow::Array& array, std::string_view column, Fn&& fn) {
  if (array.type_id() != arrow::Type::DICTIONARY) return ForEachStringRow(array, column, fn);
  const auto& dict = static_cast<const arrow::DictionaryArray&>(array);
  PFAD_ASSIGN_OR_RAISE(const auto values, DictionaryValues(*dict.dictionary(), column));
  for (int64_t i = 0; i < dict.length(); ++i) {
    if (dict.IsNull(i)) {
      fn(i, std::nullopt);
      continue;
    }
    // Parquet's reader does not check a corrupt file's indices against its dictionary.
    const int64_t k = dict.GetValueIndex(i);
    if (k < 0 || static_cast<uint64_t>(k) >= values.size()) {
      return Status::Invalid("column '", column, "' has dictionary index ", k, " in a dictionary of ",
                             values.size(), " values");
    }
    fn(i, std::optional<std::string_view>(values[static_cast<size_t>(k)]));
  }
  return Status::OK();
}

// fn(row, std::optional<int64_t>) for an integer column of any width (or all nulls).
template <typename Fn>
Status ForEachInt(const arrow::Array& array, std::string_view column, Fn&& fn) {
  const auto per_row = [&](const auto& ints) {
    for (int64_t i = 0; i < ints.length(); ++i) {
      fn(i, ints.IsNull(i) ? std::nullopt : std::optional<int64_t>(static_cast<int64_t>(ints.Value(i))));
    }
    return Status::OK();
  };
  switch (array.type_id()) {
    case arrow::Type::INT8:
      return per_row(static_cast<const arrow::Int8Array&>(array));
    case arrow::Type::INT16:
      return per_row(static_cast<const arrow::Int16Array&>(array));
    case arrow::Type::INT32:
      return per_row(static_cast<const arrow::Int32Array&>(array));
    case arrow::Type::INT64:
      return per_row(static_cast<const arrow::Int64Array&>(array));
    case arrow::Type::NA:
      for (int64_t i = 0; i < array.length(); ++i) fn(i, std::optional<int64_t>());
      return Status::OK();
    default:
      return Status::Invalid("column '", column, "' has type ", array.type()->ToString(),
                             ", expected an integer");
  }
}

}  // namespace pfad::events
