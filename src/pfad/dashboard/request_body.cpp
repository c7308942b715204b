#include "pfad/dashboard/request_body.h"

namespace pfad::dashboard {

using Json = nlohmann::ordered_json;

Result<Json> ParseBoundedJson(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return Status::Invalid("JSON nested deeper than ", max_depth, " levels");
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::Invalid("malformed JSON");
  return doc;
}

Result<ReportPost> ReportDocument(std::string_view body, int max_depth) {
  auto doc = ParseBoundedJson(body, max_depth);
  if (!doc.ok()) return Status::Invalid("Invalid request body: ", doc.status().message(), ".");
  Json& d = *doc;
  const auto report = d.is_object() ? d.find("report") : d.end();
  if (!d.is_object() || report == d.end() || !(report->is_object() || report->is_string())) {
    return Status::Invalid("Invalid request body: expected {\"report\": object or string}.");
  }
  ReportPost out;
  const auto fraud = report->is_object() ? report->find("fraud") : report->end();
  if (fraud != report->end() && fraud->is_object()) {
    if (const auto list = fraud->find("investigations"); list != fraud->end()) {
      if (list->is_array()) {
        for (size_t i = 0; i < list->size(); ++i) {
          auto investigation = Investigation::Parse((*list)[i]);
          if (investigation.ok()) {
            out.investigations.push_back(*std::move(investigation));
          } else {
            out.skipped.push_back("investigations[" + std::to_string(i) +
                                  "]: " + investigation.status().message());
          }
        }
      }
      fraud->erase(list);
    }
  }
  Json stored;
  stored["report"] = std::move(*report);
  out.document = stored.dump();
  return out;
}

}  // namespace pfad::dashboard
