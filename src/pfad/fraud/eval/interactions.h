// Labelled user-item interactions from a file nobody here made (e.g. YelpChi's
// reviews): CSV (.csv), TSV (.tsv, .txt) or Parquet (.parquet) with columns
// user, item, label and optionally time (an integer, any unit).
#pragma once

#include "pfad/common/status.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pfad::fraud {

struct Interactions {
  std::vector<std::string> user;
  std::vector<std::string> item;
  std::vector<uint8_t> positive;  // the row's label is the positive value
  std::vector<int64_t> time;      // empty when the file has no time column
  [[nodiscard]] size_t size() const { return user.size(); }
};

// Invalid, naming the file and the column or row, when a column is missing or a
// label is neither `positive_label` nor `negative_label`.
Result<Interactions> ReadInteractions(const std::string& path, const std::string& positive_label,
                                      const std::string& negative_label);

}  // namespace pfad::fraud
