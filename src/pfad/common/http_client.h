// A small blocking HTTP client (libcurl) for the services PFAD talks to over
// REST: the schema registry, the dashboard. Connection failures and 5xx answers
// are retried with exponential backoff; other answers are returned as they are.
// An HTTPS server whose certificate is not trusted is an error at once (not
// retried), naming the cause.
#pragma once

#include "pfad/common/status.h"

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pfad {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased

  // The value of a response header (name in lower case), or "".
  [[nodiscard]] std::string Header(std::string_view name) const;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::string body;
  std::string_view body_view;        // sent instead of `body` when set (large bodies, no copy)
  std::vector<std::string> headers;  // "Name: value"
  std::chrono::milliseconds timeout{5000};
  int max_attempts = 3;
  // False: a 5xx answer is returned as it is (its body names the error), not
  // retried, for callers that classify server errors themselves (ClickHouse).
  bool retry_server_errors = true;
  // AWS Signature V4 signing (S3): "aws:amz:<region>:s3", with `user` as
  // "<access key>:<secret key>". Empty = no signing.
  std::string aws_sigv4;
  std::string user;
  // HTTPS: a PEM file of the CA certificate(s) to trust instead of the system's
  // (a private CA, a self-signed server). Empty = the system's CAs.
  std::string ca_file;
};

// IOError naming the URL and the last failure when no attempt got an answer below
// 500 (or, with retry_server_errors off, no answer at all).
Result<HttpResponse> SendHttp(const HttpRequest& request);

}  // namespace pfad
