#include "pfad/storage/s3_rest.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <utility>

#include "pfad/common/http_client.h"
#include "pfad/storage/arrow_files.h"

namespace pfad::storage::internal {
namespace {

// Path-style URL of an S3 object.
std::string S3Url(const StorageConfig& config, const ObjectUri& uri) {
  std::string base = config.endpoint;
  if (base.empty()) {
    base =
        "https://s3." + (config.region.empty() ? std::string("us-east-1") : config.region) + ".amazonaws.com";
  } else if (base.find("://") == std::string::npos) {
    const bool loopback = base.starts_with("127.") || base.starts_with("localhost");
    base = (loopback ? "http://" : "https://") + base;
  }
  base = std::string(StripTrailingSlashes(base));
  std::string url = base + "/" + uri.bucket + "/";
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char ch : uri.key) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      url.push_back(ch);
    } else {
      url += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return url;
}

Result<HttpRequest> S3Request(const StorageConfig& config, const ObjectUri& uri, std::string method) {
  if (config.access_key.empty() || config.secret_key.empty()) {
    return Status::NotImplemented(uri.ToString(),
                                  ": conditional writes need explicit S3 credentials "
                                  "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or [storage] in the config)");
  }
  HttpRequest request;
  request.method = std::move(method);
  request.url = S3Url(config, uri);
  request.aws_sigv4 = "aws:amz:" + (config.region.empty() ? std::string("us-east-1") : config.region) + ":s3";
  request.user = config.access_key + ":" + config.secret_key;
  if (!config.session_token.empty())
    request.headers.push_back("x-amz-security-token: " + config.session_token);
  // libcurl 7.88 signs a body it cannot hash for S3 wrongly; TLS (or loopback) guards the payload instead.
  request.headers.emplace_back("x-amz-content-sha256: UNSIGNED-PAYLOAD");
  request.timeout = std::chrono::milliseconds(static_cast<int64_t>(config.request_timeout_s * 1000));
  request.max_attempts = std::max(1, config.max_attempts);
  return request;
}

// "<Code>NoSuchBucket</Code>" -> "NoSuchBucket".
std::string S3ErrorCode(const std::string& body) {
  const auto begin = body.find("<Code>");
  const auto end = body.find("</Code>");
  if (begin == std::string::npos || end == std::string::npos || end < begin) return "";
  return body.substr(begin + 6, end - begin - 6);
}

}  // namespace

Result<VersionedObject> GetWithETag(const StorageConfig& config, const ObjectUri& uri) {
  VersionedObject out;
  PFAD_ASSIGN_OR_RAISE(auto request, S3Request(config, uri, "GET"));
  auto response = SendHttp(request);
  if (!response.ok()) return Annotate(response.status(), uri);
  if (response->status == 200) {
    out.exists = true;
    out.bytes = std::move(response->body);
    out.version = response->Header("etag");
    if (out.version.empty())
      return Status::IOError(uri.ToString(), ": the store answered GET without an ETag");
    return out;
  }
  const std::string code = S3ErrorCode(response->body);
  if (response->status == 404 && code != "NoSuchBucket") return out;
  return Status::IOError(uri.ToString(), ": GET failed with HTTP ", response->status, " ", code,
                         Hint(code == "AccessDenied" ? "ACCESS_DENIED" : code));
}

Status PutIfETag(const StorageConfig& config, const ObjectUri& uri, std::string_view bytes,
                 const std::string& expected_etag) {
  PFAD_ASSIGN_OR_RAISE(auto request, S3Request(config, uri, "PUT"));
  request.headers.push_back(expected_etag.empty() ? "If-None-Match: *" : "If-Match: " + expected_etag);
  request.headers.emplace_back("Content-Type: application/octet-stream");
  request.body_view = bytes;
  auto response = SendHttp(request);
  if (!response.ok()) return Annotate(response.status(), uri);
  if (response->status == 200) return Status::OK();
  const std::string code = S3ErrorCode(response->body);
  if (response->status == 412 || response->status == 409) {
    return Status::AlreadyExists(uri.ToString(), ": changed by another writer (", code, ")");
  }
  return Status::IOError(uri.ToString(), ": PUT failed with HTTP ", response->status, " ", code,
                         Hint(code == "AccessDenied" ? "ACCESS_DENIED" : code));
}

}  // namespace pfad::storage::internal
