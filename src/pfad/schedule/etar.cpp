#include "pfad/schedule/etar.h"

#include "pfad/common/http_client.h"
#include "pfad/common/log.h"

namespace pfad::schedule {

MinuteTask MakeEtarTask(EtarOptions options, std::shared_ptr<storage::ObjectStore> store) {
  return [options = std::move(options), store = std::move(store)](const events::Minute& minute) -> Status {
    analyze::AnalyzeRequest request;
    request.input = options.source.Child(minute.Name() + ".parquet");
    request.options = options.analyze;
    PFAD_ASSIGN_OR_RAISE(auto outcome, analyze::AnalyzeMinute(*store, *store, request));
    if (options.dashboard_url.empty()) return Status::OK();
    HttpRequest post;
    post.method = "POST";
    post.url = options.dashboard_url + "/report";
    post.body = analyze::ToJson(outcome.report);
    post.headers = {"Content-Type: application/json"};
    if (!options.token.empty()) post.headers.push_back("Authorization: Bearer " + options.token);
    PFAD_ASSIGN_OR_RAISE(auto response, SendHttp(post));
    if (response.status != 200) {
      return Status::IOError("dashboard refused the report of ", minute.Name(), ": HTTP ", response.status, " ",
                             response.body.substr(0, 200));
    }
    Logger("schedule")->info("reported {} to {}", minute.Name(), options.dashboard_url);
    return Status::OK();
  };
}

}  // namespace pfad::schedule
