// GoogleTest helpers for Result<T> in the fraud stage's unit tests (not part of
// the library).
#pragma once

#include <gtest/gtest.h>

#include <utility>

#define PFAD_TEST_CONCAT_INNER(a, b) a##b
#define PFAD_TEST_CONCAT(a, b) PFAD_TEST_CONCAT_INNER(a, b)
#define PFAD_ASSERT_OK_AND_ASSIGN_IMPL(result, lhs, rexpr) \
  auto result = (rexpr);                                   \
  ASSERT_TRUE(result.ok()) << result.status().ToString();  \
  lhs = std::move(result).ValueUnsafe()
// ASSERT_OK_AND_ASSIGN(auto x, MakeX()): fails the test with the Status text.
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  PFAD_ASSERT_OK_AND_ASSIGN_IMPL(PFAD_TEST_CONCAT(_result_, __LINE__), lhs, rexpr)
