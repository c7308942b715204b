// The dashboard's HTTP request reading (http/parser.h) as the event loop does
// it (http/connection.cpp): the head up to the first blank line, then a
// chunked body (fed once whole and once cut at a fuzzer-chosen byte, as it
// arrives over the socket) or a Content-Length body; then the query
// parameters the routes look up.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "pfad/http/parser.h"

namespace {
constexpr size_t kMaxBody = 4096;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pfad::http;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) return 0;
  auto parsed = ParseHead(in.substr(0, end + 4), kMaxBody);
  auto* head = std::get_if<Head>(&parsed);
  if (head == nullptr) return 0;
  const std::string_view rest = in.substr(head->head_bytes);
  if (head->chunked) {
    std::string body;
    size_t consumed = 0;
    if (!rest.empty()) {
      const size_t cut = static_cast<uint8_t>(rest.front()) % rest.size();
      (void)DecodeChunked(rest.substr(0, cut), kMaxBody, body, consumed);
    }
    if (DecodeChunked(rest, kMaxBody, body, consumed) == BodyState::kComplete) {
      if (consumed > rest.size() || body.size() > kMaxBody) __builtin_trap();
    }
  }
  for (const char* name : {"limit", "since", "token"}) (void)head->request.Param(name);
  (void)head->request.Header("content-type");
  return 0;
}
