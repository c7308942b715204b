#include "pfad/http/parser.h"

#include <algorithm>
#include <charconv>

namespace pfad::http {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// Whether a comma-separated header value holds `token` (case-insensitive).
bool HasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (EqualsIgnoreCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool PercentDecode(std::string_view in, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexDigit(in[i + 1]);
      const int lo = HexDigit(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Entity";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::variant<Head, ParseError> ParseHead(std::string_view text, size_t max_body) {
  Head head;
  head.head_bytes = text.size();
  size_t line_end = text.find("\r\n");
  const std::string_view line = text.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      line.find(' ', sp2 + 1) != line.npos) {
    return ParseError{400, "Malformed request line."};
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (method.empty() ||
      !std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return ParseError{400, "Malformed request method."};
  }
  if (version == "HTTP/1.0") {
    head.http10 = true;
    head.keep_alive = false;
  } else if (version != "HTTP/1.1") {
    return ParseError{505, "Only HTTP/1.0 and HTTP/1.1 are served."};
  }
  // Absolute form (proxies): keep the path.
  if (target.starts_with("http://") || target.starts_with("https://")) {
    const size_t slash = target.find('/', target.find("//") + 2);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (target.empty() || target.front() != '/') return ParseError{400, "Malformed request target."};
  const size_t q = target.find('?');
  const std::string_view raw_path = target.substr(0, q);
  if (q != std::string_view::npos) head.request.query = std::string(target.substr(q + 1));
  if (const size_t hash = head.request.query.find('#'); hash != std::string::npos)
    head.request.query.resize(hash);
  if (!PercentDecode(raw_path, false, head.request.path))
    return ParseError{400, "Malformed percent-escape in the path."};
  head.raw_path = std::string(raw_path);
  head.request.method = std::string(method);
  if (head.request.method == "HEAD") {
    head.head_method = true;
    head.request.method = "GET";
  }

  std::optional<size_t> length;
  bool has_transfer_encoding = false;
  size_t pos = line_end + 2;
  while (pos < text.size()) {
    line_end = text.find("\r\n", pos);
    const std::string_view h = text.substr(pos, line_end - pos);
    pos = line_end + 2;
    if (h.empty()) break;
    if (h.front() == ' ' || h.front() == '\t')
      return ParseError{400, "Folded header lines are not accepted."};
    const size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return ParseError{400, "Malformed header line."};
    std::string name(h.substr(0, colon));
    for (char& c : name) {
      if (c == ' ' || c == '\t') return ParseError{400, "Malformed header name."};
      c = Lower(c);
    }
    std::string_view value = h.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (name == "content-length") {
      size_t n = 0;
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || ptr != value.data() + value.size() || value.empty()) {
        return ParseError{400, "Malformed Content-Length."};
      }
      if (length && *length != n) return ParseError{400, "Conflicting Content-Length headers."};
      length = n;
    } else if (name == "transfer-encoding") {
      has_transfer_encoding = true;
      if (!EqualsIgnoreCase(value, "chunked"))
        return ParseError{501, "Only the chunked transfer coding is accepted."};
      head.chunked = true;
    } else if (name == "connection") {
      if (HasToken(value, "close")) head.keep_alive = false;
      if (HasToken(value, "keep-alive")) head.keep_alive = true;
    } else if (name == "expect") {
      if (!EqualsIgnoreCase(value, "100-continue"))
        return ParseError{417, "Only Expect: 100-continue is understood."};
      head.expect_continue = !head.http10;
    }
    head.request.headers.emplace_back(std::move(name), std::string(value));
  }
  if (length && has_transfer_encoding)
    return ParseError{400, "Both Content-Length and Transfer-Encoding were sent."};
  head.content_length = length.value_or(0);
  if (head.content_length > max_body) return ParseError{413, "Request body too large."};
  return head;
}

BodyState DecodeChunked(std::string_view in, size_t max_body, std::string& body, size_t& consumed) {
  body.clear();
  size_t pos = 0;
  while (true) {
    const size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos)
      return in.size() - pos > 1024 ? BodyState::kMalformed : BodyState::kIncomplete;
    std::string_view size_line = in.substr(pos, eol - pos);
    if (const size_t semi = size_line.find(';'); semi != std::string_view::npos)
      size_line = size_line.substr(0, semi);
    while (!size_line.empty() && (size_line.back() == ' ' || size_line.back() == '\t'))
      size_line.remove_suffix(1);
    size_t size = 0;
    const auto [ptr, ec] = std::from_chars(size_line.data(), size_line.data() + size_line.size(), size, 16);
    if (ec != std::errc() || ptr != size_line.data() + size_line.size() || size_line.empty()) {
      return BodyState::kMalformed;
    }
    pos = eol + 2;
    if (size == 0) {
      // Trailer fields up to an empty line; ignored.
      while (true) {
        const size_t end = in.find("\r\n", pos);
        if (end == std::string_view::npos) return BodyState::kIncomplete;
        const bool empty = end == pos;
        pos = end + 2;
        if (empty) break;
      }
      consumed = pos;
      return BodyState::kComplete;
    }
    // Subtractions, not sums: a size near 2^64 would wrap the sum past both checks.
    if (size > max_body || body.size() > max_body - size) return BodyState::kTooLarge;
    if (in.size() - pos < size + 2) return BodyState::kIncomplete;
    if (in.substr(pos + size, 2) != "\r\n") return BodyState::kMalformed;
    body.append(in.substr(pos, size));
    pos += size + 2;
  }
}

void AppendStatusLine(std::string& out, int status) {
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += ReasonPhrase(status);
  out += "\r\n";
}

void AppendHeaders(std::string& out, const Headers& headers) {
  for (const auto& [k, v] : headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
}

void SerializeResponse(const Response& r, bool head_method, bool keep_alive, std::string& out) {
  AppendStatusLine(out, r.status);
  if (!r.content_type.empty() && r.status != 204) {
    out += "Content-Type: ";
    out += r.content_type;
    out += "\r\n";
  }
  if (r.status != 204) {
    out += "Content-Length: ";
    out += std::to_string(r.body.size());
    out += "\r\n";
  }
  if (!keep_alive) out += "Connection: close\r\n";
  AppendHeaders(out, r.headers);
  out += "\r\n";
  if (!head_method && r.status != 204) out += r.body;
}

void AppendChunk(std::string& out, std::string_view data) {
  if (data.empty()) return;  // an empty chunk would end the body
  char size[20];
  const auto [end, ec] = std::to_chars(size, size + sizeof(size), data.size(), 16);
  out.append(size, end);
  out += "\r\n";
  out += data;
  out += "\r\n";
}

// --- Request ---------------------------------------------------------------

std::string_view Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

std::optional<std::string> Request::Param(std::string_view name) const {
  std::string_view q = query;
  std::string key, value;
  while (!q.empty()) {
    const size_t amp = q.find('&');
    const std::string_view pair = q.substr(0, amp);
    const size_t eq = pair.find('=');
    if (PercentDecode(pair.substr(0, eq), true, key) && key == name) {
      if (eq == std::string_view::npos) return std::string();
      if (PercentDecode(pair.substr(eq + 1), true, value)) return value;
      return std::nullopt;
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace pfad::http
