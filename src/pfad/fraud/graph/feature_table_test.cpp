#include "pfad/fraud/graph/feature_table.h"

#include <gtest/gtest.h>

namespace pfad::fraud {
namespace {

TEST(FeatureTable, ColumnFindsNamesAndReportsMissingOnes) {
  FeatureTable table;
  table.names = {"n_events", "degree", "first_type"};
  EXPECT_EQ(table.Column("n_events"), 0);
  EXPECT_EQ(table.Column("first_type"), 2);
  EXPECT_EQ(table.Column("gap_cv"), -1);
  EXPECT_EQ(FeatureTable{}.Column("n_events"), -1);
}

TEST(FeatureTable, RowMajorAccess) {
  FeatureTable table;
  table.names = {"a", "b"};
  table.ids = {"x", "y"};
  table.values = {1, 2, 3, 4};
  EXPECT_EQ(table.rows(), 2U);
  EXPECT_EQ(table.cols(), 2U);
  EXPECT_EQ(table.at(1, 0), 3);
  EXPECT_EQ(table.row(1)[1], 4);
}

}  // namespace
}  // namespace pfad::fraud
