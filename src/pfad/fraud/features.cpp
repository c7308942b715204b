#include "pfad/fraud/features.h"

#include <algorithm>

namespace pfad::fraud {

int FeatureTable::Column(std::string_view name) const {
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

}  // namespace pfad::fraud
