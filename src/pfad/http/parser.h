// HTTP/1.1 messages and their wire form, as pure functions over byte buffers
// (no sockets): the event loop feeds them what it has read and sends what
// they write.
//
// Reading a request: find the blank line that ends the head, parse the head
// with ParseHead, then take the body: `content_length` bytes, or, when
// `chunked`, DecodeChunked until it reports kComplete. ParseHead answers
// every request it refuses with the status the client gets:
//   400  malformed request line, target, percent-escape, header line or
//        Content-Length; conflicting Content-Length headers; both
//        Content-Length and Transfer-Encoding
//   413  Content-Length over the body limit
//   417  an Expect other than 100-continue
//   501  a transfer coding other than chunked
//   505  a version other than HTTP/1.0 or HTTP/1.1
// HEAD is parsed as GET with `head_method` set (answered without a body).
// HTTP/1.0 requests close after their answer unless they ask for keep-alive;
// "Connection: close" closes an HTTP/1.1 one.
//
// Writing: SerializeResponse writes a whole answer with Content-Length (none
// for 204); a stream's answer is its status line and headers, then
// AppendChunk per piece of data.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pfad::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "POST", ... (HEAD is routed as GET, answered without a body)
  std::string path;    // percent-decoded, without the query
  std::string query;   // as sent, after '?'
  Headers headers;     // names in lower case
  std::string body;
  std::vector<std::string> captures;  // the values of the route pattern's {} segments

  // A header's value (name in lower case); empty when absent.
  [[nodiscard]] std::string_view Header(std::string_view name) const;
  // A query parameter, percent-decoded ("a=1&b" gives a="1", b=""); nullopt when absent.
  [[nodiscard]] std::optional<std::string> Param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  Headers headers;  // extra headers
};

// The parsed head of a request whose body may still be arriving.
struct Head {
  Request request;        // without body and captures yet
  std::string raw_path;   // as sent: routes split it before decoding
  size_t head_bytes = 0;  // request line + headers + blank line
  size_t content_length = 0;
  bool chunked = false;
  bool keep_alive = true;
  bool head_method = false;
  bool expect_continue = false;  // never for HTTP/1.0
  bool http10 = false;
};

// Why a request is refused, and the status that says so.
struct ParseError {
  int status;
  std::string message;
};

// Parses a complete request head: `text` is the request line and header
// lines, ending with the blank line ("\r\n\r\n"). A Content-Length over
// `max_body` is a 413.
[[nodiscard]] std::variant<Head, ParseError> ParseHead(std::string_view text, size_t max_body);

enum class BodyState { kIncomplete, kComplete, kTooLarge, kMalformed };

// Decodes a chunked body from `in`, the bytes after the head, into `body`
// (replaced on each call: call again with more bytes after kIncomplete).
// Chunk extensions and trailer fields are ignored. On kComplete, `consumed`
// is how many bytes of `in` the body and its trailer took. kMalformed: a
// chunk size that is not hexadecimal, a chunk not followed by CRLF, or a
// size line that does not end within 1 KiB; kTooLarge: the decoded body
// would pass `max_body`.
[[nodiscard]] BodyState DecodeChunked(std::string_view in, size_t max_body, std::string& body,
                                      size_t& consumed);

// Percent-decodes `in` into `out`; '+' is a space only when `plus_is_space`
// (query strings). False on a bad escape.
[[nodiscard]] bool PercentDecode(std::string_view in, bool plus_is_space, std::string& out);

// The reason phrase of a status ("Not Found"); "Unknown" for one not listed.
[[nodiscard]] const char* ReasonPhrase(int status);

// Appends "HTTP/1.1 <status> <reason>\r\n".
void AppendStatusLine(std::string& out, int status);
// Appends "Name: value\r\n" per header.
void AppendHeaders(std::string& out, const Headers& headers);
// Appends a whole answer: status line, Content-Type (unless empty),
// Content-Length, "Connection: close" unless `keep_alive`, the extra headers,
// then the body unless `head_method`. A 204 has no type, length or body.
void SerializeResponse(const Response& response, bool head_method, bool keep_alive, std::string& out);
// Appends `data` as one chunk of a chunked body; nothing for empty data, as
// an empty chunk would end the body.
void AppendChunk(std::string& out, std::string_view data);

}  // namespace pfad::http
