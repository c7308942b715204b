// A bearer token a server checks requests against, kept only as its SHA-256.
//
// Matches hashes the presented token and compares the two digests with
// CRYPTO_memcmp: the time it takes depends on neither the configured token's
// content nor its length (only on the presented token's length, which the
// client knows), so timing tells a client nothing about how close its guess
// was. The token itself is not kept, so it cannot end up in a log line.
#pragma once

#include <array>
#include <string_view>

namespace pfad::http {

class SecretToken {
 public:
  SecretToken() = default;  // none configured: Matches nothing
  explicit SecretToken(std::string_view token);

  [[nodiscard]] bool configured() const { return configured_; }
  [[nodiscard]] bool Matches(std::string_view presented) const;

 private:
  std::array<unsigned char, 32> digest_{};
  bool configured_ = false;
};

// The token of an "Authorization: Bearer <token>" header value; empty when the
// value has another scheme.
std::string_view BearerToken(std::string_view authorization);

}  // namespace pfad::http
