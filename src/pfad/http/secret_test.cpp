#include "pfad/http/secret.h"

#include <gtest/gtest.h>

namespace pfad::http {
namespace {

TEST(SecretToken, MatchesOnlyTheExactToken) {
  const SecretToken token("s3cret-token");
  EXPECT_TRUE(token.configured());
  EXPECT_TRUE(token.Matches("s3cret-token"));
  EXPECT_FALSE(token.Matches("s3cret-toke"));
  EXPECT_FALSE(token.Matches("s3cret-token2"));
  EXPECT_FALSE(token.Matches("S3cret-token"));
  EXPECT_FALSE(token.Matches(""));
}

TEST(SecretToken, NoneConfiguredMatchesNothing) {
  const SecretToken none;
  EXPECT_FALSE(none.configured());
  EXPECT_FALSE(none.Matches(""));
  EXPECT_FALSE(none.Matches("anything"));
  EXPECT_FALSE(SecretToken("").configured());
  EXPECT_FALSE(SecretToken("").Matches(""));
}

TEST(BearerToken, TakesTheTokenOfTheBearerScheme) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer  abc "), "abc");
  EXPECT_EQ(BearerToken("Basic YWJjOmRlZg=="), "");
  EXPECT_EQ(BearerToken("Bearer"), "");
  EXPECT_EQ(BearerToken(""), "");
}

}  // namespace
}  // namespace pfad::http
