#include "pfad/common/http_client.h"

#include <curl/curl.h>

#include <cctype>
#include <memory>
#include <thread>

#include "pfad/common/log.h"

namespace pfad {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* out) {
  const std::string_view line(data, size * n);
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    static_cast<HttpResponse*>(out)->headers.emplace_back(std::move(name), std::string(value));
  }
  return size * n;
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

Result<HttpResponse> SendHttp(const HttpRequest& request) {
  static const bool initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!initialised) return Status::UnknownError("curl_global_init failed");
  std::string last_error;
  for (int attempt = 1; attempt <= request.max_attempts; ++attempt) {
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) return Status::UnknownError("curl_easy_init failed");
    std::unique_ptr<curl_slist, SlistDeleter> headers;
    for (const auto& h : request.headers) headers.reset(curl_slist_append(headers.release(), h.c_str()));
    HttpResponse response;
    const auto ms = static_cast<long>(request.timeout.count());
    curl_easy_setopt(curl.get(), CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, ms);
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &Collect);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, &CollectHeader);
    curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &response);
    if (!request.ca_file.empty()) curl_easy_setopt(curl.get(), CURLOPT_CAINFO, request.ca_file.c_str());
    char error_detail[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error_detail);
    if (!request.aws_sigv4.empty()) {
      curl_easy_setopt(curl.get(), CURLOPT_AWS_SIGV4, request.aws_sigv4.c_str());
      curl_easy_setopt(curl.get(), CURLOPT_USERPWD, request.user.c_str());
    }
    const std::string_view body =
        request.body_view.empty() ? std::string_view(request.body) : request.body_view;
    if (!body.empty()) {
      curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    const CURLcode rc = curl_easy_perform(curl.get());
    if (rc == CURLE_OK) {
      curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &response.status);
      if (response.status < 500 || !request.retry_server_errors) return response;
      last_error = "HTTP " + std::to_string(response.status);
    } else {
      last_error = curl_easy_strerror(rc);
      if (error_detail[0] != '\0') last_error += std::string(": ") + error_detail;
      // Another attempt meets the same certificate: say so now.
      if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
          rc == CURLE_SSL_CERTPROBLEM) {
        return Status::IOError(request.method, " ", request.url, " failed: ", last_error,
                               rc == CURLE_PEER_FAILED_VERIFICATION ? " (trust its CA with a CA file)" : "");
      }
    }
    if (attempt < request.max_attempts) {
      Logger("http")->warn("{} {}: {} (attempt {}/{})", request.method, request.url, last_error, attempt,
                           request.max_attempts);
      std::this_thread::sleep_for(std::chrono::milliseconds(200 << (attempt - 1)));
    }
  }
  return Status::IOError(request.method, " ", request.url, " failed: ", last_error);
}

}  // namespace pfad
