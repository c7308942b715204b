#include "pfad/fraud/graph/feature_table.h"

#include <algorithm>

namespace pfad::fraud {

int FeatureTable::Column(std::string_view name) const {
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

FeatureTable FeatureTable::Rows(const std::vector<size_t>& rows) const {
  FeatureTable out;
  out.kind = kind;
  out.names = names;
  out.ids.reserve(rows.size());
  out.values.reserve(rows.size() * cols());
  for (const size_t r : rows) {
    out.ids.push_back(ids[r]);
    out.values.insert(out.values.end(), row(r), row(r) + cols());
  }
  return out;
}

}  // namespace pfad::fraud
