#include "pfad/schedule/etar.h"

#include <nlohmann/json.hpp>

#include "pfad/common/http_client.h"
#include "pfad/common/log.h"

namespace pfad::schedule {

MinuteTask MakeEtarTask(EtarOptions options, std::shared_ptr<storage::ObjectStore> store) {
  return [options = std::move(options), store = std::move(store)](const events::Minute& minute) -> Status {
    analyze::AnalyzeRequest request;
    request.input = options.source.Child(events::ObjectName(minute));
    request.options = options.analyze;
    request.engine = options.engine;
    PFAD_ASSIGN_OR_RAISE(auto outcome, analyze::AnalyzeMinute(*store, *store, request));
    if (options.dashboard_url.empty()) return Status::OK();
    PFAD_RETURN_NOT_OK(PostReport(options.dashboard_url, options.token, analyze::ToJson(outcome.report)));
    Logger("schedule")->info("reported {} to {}", minute.Name(), options.dashboard_url);
    return Status::OK();
  };
}

RunObserver MakeRunReporter(std::string dashboard_url, std::string token) {
  return [url = std::move(dashboard_url), token = std::move(token)](const RunRecord& run) {
    HttpRequest post;
    post.method = "POST";
    post.url = url + "/runs";
    post.body = events::ToJson(run).dump();
    post.headers = {"Content-Type: application/json"};
    if (!token.empty()) post.headers.push_back("Authorization: Bearer " + token);
    post.max_attempts = 2;
    auto response = SendHttp(post);
    if (!response.ok() || response->status != 200) {
      Logger("schedule")->warn("could not report run {} to {}: {}", run.minute, url,
                               response.ok() ? "HTTP " + std::to_string(response->status) : response.status().message());
    }
  };
}

Status PostReport(const std::string& url, const std::string& token, const std::string& report_json) {
  HttpRequest post;
  post.method = "POST";
  post.url = url + "/report";
  post.body = report_json;
  post.headers = {"Content-Type: application/json"};
  if (!token.empty()) post.headers.push_back("Authorization: Bearer " + token);
  PFAD_ASSIGN_OR_RAISE(auto response, SendHttp(post));
  if (response.status != 200) {
    return Status::IOError("dashboard at ", url, " refused the report: HTTP ", response.status, " ",
                           response.body.substr(0, 200));
  }
  return Status::OK();
}

}  // namespace pfad::schedule
