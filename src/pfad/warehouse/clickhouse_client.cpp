#include "pfad/warehouse/clickhouse_client.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "pfad/common/http_client.h"
#include "pfad/common/log.h"

namespace pfad::warehouse {
namespace {

// ClickHouse error codes (ErrorCodes.cpp) that a retry can get past.
constexpr std::array<int, 9> kRetriableCodes = {
    159,  // TIMEOUT_EXCEEDED
    164,  // READONLY (replica starting)
    202,  // TOO_MANY_SIMULTANEOUS_QUERIES
    209,  // SOCKET_TIMEOUT
    210,  // NETWORK_ERROR
    241,  // MEMORY_LIMIT_EXCEEDED
    252,  // TOO_MANY_PARTS
    242,  // TABLE_IS_READ_ONLY
    319,  // UNKNOWN_STATUS_OF_INSERT
};
// REQUIRED_PASSWORD, UNKNOWN_USER, WRONG_PASSWORD, IP_ADDRESS_NOT_ALLOWED, AUTHENTICATION_FAILED.
constexpr std::array<int, 5> kAuthCodes = {194, 192, 193, 195, 516};

// The "Code: N" a ClickHouse error text starts with, or -1.
int ErrorCode(std::string_view body) {
  const auto at = body.find("Code: ");
  if (at == std::string_view::npos) return -1;
  int code = -1;
  const char* first = body.data() + at + 6;
  std::from_chars(first, body.data() + body.size(), code);
  return code;
}

std::string FirstLine(std::string_view body) {
  std::string_view line = body.substr(0, body.find('\n'));
  if (line.size() > 400) line = line.substr(0, 400);
  return std::string(line);
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' || u == '_' ||
        u == '.' || u == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

}  // namespace

const SettingsTable<ClickHouseConfig>& ClickHouseConfig::Settings() {
  using C = ClickHouseConfig;
  static const SettingsTable<C> table({
      {"clickhouse.url",
       &C::url,
       {.env = {"PFAD_CLICKHOUSE_URL"},
        .description = "HTTP URL of the server: http://host:port/<database>"}},
      {"clickhouse.user",
       &C::user,
       {.env = {"PFAD_CLICKHOUSE_USER", "CLICKHOUSE_USER"}, .description = "ClickHouse user"}},
      {"clickhouse.password",
       &C::password,
       {.env = {"PFAD_CLICKHOUSE_PASSWORD", "CLICKHOUSE_PASSWORD"},
        .description = "ClickHouse password",
        .secret = true}},
  });
  return table;
}

Result<ClickHouseConfig> ClickHouseConfig::Resolve(const ConfigFile& file) {
  return Settings().Resolve(file);
}

Result<ClickHouseEndpoint> ClickHouseEndpoint::Parse(std::string_view url) {
  const auto invalid = [&] {
    return Status::Invalid("not a ClickHouse HTTP URL: '", url, "' (expected http://host:port/<database>)");
  };
  size_t scheme_end = 0;
  if (url.starts_with("http://")) {
    scheme_end = 7;
  } else if (url.starts_with("https://")) {
    scheme_end = 8;
  } else {
    return invalid();
  }
  const size_t slash = url.find('/', scheme_end);
  const std::string_view host =
      url.substr(scheme_end, slash == std::string_view::npos ? url.npos : slash - scheme_end);
  if (host.empty() || host.find_first_of("@?#") != std::string_view::npos) return invalid();
  std::string_view db = slash == std::string_view::npos ? std::string_view() : url.substr(slash + 1);
  if (db.ends_with('/')) db.remove_suffix(1);
  ClickHouseEndpoint e;
  e.base = std::string(url.substr(0, scheme_end)) + std::string(host) + "/";
  e.database = db.empty() ? "pfad" : std::string(db);
  const bool identifier = std::all_of(e.database.begin(), e.database.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
  });
  if (!identifier || (e.database[0] >= '0' && e.database[0] <= '9')) {
    return Status::Invalid("ClickHouse database '", e.database, "' in '", url,
                           "' must be a plain identifier (letters, digits, _)");
  }
  return e;
}

ClickHouseFailure ClassifyAnswer(long http_status, std::string_view body) {
  if (http_status == 200) return ClickHouseFailure::kNone;
  const int code = ErrorCode(body);
  if (http_status == 401 || http_status == 403 || http_status == 516 ||
      std::find(kAuthCodes.begin(), kAuthCodes.end(), code) != kAuthCodes.end()) {
    return ClickHouseFailure::kAuthentication;
  }
  if (http_status == 503 || http_status == 502 || http_status == 504 ||
      std::find(kRetriableCodes.begin(), kRetriableCodes.end(), code) != kRetriableCodes.end()) {
    return ClickHouseFailure::kRetriable;
  }
  return ClickHouseFailure::kFatal;
}

Result<ClickHouseClient> ClickHouseClient::Make(ClickHouseConfig config, const Clock& clock) {
  if (config.url.empty()) {
    return Status::Invalid("no ClickHouse URL: set --clickhouse, PFAD_CLICKHOUSE_URL or [clickhouse] url");
  }
  PFAD_ASSIGN_OR_RAISE(auto endpoint, ClickHouseEndpoint::Parse(config.url));
  return ClickHouseClient(std::move(config), std::move(endpoint), clock);
}

Result<std::string> ClickHouseClient::Execute(std::string_view query, std::string_view body) const {
  HttpRequest request;
  request.method = "POST";
  request.timeout = config_.timeout;
  request.max_attempts = 1;  // retried here, with the answer's classification
  request.retry_server_errors = false;
  request.headers = {"X-ClickHouse-User: " + config_.user, "Content-Type: application/octet-stream"};
  if (!config_.password.empty()) request.headers.push_back("X-ClickHouse-Key: " + config_.password);
  if (body.empty()) {
    request.url = endpoint_.base;
    request.body = std::string(query);
  } else {
    request.url = endpoint_.base + "?query=" + UrlEncode(query);
    request.body_view = body;
  }
  std::chrono::milliseconds backoff = config_.first_backoff;
  std::string last;
  for (int attempt = 1; attempt <= config_.max_attempts; ++attempt) {
    auto response = SendHttp(request);
    if (response.ok()) {
      switch (ClassifyAnswer(response->status, response->body)) {
        case ClickHouseFailure::kNone:
          return std::move(response->body);
        case ClickHouseFailure::kAuthentication:
          return Status::IOError(
              "ClickHouse at ", endpoint_.base, " refused the login of user '", config_.user,
              "': ", FirstLine(response->body),
              " (set PFAD_CLICKHOUSE_USER / PFAD_CLICKHOUSE_PASSWORD or [clickhouse] user / "
              "password in the config file)");
        case ClickHouseFailure::kFatal:
          return Status::IOError("ClickHouse at ", endpoint_.base, " failed (HTTP ", response->status,
                                 "): ", FirstLine(response->body));
        case ClickHouseFailure::kRetriable:
          last = "HTTP " + std::to_string(response->status) + ": " + FirstLine(response->body);
          break;
      }
    } else {
      last = response.status().message();
    }
    if (attempt < config_.max_attempts) {
      Logger("warehouse")
          ->warn("ClickHouse at {}: {} (attempt {}/{}, retrying in {} ms)", endpoint_.base, last, attempt,
                 config_.max_attempts, backoff.count());
      clock_->SleepFor(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  }
  return Status::IOError("ClickHouse at ", endpoint_.base, " is unreachable after ", config_.max_attempts,
                         " attempts: ", last,
                         " (is the server running? scripts/services/clickhouse.sh start)");
}

}  // namespace pfad::warehouse
