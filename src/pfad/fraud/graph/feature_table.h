// Features of the entities of a window graph (docs/FRAUD.md section 2): one
// row per user or session, one named column per feature.
#pragma once

#include "pfad/events/labels.h"

#include <cstddef>
#include <string>
#include <vector>

namespace pfad::fraud {

struct FeatureTable {
  events::EntityKind kind = events::EntityKind::kUser;
  std::vector<std::string> names;  // column names
  std::vector<std::string> ids;    // entity ids (UUID text for events, any text for interactions)
  std::vector<double> values;      // row-major: ids.size() rows x names.size() columns

  [[nodiscard]] size_t rows() const { return ids.size(); }
  [[nodiscard]] size_t cols() const { return names.size(); }
  [[nodiscard]] double at(size_t row, size_t col) const { return values[row * names.size() + col]; }
  [[nodiscard]] const double* row(size_t r) const { return values.data() + r * names.size(); }
  // The column's index, or -1.
  [[nodiscard]] int Column(std::string_view name) const;
  // A table of the given rows, in that order (same kind and columns).
  [[nodiscard]] FeatureTable Rows(const std::vector<size_t>& rows) const;
};

}  // namespace pfad::fraud
