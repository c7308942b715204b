// A ClickHouse server over its HTTP interface: where it is, who logs in, and
// one call that runs a statement with an optional binary body.
//
// Configuration (defaults <- config file [clickhouse] <- environment; the CLI
// lays only --clickhouse URL over it, never credentials):
//   url       http://host:port/<database>  ([clickhouse] url, PFAD_CLICKHOUSE_URL);
//             the database defaults to "pfad" when the path is empty
//   user      [clickhouse] user, CLICKHOUSE_USER, PFAD_CLICKHOUSE_USER (last wins); default "default"
//   password  [clickhouse] password, CLICKHOUSE_PASSWORD, PFAD_CLICKHOUSE_PASSWORD
// Credentials travel in the X-ClickHouse-User / X-ClickHouse-Key headers
// (every server since 18.x reads them), never in the URL.
//
// Errors: a refused login (wrong user or password) is an IOError that names
// the user and says where credentials come from; no answer, or a server error
// that can pass (overload, timeouts), is retried with exponential backoff on
// the injected clock and then reported as "ClickHouse at <url> is unreachable";
// any other server error comes back at once with the server's own text.
#pragma once

#include "pfad/common/clock.h"
#include "pfad/common/config_file.h"
#include "pfad/common/settings.h"
#include "pfad/common/status.h"

#include <chrono>
#include <string>
#include <string_view>

namespace pfad::warehouse {

struct ClickHouseConfig {
  std::string url;  // as given: http://host:port/<database>
  std::string user = "default";
  std::string password;                       // never logged
  std::chrono::milliseconds timeout{60'000};  // one statement
  int max_attempts = 4;                       // for unreachable / retriable answers
  std::chrono::milliseconds first_backoff{250};

  // Defaults, then `[clickhouse]` of the config file, then the environment.
  static Result<ClickHouseConfig> Resolve(const ConfigFile& file);
  // The rows Resolve reads (key, environment, default, unit, description); `pfad config` prints them.
  static const SettingsTable<ClickHouseConfig>& Settings();
};

// The parts of a ClickHouse URL.
struct ClickHouseEndpoint {
  std::string base;      // "http://host:port/"
  std::string database;  // "pfad" when the URL has no path
  // Parses http(s)://host[:port][/database]; the database must be a plain identifier.
  static Result<ClickHouseEndpoint> Parse(std::string_view url);
};

class ClickHouseClient {
 public:
  // Fails when the URL is not a ClickHouse HTTP URL.
  static Result<ClickHouseClient> Make(ClickHouseConfig config, const Clock& clock);

  [[nodiscard]] const std::string& database() const { return endpoint_.database; }
  // The server for messages: "http://host:port/" (no credentials).
  [[nodiscard]] const std::string& base_url() const { return endpoint_.base; }

  // Runs `query`; `body` is the statement's data (e.g. RowBinary rows after
  // "INSERT ... FORMAT RowBinary"). Returns the answer's body.
  [[nodiscard]] Result<std::string> Execute(std::string_view query, std::string_view body = {}) const;

 private:
  ClickHouseClient(ClickHouseConfig config, ClickHouseEndpoint endpoint, const Clock& clock)
      : config_(std::move(config)), endpoint_(std::move(endpoint)), clock_(&clock) {}

  ClickHouseConfig config_;
  ClickHouseEndpoint endpoint_;
  const Clock* clock_;
};

// What kind of failure a ClickHouse answer is (exposed for tests).
enum class ClickHouseFailure { kNone, kAuthentication, kRetriable, kFatal };
ClickHouseFailure ClassifyAnswer(long http_status, std::string_view body);

}  // namespace pfad::warehouse
